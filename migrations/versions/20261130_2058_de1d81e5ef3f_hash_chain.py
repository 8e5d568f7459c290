"""One hash chain over the audit log and every record that must not change unseen; notice batches
carry the chain's head; the database refuses TRUNCATE of them all (PostgreSQL) and any DELETE of
ratings, engagement files and stored files.

Every existing chained record gets its entry here, table by table, in the order of its ids.

Revision ID: de1d81e5ef3f
Revises: 11a5b8e5bb90
Create Date: 2026-11-30 20:58:40.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "de1d81e5ef3f"
down_revision = "11a5b8e5bb90"
branch_labels = None
depends_on = None

# The chained tables at this revision (common.chain.chained_tables() then).
CHAINED = (
    "audit_log",
    "engagement_events",
    "engagement_files",
    "notice_batches",
    "notice_entries",
    "notice_renderings",
    "pledge_signatures",
    "provider_revisions",
    "ratings",
    "reports",
    "site_notices",
    "stored_files",
)
APPEND_ONLY = (
    "audit_log",
    "engagement_events",
    "notice_batches",
    "notice_entries",
    "notice_renderings",
    "pledge_signatures",
    "provider_revisions",
    "reports",
    "site_notices",
)
NO_DELETE = ("engagement_files", "ratings", "stored_files")  # they change (a reply, a removal), never vanish


def _postgres():
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    op.create_table(
        "chain_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("head_seq", sa.Integer(), nullable=False),
        sa.Column("head_sha256", sa.String(length=64), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_checks")),
    )
    op.create_table(
        "chain_entries",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("record_type", sa.String(length=60), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("prev_sha256", sa.String(length=64), nullable=False),
        sa.Column("entry_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_chain_entries")),
        sa.UniqueConstraint("entry_sha256", name=op.f("uq_chain_entries_entry_sha256")),
    )
    op.create_index("ix_chain_entries_record", "chain_entries", ["record_type", "record_id"], unique=False)
    op.add_column("notice_batches", sa.Column("chain_seq", sa.Integer(), nullable=True))
    op.add_column("notice_batches", sa.Column("chain_sha256", sa.String(length=64), nullable=True))

    from marketplace.common import chain  # the same hashing the application does

    bind = op.get_bind()
    for table in CHAINED:
        ids = bind.execute(sa.text(f"SELECT id FROM {table} ORDER BY id")).scalars().all()
        for start in range(0, len(ids), 1000):
            chain.append(bind, [(table, record_id) for record_id in ids[start : start + 1000]])

    if _postgres():
        op.execute(
            "CREATE TRIGGER chain_entries_no_change BEFORE UPDATE OR DELETE ON chain_entries "
            "FOR EACH ROW EXECUTE FUNCTION forbid_change()"
        )
        for table in (*APPEND_ONLY, "chain_entries", *NO_DELETE):
            if table != "audit_log":  # it has had one from the start
                op.execute(
                    f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION forbid_change()"
                )
        for table in NO_DELETE:
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION forbid_change()"
            )
    else:
        for table, events in [("chain_entries", ("UPDATE", "DELETE"))] + [(t, ("DELETE",)) for t in NO_DELETE]:
            for event in events:
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def downgrade():
    if _postgres():
        for table in (*APPEND_ONLY, "chain_entries", *NO_DELETE):
            if table != "audit_log":
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        for table in NO_DELETE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table}")
        op.execute("DROP TRIGGER IF EXISTS chain_entries_no_change ON chain_entries")
    else:
        for table in NO_DELETE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if not _postgres():  # the table is copied without its columns; the copy needs its triggers again
        op.execute("DROP TRIGGER IF EXISTS notice_batches_no_update")
        op.execute("DROP TRIGGER IF EXISTS notice_batches_no_delete")
    with op.batch_alter_table("notice_batches") as batch_op:
        batch_op.drop_column("chain_sha256")
        batch_op.drop_column("chain_seq")
    if not _postgres():
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER notice_batches_no_{event.lower()} BEFORE {event} ON notice_batches "
                "BEGIN SELECT RAISE(ABORT, 'notice_batches is append-only'); END"
            )
    op.drop_index("ix_chain_entries_record", table_name="chain_entries")
    op.drop_table("chain_entries")  # its triggers go with it
    op.drop_table("chain_checks")
