"""The public directory: which agencies are listed, filters, sorting, and per-row flags."""

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from marketplace import search
from marketplace.common import counters, database
from marketplace.common.time import local_today, utcnow
from marketplace.extensions import db
from marketplace.pledges import services as pledges
from marketplace.providers import indexing, public
from marketplace.providers.models import LISTED_STATUSES as LISTED
from marketplace.providers.models import (
    Provider,
    ProviderStatus,
    provider_categories,
    provider_regions,
)
from marketplace.reference import cache
from marketplace.reference.models import ServiceCategory

COMPARE_MIN, COMPARE_MAX = 2, 4

SORTS = {
    "relevance": (_l("Best match"), lambda: (Provider.first_published_at.desc(), Provider.id.desc())),
    "newest": (_l("Newest"), lambda: (Provider.first_published_at.desc(), Provider.id.desc())),
    "rating": (_l("Rating"), lambda: (Provider.first_published_at.desc(), Provider.id.desc())),
}

PLEDGE_FILTERS = {
    "current": _l("Pledge up to date"),
    "resign": _l("Asked to sign the new version"),
    "outdated": _l("Pledge outdated"),
}


@dataclass
class DirectoryFilters:
    q: str = ""
    category_id: int | None = None
    county_id: int | None = None
    pledge: str = ""
    sort: str = "relevance"


def _category_ids(category_id):
    """A group stands for all of its categories."""
    children = db.session.scalars(sa.select(ServiceCategory.id).where(ServiceCategory.parent_id == category_id)).all()
    return children or [category_id]


def directory_query(filters):
    """Listed agencies (published or suspended) matching the filters, with what rows show loaded."""
    query = sa.select(Provider).where(Provider.status.in_(LISTED))
    if filters.q:
        term = filters.q.strip()[:100]
        query = query.where(
            sa.or_(
                Provider.name.contains(term, autoescape=True),
                Provider.former_names.contains(term, autoescape=True),
                Provider.uscc == term.upper(),
            )
        )
    if filters.category_id:
        query = query.where(
            Provider.id.in_(
                sa.select(provider_categories.c.provider_id).where(
                    provider_categories.c.category_id.in_(_category_ids(filters.category_id))
                )
            )
        )
    if filters.county_id:
        query = query.where(
            Provider.id.in_(
                sa.select(provider_regions.c.provider_id).where(provider_regions.c.county_id == filters.county_id)
            )
        )
    if filters.pledge in PLEDGE_FILTERS:
        query = query.where(_pledge_condition(filters.pledge))
    order = SORTS.get(filters.sort, SORTS["relevance"])[1]()
    return query.order_by(*order)


def _pledge_condition(state):
    current = pledges.current_text()
    if current is None:
        return sa.false()
    if state == "current":
        return Provider.pledge_version >= current.version
    older = Provider.pledge_version < current.version
    in_grace = utcnow() <= pledges.resign_deadline(current)
    if state == "resign":
        return older if in_grace else sa.false()
    return sa.false() if in_grace else older


def chosen_names(ids):
    """{id: name} of the agencies ticked for comparison (to keep the ticks of other pages)."""
    if not ids:
        return {}
    return dict(
        db.session.execute(
            sa.select(Provider.id, Provider.name).where(
                Provider.id.in_(ids), Provider.status == ProviderStatus.PUBLISHED
            )
        ).all()
    )


FILTER_ARGS = ("q", "category", "county", "pledge", "sort", "page")


def compare_ids(values, limit=50):
    """The distinct record numbers ticked for comparison, in the order ticked (junk dropped; far
    more than anyone ticks, so that "you ticked 12" is true)."""
    chosen = []
    for value in values[:limit]:
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if 0 < number < 2**31 and number not in chosen:
            chosen.append(number)
    return chosen


def comparable_by_ids(ids):
    """The agencies enterprises can choose among these (published: a suspended one is listed with its
    reason but offered for nothing), in the order given, with what the compare view shows loaded."""
    found = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Provider)
            .where(Provider.id.in_(ids), Provider.status == ProviderStatus.PUBLISHED)
            .options(
                selectinload(Provider.categories),
                selectinload(Provider.regions),
                selectinload(Provider.qualifications),
                selectinload(Provider.staff),
                selectinload(Provider.fees),
            )
        )
    }
    return [found[i] for i in ids if i in found]


def not_comparable(ids, compared):
    """What was ticked but cannot be compared now: (names of the suspended agencies among them, how
    many others are no longer listed at all). Only a listed agency is named."""
    rest = [i for i in ids if i not in {p.id for p in compared}]
    if not rest:
        return [], 0
    suspended = db.session.scalars(
        sa.select(Provider.name).where(Provider.id.in_(rest), Provider.status == ProviderStatus.SUSPENDED)
    ).all()
    unlisted = db.session.scalar(
        sa.select(sa.func.count(Provider.id)).where(
            Provider.id.in_(rest), Provider.status.not_in((ProviderStatus.SUSPENDED, ProviderStatus.PUBLISHED))
        )
    )
    return list(suspended), unlisted


_figures = {}  # this process's key figures, with the register counter they were counted at


def key_figures():
    """Counts for the home page, each saying what it counts: agencies enterprises can choose
    (published), those listed but suspended, and per county how many choosable agencies serve it.
    Counted again only after a commit changed what they count (``counters``: one primary-key read per
    page, not two aggregates over every agency, 70 ms at 50,000; an edit of a description does not)."""
    if indexing.changes_pending():  # this transaction's own uncommitted changes: counted as it sees them
        return _count_figures()
    generation = counters.value("providers")
    cached = _figures.get("current")
    if cached is not None and cached[0] == generation:
        return cached[1]
    figures = _count_figures()
    _figures["current"] = (generation, figures)
    return figures


def forget_figures():
    """Drop this process's cached figures (tests roll the counter back with the data)."""
    _figures.clear()


def _count_figures():
    by_status = dict(
        db.session.execute(
            sa.select(Provider.status, sa.func.count(Provider.id))
            .where(Provider.status.in_(LISTED))
            .group_by(Provider.status)
        ).all()
    )
    per_county = dict(
        db.session.execute(
            sa.select(provider_regions.c.county_id, sa.func.count())
            .join(Provider, Provider.id == provider_regions.c.provider_id)
            .where(Provider.status == ProviderStatus.PUBLISHED)
            .group_by(provider_regions.c.county_id)
        ).all()
    )
    return {
        "published": by_status.get(ProviderStatus.PUBLISHED, 0),
        "suspended": by_status.get(ProviderStatus.SUSPENDED, 0),
        "per_county": per_county,
    }


@dataclass(frozen=True)
class RowDetails:
    """What a row shows beyond the agency's own columns."""

    county: cache.Ref | None  # where it is registered
    categories: list
    regions: list  # counties served
    pledge: tuple  # (state, since), see pledges.pledge_state
    expired: bool  # holds an expired qualification


def row_details(providers, today=None):
    """{provider id: RowDetails} for a page of agencies: two small queries for the ids of their
    categories and counties served, one for expired qualifications; names come from the cached
    reference data, so no category, county or qualification object is loaded."""
    ids = [p.id for p in providers]
    if not ids:
        return {}
    today = today or local_today()
    ref = cache.snapshot()
    categories, regions = defaultdict(list), defaultdict(list)
    listed = ",".join(str(int(i)) for i in ids)  # the page's own ids: numbers, written into the statement
    for provider_id, category_id in database.fetch_all(
        f"SELECT provider_id, category_id FROM provider_categories WHERE provider_id IN ({listed})"
    ):
        categories[provider_id].append(ref.category_by_id[category_id])
    for provider_id, county_id in database.fetch_all(
        f"SELECT provider_id, county_id FROM provider_regions WHERE provider_id IN ({listed})"
    ):
        regions[provider_id].append(ref.county_by_id[county_id])
    # a removed qualification no longer counts (as on the profile)
    expired = {
        provider_id
        for (provider_id,) in database.fetch_all(
            f"SELECT DISTINCT provider_id FROM qualifications WHERE provider_id IN ({listed})"
            " AND deleted_at IS NULL AND valid_to < :today",
            {"today": today.isoformat()},
        )
    }
    current, now = pledges.current_text(), utcnow()

    def ordered(refs):
        return sorted(refs, key=lambda r: (r.sort_order, r.id))

    return {
        p.id: RowDetails(
            ref.county_by_id.get(p.county_id),
            ordered(categories[p.id]),
            ordered(regions[p.id]),
            pledges.pledge_state(p, current, now),
            p.id in expired,
        )
        for p in providers
    }


# --- the directory through the search index ------------------------------------------------------


class SearchPage:
    """A page of search hits with the attributes the pager uses (like Flask-SQLAlchemy's Pagination)."""

    def __init__(self, result, items):
        self.items, self.total, self.page, self.pages = items, result.total, result.page, result.pages
        self.facets, self.suggestion = result.facets, result.suggestion
        self.highlights = {hit.provider_id: hit.highlights for hit in result.hits}
        self.has_prev, self.has_next = self.page > 1, self.page < self.pages
        self.prev_num = self.page - 1 if self.has_prev else None
        self.next_num = self.page + 1 if self.has_next else None

    def iter_pages(self, left_edge=1, right_edge=1, left_current=2, right_current=2):
        last = 0
        for n in range(1, self.pages + 1):
            if (
                n <= left_edge
                or n > self.pages - right_edge
                or self.page - left_current - 1 < n < self.page + right_current + 1
            ):
                if last + 1 != n:
                    yield None
                yield n
                last = n


def _pledge_range(state):
    """The pledge versions a pledge filter stands for: (min, max), or None when nothing matches."""
    current = pledges.current_text()
    if current is None:
        return None
    if state == "current":
        return current.version, None
    in_grace = utcnow() <= pledges.resign_deadline(current)
    if (state == "resign") != in_grace:
        return None
    return 1, current.version - 1


def search_directory(filters, page, per_page):
    """The directory page from the search index: hits in order, loaded from the database in one query."""
    return search_page(search_hits(filters, page, per_page))


def search_page(result):
    """The page of ``result``'s hits, the agencies loaded from the database in one query."""
    ids = [hit.provider_id for hit in result.hits]
    found = {
        p.id: p
        for p in db.session.scalars(sa.select(Provider).where(Provider.id.in_(ids), Provider.status.in_(LISTED)))
    }
    return SearchPage(result, [found[i] for i in ids if i in found])


def page_versions(result):
    """What a directory page of ``result`` shows changes with, besides the result itself: each listed
    agency on it with its profile's version (``providers.public``: anything its row shows), and the
    pledge in force with whether its grace period has passed."""
    return public.versions([hit.provider_id for hit in result.hits], LISTED), pledges.standing_in_force()


def search_hits(filters, page, per_page):
    """The search index's answer for a directory page (no agency loaded)."""
    query = search.SearchQuery(
        text=filters.q,
        category_id=filters.category_id,
        county_id=filters.county_id,
        sort=filters.sort if filters.sort in SORTS else "relevance",
        page=page,
        per_page=per_page,
    )
    if filters.pledge in PLEDGE_FILTERS:
        versions = _pledge_range(filters.pledge)
        query.pledge_min, query.pledge_max = versions if versions else (2**31 - 1, 0)
    return search.backend().search(query)


def pledge_facets(version_counts):
    """Facet counts by pledge status from counts by signed version."""
    current = pledges.current_text()
    if current is None:
        return {}
    older = sum(n for v, n in version_counts.items() if v < current.version)
    in_grace = utcnow() <= pledges.resign_deadline(current)
    return {
        "current": sum(n for v, n in version_counts.items() if v >= current.version),
        "resign": older if in_grace else 0,
        "outdated": 0 if in_grace else older,
    }
