"""The public directory: which agencies are listed, filters, sorting, and per-row flags."""

from dataclasses import dataclass


import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from marketplace.common.models import ServiceCategory
from marketplace.common.time import local_today, utcnow
from marketplace.extensions import db
from marketplace.pledges import services as pledges
from marketplace.providers.models import Provider, ProviderStatus, provider_categories, provider_regions

LISTED = (ProviderStatus.PUBLISHED, ProviderStatus.SUSPENDED)

SORTS = {
    "newest": (_l("Newest"), lambda: (Provider.first_published_at.desc(), Provider.id.desc())),
    "name": (_l("Agency name"), lambda: (Provider.name, Provider.id)),
    "updated": (_l("Recently updated"), lambda: (Provider.updated_at.desc(), Provider.id.desc())),
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
    sort: str = "newest"


def _category_ids(category_id):
    """A group stands for all of its categories."""
    children = db.session.scalars(sa.select(ServiceCategory.id).where(ServiceCategory.parent_id == category_id)).all()
    return children or [category_id]


def directory_query(filters):
    """Listed agencies (published or suspended) matching the filters, with what rows show loaded."""
    query = sa.select(Provider).where(Provider.status.in_(LISTED))
    if filters.q:
        term = filters.q.strip()[:100]
        query = query.where(sa.or_(Provider.name.contains(term, autoescape=True),
                                   Provider.former_names.contains(term, autoescape=True),
                                   Provider.uscc == term.upper()))
    if filters.category_id:
        query = query.where(Provider.id.in_(
            sa.select(provider_categories.c.provider_id)
            .where(provider_categories.c.category_id.in_(_category_ids(filters.category_id)))))
    if filters.county_id:
        query = query.where(Provider.id.in_(
            sa.select(provider_regions.c.provider_id).where(provider_regions.c.county_id == filters.county_id)))
    if filters.pledge in PLEDGE_FILTERS:
        query = query.where(_pledge_condition(filters.pledge))
    order = SORTS.get(filters.sort, SORTS["newest"])[1]()
    return query.order_by(*order).options(
        selectinload(Provider.categories), selectinload(Provider.regions), selectinload(Provider.qualifications),
    )


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


def key_figures():
    """Counts for the home page: listed agencies, and how many per county they serve."""
    listed = db.session.scalar(sa.select(sa.func.count(Provider.id)).where(Provider.status == ProviderStatus.PUBLISHED))
    per_county = dict(db.session.execute(
        sa.select(provider_regions.c.county_id, sa.func.count())
        .join(Provider, Provider.id == provider_regions.c.provider_id)
        .where(Provider.status == ProviderStatus.PUBLISHED).group_by(provider_regions.c.county_id)).all())
    return {"listed": listed, "per_county": per_county}


def row_flags(providers, today=None):
    """{provider id: {"pledge": (state, since), "expired": bool}} for a page of rows."""
    today = today or local_today()
    current = pledges.current_text()
    now = utcnow()
    return {
        p.id: {
            "pledge": pledges.pledge_state(p, current, now),
            "expired": any(q.expired(today) for q in p.qualifications),
        }
        for p in providers
    }
