"""Each agency counts the commits that changed anything its public profile shows (issue 12: pages
whose cost does not grow with the register), so that a profile kept in memory is served until that
agency's record changes, not until any agency's does.

Revision ID: b7c1d2e3f4a5
Revises: 4a4574d9795b
Create Date: 2026-12-01 09:15:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7c1d2e3f4a5"
down_revision = "4a4574d9795b"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_seq", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_column("public_seq")
