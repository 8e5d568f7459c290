"""Notice renderings carry the CSV made again.

A batch whose stored CSV has cells a spreadsheet would run as formulas (written before they were
neutralised) gets its files re-rendered from its immutable entries; the rendering now holds the CSV
beside the PDF. Renderings made before keep no CSV (NULL): the batch's own CSV is served for them.

Revision ID: 33cc12f25d7f
Revises: 63d0555023bb
Create Date: 2026-11-30 19:52:16.926161

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "33cc12f25d7f"
down_revision = "63d0555023bb"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("notice_renderings", sa.Column("csv", sa.LargeBinary(), nullable=True))


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # the table is copied without its column, and the copy needs the append-only triggers again
        op.execute("DROP TRIGGER IF EXISTS notice_renderings_no_update")
        op.execute("DROP TRIGGER IF EXISTS notice_renderings_no_delete")
    with op.batch_alter_table("notice_renderings", schema=None) as batch_op:
        batch_op.drop_column("csv")
    if sqlite:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER notice_renderings_no_{event.lower()} BEFORE {event} ON notice_renderings "
                "BEGIN SELECT RAISE(ABORT, 'notice_renderings is append-only'); END"
            )
