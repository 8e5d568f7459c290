"""Records edited through forms carry a version, so that an edit opened on an earlier one is refused.

Revision ID: 5c206b308278
Revises: 8a76f57fa924
Create Date: 2026-11-30 20:26:48.948228

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5c206b308278"
down_revision = "8a76f57fa924"
branch_labels = None
depends_on = None

TABLES = ("counties", "enterprises", "fees", "providers", "qualifications", "service_categories", "staff_members", "users")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("version")
