"""Counters kept in the database, bumped in the transaction of the change they count: a worker can
tell in one primary-key read whether what it cached is still current, whichever worker made the
change (``providers``: the commits that changed any agency's record)."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

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
    return db.session.scalar(sa.select(Counter.value).where(Counter.name == name)) or 0
