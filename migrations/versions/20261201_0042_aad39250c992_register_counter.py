"""Counters bumped in the transaction of the change they count; the first, ``providers``, counts the
commits that changed any agency's record, so that the home page's figures are counted again only
after the register changed (issue 12: pages whose cost does not grow with the register).

Revision ID: aad39250c992
Revises: ba28a58644ea
Create Date: 2026-12-01 00:42:01.332232

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "aad39250c992"
down_revision = "ba28a58644ea"
branch_labels = None
depends_on = None


def upgrade():
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.bulk_insert(counters, [{"name": "providers", "value": 0}])


def downgrade():
    op.drop_table("counters")
