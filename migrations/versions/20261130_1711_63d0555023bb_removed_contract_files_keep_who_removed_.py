"""Removed contract files keep who removed them; notice PDFs re-rendered with an embedded font.

A contract file removed by its side stays as evidence, with who removed it; a notice batch whose
stored PDF lacked its font gets a new rendering beside the immutable original.

Revision ID: 63d0555023bb
Revises: 0d955edded72
Create Date: 2026-11-30 17:11:57.975341

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "63d0555023bb"
down_revision = "0d955edded72"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notice_renderings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("rendered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["notice_batches.id"], name=op.f("fk_notice_renderings_batch_id_notice_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_renderings")),
    )
    with op.batch_alter_table("notice_renderings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_renderings_batch_id"), ["batch_id"], unique=False)

    with op.batch_alter_table("engagement_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_engagement_files_deleted_by_id_users"), "users", ["deleted_by_id"], ["id"]
        )
    _create_append_only_trigger("notice_renderings")


def downgrade():
    _drop_append_only_trigger("notice_renderings")
    with op.batch_alter_table("engagement_files", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_engagement_files_deleted_by_id_users"), type_="foreignkey")
        batch_op.drop_column("deleted_by_id")

    with op.batch_alter_table("notice_renderings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_renderings_batch_id"))

    op.drop_table("notice_renderings")


# A rendering, like the batch it belongs to, never changes: the database refuses UPDATE and DELETE.
def _create_append_only_trigger(table):
    if op.get_bind().dialect.name == "postgresql":
        # forbid_change() was created by the agencies' migration.
        op.execute(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION forbid_change()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _drop_append_only_trigger(table):
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
