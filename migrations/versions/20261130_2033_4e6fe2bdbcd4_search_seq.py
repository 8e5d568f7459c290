"""Each agency counts the commits that changed its search document, so that the index can tell which
of its documents are behind.

Revision ID: 4e6fe2bdbcd4
Revises: 5c206b308278
Create Date: 2026-11-30 20:33:40.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "4e6fe2bdbcd4"
down_revision = "5c206b308278"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("providers") as batch_op:
        batch_op.add_column(sa.Column("search_seq", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("providers") as batch_op:
        batch_op.drop_column("search_seq")
