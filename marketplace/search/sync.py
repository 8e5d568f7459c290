"""Keep the index in step: note which agencies a flush touched, build their documents just before
the commit (the data is visible then), and write them to the index only after the commit."""

import logging

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.providers.models import Fee, Provider, Qualification, StaffMember

log = logging.getLogger(__name__)


def _provider_id(obj):
    if isinstance(obj, Provider):
        return obj.id
    if isinstance(obj, (Qualification, StaffMember, Fee)):
        return obj.provider_id
    return None


@event.listens_for(Session, "after_flush")
def _note(session, flush_context):
    touched = session.info.setdefault("search_ids", set())
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        provider_id = _provider_id(obj)
        if provider_id is not None:
            touched.add(provider_id)


@event.listens_for(Session, "before_commit")
def _prepare(session):
    if not session.info.get("search_ids") or not has_app_context() or "search" not in current_app.extensions:
        return
    session.flush()
    ids = sorted(session.info.pop("search_ids", set()))
    from marketplace.search.documents import documents_for

    session.info["search_pending"] = documents_for(ids, session)


@event.listens_for(Session, "after_commit")
def _apply(session):
    pending = session.info.pop("search_pending", None)
    if pending is None or not has_app_context() or "search" not in current_app.extensions:
        return
    documents, removed = pending
    try:
        current_app.extensions["search"].index(documents, removed)
    except Exception:  # the commit stands; the index is healed from the database later
        log.exception("search index not updated; it will be rebuilt at the next check")


@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _discard(session, *args):
    session.info.pop("search_pending", None)
    session.info.pop("search_ids", None)
