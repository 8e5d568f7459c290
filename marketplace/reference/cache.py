"""Counties and service categories as plain, read-only values, cached per process.

Every public page shows them (filters, badges, the home page), and they change a few times a year,
by an administrator. The cache is dropped in this process when a commit touches either table, and
rebuilt at most ``REFERENCE_CACHE_SECONDS`` (30 s) after an edit made in another worker. Pages that
edit reference data use the ORM functions in ``reference.services`` instead."""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.common.i18n import current_language
from marketplace.common.models import BilingualNameMixin
from marketplace.extensions import db
from marketplace.reference.models import County, ServiceCategory


@dataclass(frozen=True, eq=False)
class Ref(BilingualNameMixin):
    """A county or a category: ``name`` follows the UI language like the models'."""

    id: int
    code: str
    name_zh: str
    name_en: str
    active: bool
    sort_order: int
    parent_id: int | None = None
    children: tuple = ()


@dataclass(frozen=True)
class Snapshot:
    counties: tuple  # every county, in display order
    groups: tuple  # top-level categories, in display order, each with its children
    county_by_id: dict = field(repr=False)
    category_by_id: dict = field(repr=False)
    shared_names: frozenset = field(default=frozenset(), repr=False)  # ids of categories named as in another group

    def active_counties(self):
        return [c for c in self.counties if c.active]

    def active_groups(self):
        return [g for g in self.groups if g.active]

    def category_label(self, category_id, language=None):
        """A category's name in the UI language (or ``language``), with its group where another group has
        a category of the same name (金属冶炼 is both evaluated and tested): "金属冶炼（安全评价）"."""
        category = self.category_by_id.get(category_id)
        if category is None:
            return ""
        english = (language or current_language()) == "en"
        name = (category.name_en or category.name_zh) if english else category.name_zh
        if category_id not in self.shared_names:
            return name
        group = self.category_by_id[category.parent_id]
        if english:
            return f"{name} ({group.name_en or group.name_zh})"
        return f"{name}（{group.name_zh}）"


def _load():
    def ref(row, **extra):
        return Ref(row.id, row.code, row.name_zh, row.name_en, row.active, row.sort_order, **extra)

    counties = tuple(
        ref(c)
        for c in db.session.execute(
            sa.select(
                County.id, County.code, County.name_zh, County.name_en, County.active, County.sort_order
            ).order_by(County.sort_order, County.id)
        )
    )
    rows = db.session.execute(
        sa.select(
            ServiceCategory.id,
            ServiceCategory.code,
            ServiceCategory.name_zh,
            ServiceCategory.name_en,
            ServiceCategory.active,
            ServiceCategory.sort_order,
            ServiceCategory.parent_id,
        ).order_by(ServiceCategory.sort_order, ServiceCategory.id)
    ).all()
    children = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(ref(row, parent_id=row.parent_id))
    groups = tuple(ref(row, children=tuple(children.get(row.id, ()))) for row in rows if row.parent_id is None)
    categories = {g.id: g for g in groups}
    categories.update({c.id: c for kids in children.values() for c in kids})
    by_name = Counter(c.name_zh for kids in children.values() for c in kids)
    shared = frozenset(c.id for kids in children.values() for c in kids if by_name[c.name_zh] > 1)
    return Snapshot(counties, groups, {c.id: c for c in counties}, categories, shared)


class ReferenceCache:
    def __init__(self, seconds):
        self.seconds, self._lock = seconds, threading.Lock()
        self._snapshot, self._loaded_at, self.loads = None, 0.0, 0

    def get(self):
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or time.monotonic() - self._loaded_at > self.seconds:
                loaded = _load()
                # a reload that finds what it had keeps its snapshot and generation: the pages kept
                # (common.pagecache) are dated by a change, not by the clock
                if snapshot is None or repr(loaded) != repr(snapshot):
                    snapshot = self._snapshot = loaded
                    self.loads += 1
                self._loaded_at = time.monotonic()
            return snapshot

    def generation(self):
        """How many different snapshots of the reference data this process has loaded: a page built from
        one is out of date once another is loaded."""
        self.get()
        return self.loads

    def clear(self):
        with self._lock:
            self._snapshot = None


def init_app(app):
    app.extensions["reference"] = ReferenceCache(app.config.get("REFERENCE_CACHE_SECONDS", 30))
    app.jinja_env.filters["category_label"] = lambda category: snapshot().category_label(
        getattr(category, "id", category)
    )


def snapshot():
    """Counties and categories as they are now (at most the cache's age behind another worker's edit)."""
    return current_app.extensions["reference"].get()


def generation():
    return current_app.extensions["reference"].generation()


def clear():
    if has_app_context() and "reference" in current_app.extensions:
        current_app.extensions["reference"].clear()


@event.listens_for(Session, "after_flush")
def _note(session, flush_context):
    if any(
        isinstance(obj, (County, ServiceCategory))
        for obj in list(session.new) + list(session.dirty) + list(session.deleted)
    ):
        session.info["reference_changed"] = True


@event.listens_for(Session, "after_commit")
def _drop(session):
    if session.info.pop("reference_changed", False):
        clear()


@event.listens_for(Session, "after_rollback")
def _forget(session):
    if session.info.pop("reference_changed", False):
        clear()  # what this process may have read inside the failed transaction
