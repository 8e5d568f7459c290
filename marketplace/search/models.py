"""The database-backed index: one row per document, written in the transaction of the change it
follows, so it can never drift from the data (see ``search.database``).

The words themselves live where each engine searches them, in a table the migrations create: on
PostgreSQL ``search_terms`` (``doc_id``, ``terms``: a ``tsvector`` of the document's words, jieba's with
pinyin and initials as extra lexemes, weighted by field, searched through a GIN index; a narrow table,
the vectors out of line, so that reading a common word's matches reads few pages), on SQLite the FTS5
table ``search_fts`` (rowid = ``doc_id``)."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db

FTS_TABLE = "search_fts"  # SQLite only
TERMS_TABLE = "search_terms"  # PostgreSQL only


class SearchDocument(db.Model):
    __tablename__ = "search_documents"

    doc_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # the source's count of the document's changes
    # The index's generation when the row was last written: a worker refreshes what it keeps in memory
    # by reading the rows written since the generation it last saw.
    gen: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    listed: Mapped[bool] = mapped_column(sa.Boolean, default=True)  # False: removed from the index
    uscc: Mapped[str] = mapped_column(sa.String(18), default="", index=True)  # lower case
    name: Mapped[str] = mapped_column(sa.Text, default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    category_ids: Mapped[str] = mapped_column(sa.Text, default="")
    county_ids: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(20), default="")
    pledge_version: Mapped[int] = mapped_column(sa.Integer, default=0)
    published_ts: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    updated_ts: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    rating: Mapped[int] = mapped_column(sa.Integer, default=0)
    name_py: Mapped[str] = mapped_column(sa.Text, default="")
    name_ini: Mapped[str] = mapped_column(sa.Text, default="")
    name_words: Mapped[str] = mapped_column(sa.Text, default="")  # the distinct words of the name
    words: Mapped[str] = mapped_column(sa.Text, default="")  # the distinct words of name and text (search_words)


class SearchWord(db.Model):
    """How many listed documents hold each word in their name or text, kept by the same transactions as
    the rows: a long sentence is searched by its selective words, and telling which those are costs one
    primary-key read per word (counting through the full-text index took 20–45 ms a word on PostgreSQL
    at 50,000 agencies)."""

    __tablename__ = "search_words"

    word: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    docs: Mapped[int] = mapped_column(sa.Integer, default=0)


class SearchSetting(db.Model):
    """What the index was built with (``format``: analysis.index_format()); its row is also the lock
    a rebuild holds, so that one process rebuilds while the others go on serving."""

    __tablename__ = "search_settings"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(200), default="")
