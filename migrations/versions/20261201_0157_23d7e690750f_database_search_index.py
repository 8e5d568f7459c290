"""The database-backed search index (issue 12): one row per agency in ``search_documents``, written in
the transaction of the change it follows, searched through SQLite FTS5 (``search_fts``) or PostgreSQL's
full-text search (``terms``, a weighted tsvector with a GIN index); ``search_words`` counts the documents
holding each word, in the same transactions. ``search_settings`` keeps the analysis format the rows were built with: it starts empty,
so the first start-up (or ``flask search reindex``) fills the index from the register.

Revision ID: 23d7e690750f
Revises: aad39250c992
Create Date: 2026-12-01 01:57:16.189226

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "23d7e690750f"
down_revision = "aad39250c992"
branch_labels = None
depends_on = None

# Tokens are written separated by spaces, already analysed (jieba, lower case, stems): FTS5 splits on
# spaces and control characters only, and leaves letters as they are.
FTS_TOKENIZER = "unicode61 remove_diacritics 0 categories 'L* M* N* P* S* Co'"


def upgrade():
    op.create_table(
        "search_documents",
        sa.Column("doc_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("gen", sa.BigInteger(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category_ids", sa.Text(), nullable=False),
        sa.Column("county_ids", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("pledge_version", sa.Integer(), nullable=False),
        sa.Column("published_ts", sa.BigInteger(), nullable=False),
        sa.Column("updated_ts", sa.BigInteger(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("name_py", sa.Text(), nullable=False),
        sa.Column("name_ini", sa.Text(), nullable=False),
        sa.Column("name_words", sa.Text(), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.Column("terms", sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"), nullable=True),
        sa.PrimaryKeyConstraint("doc_id", name=op.f("pk_search_documents")),
    )
    op.create_index(op.f("ix_search_documents_gen"), "search_documents", ["gen"], unique=False)
    op.create_index(op.f("ix_search_documents_uscc"), "search_documents", ["uscc"], unique=False)
    op.create_table(
        "search_words",
        sa.Column("word", sa.Text(), nullable=False),
        sa.Column("docs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_words")),
    )
    settings = op.create_table(
        "search_settings",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_search_settings")),
    )
    op.bulk_insert(settings, [{"name": "format", "value": ""}, {"name": "checked", "value": ""}])
    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger))
    op.bulk_insert(counters, [{"name": "search", "value": 0}])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f'CREATE VIRTUAL TABLE search_fts USING fts5(name, name_py, name_ini, content, tokenize="{FTS_TOKENIZER}")'
        )
    else:
        op.create_index("ix_search_documents_terms", "search_documents", ["terms"], postgresql_using="gin")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE search_fts")
    else:
        op.drop_index("ix_search_documents_terms", table_name="search_documents")
    op.execute("DELETE FROM counters WHERE name = 'search'")
    op.drop_table("search_settings")
    op.drop_table("search_words")
    op.drop_index(op.f("ix_search_documents_uscc"), table_name="search_documents")
    op.drop_index(op.f("ix_search_documents_gen"), table_name="search_documents")
    op.drop_table("search_documents")
