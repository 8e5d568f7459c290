"""What the search index holds about an agency, built from the database only, and the session hooks
that keep it in step: note which agencies a flush touched, build their documents just before the
commit (the data is visible then), and write them to the index only after the commit."""

import logging

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, selectinload

from marketplace import search
from marketplace.common import counters
from marketplace.extensions import db
from marketplace.providers import public
from marketplace.providers.models import LISTED_STATUSES as LISTED
from marketplace.providers.models import Fee, Provider, Qualification, StaffMember
from marketplace.search import analysis

log = logging.getLogger(__name__)
PENDING_IDS, PENDING_DOCUMENTS = "search_ids", "search_pending"  # keys of Session.info
REGISTER_CHANGED = "register_changed"  # the transaction changed what the register's figures count


def _ts(value):
    return int(value.timestamp()) if value is not None else 0


def document(provider):
    """The index document of a listed agency."""
    categories = provider.categories
    name_words = analysis.words(provider.name)  # segmented once for both spellings
    return {
        "id": str(provider.id),
        "uscc": (provider.uscc or "").lower(),
        "name": provider.name,
        "name_py": " ".join(
            analysis.pinyin_tokens(provider.name, name_words) + analysis.pinyin_tokens(provider.former_names)
        ),
        "name_ini": " ".join(analysis.initials_tokens(provider.name, name_words)),
        "content": "\n".join(
            [
                provider.former_names or "",
                provider.description or "",
                " ".join(c.name_zh for c in categories),
                " ".join(q.scope for q in provider.qualifications),
                " ".join(s.title for s in provider.staff),
            ]
        ),
        "description": provider.description or "",
        # facets: every category id with its group's id, every county served
        "category_ids": ",".join(
            sorted({str(c.id) for c in categories} | {str(c.parent_id) for c in categories if c.parent_id})
        ),
        "county_ids": ",".join(str(c.id) for c in provider.regions),
        "status": provider.status.value,
        "pledge_version": provider.pledge_version or 0,
        "published_ts": _ts(provider.first_published_at),
        "updated_ts": _ts(provider.updated_at),
        "seq": provider.search_seq,
        "rating": provider.rating_total * 100 // provider.rating_count if provider.rating_count else 0,  # average × 100
    }


def _listed_query():
    return (
        sa.select(Provider)
        .where(Provider.status.in_(LISTED))
        .options(
            selectinload(Provider.categories),
            selectinload(Provider.regions),
            selectinload(Provider.qualifications).lazyload(Qualification.file),
            selectinload(Provider.staff),
        )
    )


class ProviderDocuments:
    """The search layer's source of documents (``search.init_app(app, source=...)``)."""

    def versions(self):
        """{id: search_seq} of every listed agency — what a healthy index must hold."""
        return dict(
            db.session.execute(sa.select(Provider.id, Provider.search_seq).where(Provider.status.in_(LISTED))).all()
        )

    def ids(self):
        """Every listed agency's id, in order."""
        return db.session.scalars(sa.select(Provider.id).where(Provider.status.in_(LISTED)).order_by(Provider.id)).all()

    def documents(self, ids, session=None):
        """Documents for these agencies, and the ids of those no longer listed (to remove)."""
        providers = (session or db.session).scalars(_listed_query().where(Provider.id.in_(ids))).all()
        present = {p.id for p in providers}
        return [document(p) for p in providers], [i for i in ids if i not in present]


SOURCE = ProviderDocuments()


def mark_changed(provider_ids, session=None):
    """Re-index these agencies after the commit (for writes the ORM does not see, such as a bulk
    UPDATE of their rating totals)."""
    session = session or db.session
    session.info.setdefault(PENDING_IDS, set()).update(provider_ids)
    public.mark_changed(provider_ids, session)  # what the index holds, the profile shows


def changes_pending(session=None):
    """Whether this transaction changed agencies it has not committed yet (what it reads of the register
    is its own, not what the other workers see)."""
    return bool((session or db.session).info.get(PENDING_IDS))


def _provider_id(obj):
    if isinstance(obj, Provider):
        return obj.id
    if isinstance(obj, (Qualification, StaffMember, Fee)):
        return obj.provider_id
    return None


@event.listens_for(Session, "after_flush")
def _note(session, flush_context):
    touched = session.info.setdefault(PENDING_IDS, set())
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        provider_id = _provider_id(obj)
        if provider_id is not None:
            touched.add(provider_id)
        if isinstance(obj, Provider) and _counted_change(session, obj):
            session.info[REGISTER_CHANGED] = True


def _counted_change(session, provider):
    """Whether a flushed change of ``provider`` changes what the home page's figures count: an agency
    added or removed, its status, the counties it serves (a description or a phone number does not)."""
    if provider in session.new or provider in session.deleted:
        return True
    attrs = sa.inspect(provider).attrs
    return attrs.status.history.has_changes() or attrs.regions.history.has_changes()


def _searching():
    return has_app_context() and search.is_configured(current_app)


@event.listens_for(Session, "before_commit")
def _prepare(session):
    if not has_app_context():
        return
    session.flush()  # changes made since the last flush are noted by it (a commit flushes only after this)
    if session.info.pop(REGISTER_CHANGED, False):
        # What the register's figures count changed: every worker's (the home page's) is out of date once
        # this commits. Last in the transaction, so the counter's row is locked only while it commits.
        counters.bump(session.connection(), "providers")
    if not session.info.get(PENDING_IDS):
        return
    if not _searching():
        session.info.pop(PENDING_IDS, None)
        return
    ids = sorted(session.info.pop(PENDING_IDS, set()))
    # A new version of each document, written with the commit (the index learns it after, or heals).
    session.execute(
        sa.update(Provider).where(Provider.id.in_(ids)).values(search_seq=Provider.search_seq + 1),
        execution_options={"synchronize_session": "fetch"},
    )
    documents, removed = SOURCE.documents(ids, session)
    if search.backend().transactional:  # an index in the database: written in this very transaction
        search.backend().index(documents, removed, connection=session.connection())
    else:  # an index of its own: written once the data it follows is committed
        session.info[PENDING_DOCUMENTS] = (documents, removed)


@event.listens_for(Session, "after_commit")
def _apply(session):
    pending = session.info.pop(PENDING_DOCUMENTS, None)
    if pending is None or not _searching():
        return
    documents, removed = pending
    try:
        search.backend().index(documents, removed)
    except Exception:  # the commit stands; the index is healed from the database later
        log.exception("search index not updated; it will be mended at the next check")
        try:
            search.note_missed([int(d["id"]) for d in documents] + list(removed))
        except OSError:  # the journal is a courtesy to /healthz; `search check` finds the miss anyway
            log.exception("missed search write not journalled")


@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _discard(session, *args):
    session.info.pop(PENDING_DOCUMENTS, None)
    session.info.pop(PENDING_IDS, None)
    session.info.pop(REGISTER_CHANGED, None)
