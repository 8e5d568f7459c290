"""The version of each agency's public profile: ``providers.public_seq``, counted up in the transaction
of every commit that changes anything the profile shows, so that a worker can tell in one primary-key
read whether a profile it keeps (``common.pagecache``) is still the one it would render, whichever worker
made the change, and an edit dates that agency's profile only, not the register's.

What counts: the agency's own record, and any record with a ``provider_id`` (its qualifications, staff,
fees, pledge signatures, ratings, penalties…); a record that names no agency but is shown on profiles
(an enterprise's name beside its ratings) is registered by its package with ``shown_on_profiles``, with
how to find the agencies it is shown on. Bulk updates the session does not see call ``mark_changed``."""

from itertools import chain

import sqlalchemy as sa
from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.common import database
from marketplace.providers.models import Provider

PENDING = "public_ids"  # key of Session.info
_RESOLVERS = {}  # model: resolve(session, obj) -> the ids of the agencies whose profiles show it


def shown_on_profiles(model, resolve):
    """Records of ``model`` are shown on the profiles of the agencies ``resolve(session, obj)`` names."""
    _RESOLVERS[model] = resolve


def mark_changed(provider_ids, session):
    session.info.setdefault(PENDING, set()).update(provider_ids)


def version(provider_id):
    """The profile's version as this transaction sees it (read on every profile page: read raw)."""
    rows = database.fetch_all("SELECT public_seq FROM providers WHERE id = :id", {"id": provider_id})
    return rows[0][0] if rows else None


def versions(provider_ids, statuses):
    """((id, version), …) of those of these agencies whose status is one of ``statuses``, by id."""
    ids = ",".join(str(int(i)) for i in provider_ids) or "0"  # numbers, written into the statement
    listed = ",".join(f"'{status.value}'" for status in statuses)
    rows = database.fetch_all(
        f"SELECT id, public_seq FROM providers WHERE id IN ({ids}) AND status IN ({listed}) ORDER BY id"
    )
    return tuple(map(tuple, rows))


@event.listens_for(Session, "after_flush")
def _note(session, flush_context):
    touched = None
    for obj in chain(session.new, session.dirty, session.deleted):
        resolve = _RESOLVERS.get(type(obj))
        if isinstance(obj, Provider):
            found = (obj.id,)
        elif resolve is not None:
            found = resolve(session, obj)
        else:
            provider_id = getattr(obj, "provider_id", None)
            found = (provider_id,) if isinstance(provider_id, int) else ()
        if found:
            touched = session.info.setdefault(PENDING, set()) if touched is None else touched
            touched.update(found)


@event.listens_for(Session, "before_commit")
def _count(session):
    if not has_app_context():
        return
    session.flush()  # changes made since the last flush are noted by it (a commit flushes only after this)
    if not session.info.get(PENDING):
        return
    ids = sorted(session.info.pop(PENDING, ()))
    for start in range(0, len(ids), 500):
        session.execute(
            sa.update(Provider)
            .where(Provider.id.in_(ids[start : start + 500]))
            .values(public_seq=Provider.public_seq + 1)
            .execution_options(synchronize_session=False)
        )


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(PENDING, None)
