"""Counters kept in the database, bumped in the transaction of the change they count: a worker can
tell in one primary-key read whether what it cached is still current, whichever worker made the
change (``providers``: the commits that changed what the register's figures count, an agency listed or
removed, its status, the counties it serves)."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.common import database
from marketplace.extensions import db


class Counter(db.Model):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)


def bump(connection, name):
    """Count one more change of ``name`` in the transaction of ``connection`` (a session's, during its
    flush), and return the new count; the row exists from the migration."""
    return connection.execute(
        sa.update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    ).scalar_one()


def value(name):
    """The count of ``name`` as this transaction sees it: read on every page that caches, so read raw."""
    rows = database.fetch_all("SELECT value FROM counters WHERE name = :name", {"name": name})
    return rows[0][0] if rows else 0
