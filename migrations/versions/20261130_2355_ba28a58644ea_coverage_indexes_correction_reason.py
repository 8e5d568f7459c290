"""The coverage dashboard reads inspection checks from two covering indexes: one pass per county, tier
and agreement with the self-check, and one over the non-compliant conclusions. At 100,000 units the
dashboard took 360 ms cold on the table itself. A penalty's correction (or its setting aside) says why.

Plain CREATE/DROP INDEX and ADD COLUMN (no batch operation): the tables keep their append-only triggers
on SQLite.

Revision ID: ba28a58644ea
Revises: 227852caf70b
Create Date: 2026-11-30 23:55:57.506932

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "ba28a58644ea"
down_revision = "227852caf70b"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("penalties", sa.Column("correction_reason", sa.Text(), server_default="", nullable=False))
    op.drop_index("ix_inspection_checks_campaign_county", table_name="inspection_checks")
    op.create_index(
        "ix_inspection_checks_coverage",
        "inspection_checks",
        ["campaign_id", "county_id", "tier", "agrees_with_self_check", "supersedes_id"],
    )
    op.create_index(
        "ix_inspection_checks_conclusion", "inspection_checks", ["campaign_id", "conclusion", "county_id", "unit_id"]
    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("penalties", "correction_reason")
    else:  # SQLite copies the table to drop a column: its triggers go with the copy and come back after
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS penalties_no_{event}")
        with op.batch_alter_table("penalties") as batch_op:
            batch_op.drop_column("correction_reason")
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER penalties_no_{event.lower()} BEFORE {event} ON penalties "
                "BEGIN SELECT RAISE(ABORT, 'penalties is append-only'); END"
            )
    op.drop_index("ix_inspection_checks_conclusion", table_name="inspection_checks")
    op.drop_index("ix_inspection_checks_coverage", table_name="inspection_checks")
    op.create_index("ix_inspection_checks_campaign_county", "inspection_checks", ["campaign_id", "county_id"])
