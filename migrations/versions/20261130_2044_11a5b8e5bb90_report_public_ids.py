"""Reports get an unguessable public id: their QR code's address names it instead of the sequential id.

The reports table is append-only; this migration, the trusted path, lifts the guard only while it
gives each existing report its id.

Revision ID: 11a5b8e5bb90
Revises: 4e6fe2bdbcd4
Create Date: 2026-11-30 20:44:50.000000

"""

import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "11a5b8e5bb90"
down_revision = "4e6fe2bdbcd4"
branch_labels = None
depends_on = None


def _guard(on):
    """The append-only triggers of reports: dropped and made again on SQLite (a batch operation copies
    the table without them), disabled and enabled on PostgreSQL."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE reports {'ENABLE' if on else 'DISABLE'} TRIGGER reports_no_change")
    elif on:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER reports_no_{event.lower()} BEFORE {event} ON reports "
                "BEGIN SELECT RAISE(ABORT, 'reports is append-only'); END"
            )
    else:
        op.execute("DROP TRIGGER IF EXISTS reports_no_update")
        op.execute("DROP TRIGGER IF EXISTS reports_no_delete")


def upgrade():
    _guard(False)
    with op.batch_alter_table("reports") as batch_op:
        batch_op.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
    reports = sa.table("reports", sa.column("id", sa.Integer), sa.column("public_id", sa.String))
    bind = op.get_bind()
    for (report_id,) in bind.execute(sa.select(reports.c.id)).all():
        bind.execute(reports.update().where(reports.c.id == report_id).values(public_id=secrets.token_urlsafe(16)))
    with op.batch_alter_table("reports") as batch_op:
        batch_op.alter_column("public_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_reports_public_id"), ["public_id"])
    _guard(True)


def downgrade():
    _guard(False)
    with op.batch_alter_table("reports") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_reports_public_id"), type_="unique")
        batch_op.drop_column("public_id")
    _guard(True)
