"""The audit log: automatic capture of every change to an ``Audited`` model, plus named events.

Changes are captured in the flush itself, so nothing is committed without its audit row; the
rows are inserted with Core on the flush's own connection, in the same transaction.
"""

import datetime as dt
import decimal
import enum

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from marketplace.common import chain
from marketplace.common.actors import current_actor
from marketplace.common.models import Audited, AuditLog
from marketplace.common.time import utcnow
from marketplace.extensions import db

MASK = "******"


class AuditLogIsAppendOnly(Exception):
    """Raised when code tries to change or delete an append-only record (``__append_only__``):
    audit entries, revisions, signatures, notice batches. The database refuses it too."""


def _client_address():
    return request.remote_addr if has_request_context() else None


def _plain(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return value


def _changes(obj, mode):
    """Field-by-field ``{name: [old, new]}`` for one object."""
    state = inspect(obj)
    masked = getattr(obj, "__audit_mask__", frozenset())
    ignored = getattr(obj, "__audit_ignore__", frozenset())
    result = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in ignored or key == "version":  # common.models.Versioned: counted, not a change of content
            continue
        history = state.attrs[key].history
        if mode == "create":
            old, new = None, getattr(obj, key)
            if new is None:
                continue
        elif mode == "delete":
            old, new = getattr(obj, key), None
        else:
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old == new:
                continue
        if key in masked:
            old = MASK if old is not None else None
            new = MASK if new is not None else None
        result[key] = [_plain(old), _plain(new)]
    return result


def _object_id(obj):
    """The primary key as text ("12", or "3/7" for a composite key); known once flushed."""
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    if not key or any(part is None for part in key):
        return None
    return "/".join(str(part) for part in key)


def _entry(obj, action, changes, actor):
    return {
        "created_at": utcnow(),
        "actor_id": actor.id if actor is not None else None,
        "actor_label": getattr(actor, "email", None),
        "action": action,
        "object_type": type(obj).__name__,
        "object_id": _object_id(obj),
        "changes": changes or None,
        "ip_address": _client_address(),
    }


@event.listens_for(Session, "before_flush")
def _before_flush(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if getattr(obj, "__append_only__", False) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditLogIsAppendOnly(f"{type(obj).__name__} records cannot be changed or deleted")
    pending = session.info["audit_pending"] = []
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(obj, include_collections=False):
            changes = _changes(obj, "update")
            if changes:
                pending.append((obj, "update", changes))
    for obj in session.deleted:
        if isinstance(obj, Audited):
            pending.append((obj, "delete", _changes(obj, "delete")))
    session.info["audit_new"] = [obj for obj in session.new if isinstance(obj, Audited)]


@event.listens_for(Session, "after_flush")
def _after_flush(session, flush_context):
    pending = session.info.pop("audit_pending", [])
    new = session.info.pop("audit_new", [])
    if not pending and not new:
        return
    actor = current_actor()
    rows = [_entry(obj, "create", _changes(obj, "create"), actor) for obj in new]
    rows += [_entry(obj, action, changes, actor) for obj, action, changes in pending]
    ids = session.connection().execute(sa.insert(AuditLog.__table__).returning(AuditLog.id), rows).scalars().all()
    chain.note(session, AuditLog.__tablename__, ids)


def search_log(*, object_type="", object_id="", actor="", action=""):
    """The audit log, newest first, filtered by record, actor e-mail and action."""
    query = sa.select(AuditLog).order_by(AuditLog.id.desc())
    if object_type:
        query = query.where(AuditLog.object_type == object_type[:60])
    if object_id:
        query = query.where(AuditLog.object_id == object_id[:64])
    if actor:
        query = query.where(AuditLog.actor_label == actor.lower()[:254])
    if action:
        query = query.where(AuditLog.action == action[:40])
    return query


def record(action, obj=None, *, object_type=None, object_id=None, changes=None, actor=None):
    """Write a named event (a login, a deactivation) that is not a plain field change."""
    actor = actor if actor is not None else current_actor()
    if obj is not None:
        object_type = object_type or type(obj).__name__
        object_id = object_id or _object_id(obj)
    entry = AuditLog(
        created_at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_label=getattr(actor, "email", None),
        action=action,
        object_type=object_type or "-",
        object_id=str(object_id) if object_id is not None else None,
        changes={k: [_plain(a), _plain(b)] for k, (a, b) in (changes or {}).items()} or None,
        ip_address=_client_address(),
    )
    db.session.add(entry)
    return entry
