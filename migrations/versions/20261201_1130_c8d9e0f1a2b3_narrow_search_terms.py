"""PostgreSQL's full-text vectors move from ``search_documents`` to a table of their own, ``search_terms``
(issue 12: search fast at province scale). A word's matches are read from the table's rows after the GIN
index finds them, and a row of ``search_documents`` is 2.3 KB (the names, the text, the words): a word
most agencies use read 8,000 pages, 52 ms of a 50,000-agency register. A ``search_terms`` row keeps its
vector out of line (TOAST past 128 bytes), so the same read is 1,400 pages, 14 ms. SQLite keeps its FTS5
table (``search_fts``); the column, unused there, goes on both.

Revision ID: c8d9e0f1a2b3
Revises: b7c1d2e3f4a5
Create Date: 2026-12-01 11:30:00.000000

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "c8d9e0f1a2b3"
down_revision = "b7c1d2e3f4a5"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE search_terms (doc_id BIGINT PRIMARY KEY, terms TSVECTOR NOT NULL)"
            " WITH (toast_tuple_target = 128)"
        )
        op.execute(
            "INSERT INTO search_terms (doc_id, terms)"
            " SELECT doc_id, terms FROM search_documents WHERE listed AND terms IS NOT NULL"
        )
        op.execute("CREATE INDEX ix_search_terms_terms ON search_terms USING gin (terms)")
        op.drop_index("ix_search_documents_terms", table_name="search_documents")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_column("terms")


def downgrade():
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("terms", sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"), nullable=True)
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE search_documents SET terms = search_terms.terms FROM search_terms"
            " WHERE search_terms.doc_id = search_documents.doc_id"
        )
        op.create_index("ix_search_documents_terms", "search_documents", ["terms"], postgresql_using="gin")
        op.execute("DROP TABLE search_terms")
