"""What the search index holds about an agency: built from the database only."""

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.common.time import as_utc
from marketplace.extensions import db
from marketplace.providers.models import Provider, ProviderStatus, Qualification
from marketplace.search import analysis

LISTED = (ProviderStatus.PUBLISHED, ProviderStatus.SUSPENDED)


def _ts(value):
    return int(as_utc(value).timestamp()) if value is not None else 0


def document(provider):
    """The index document of a listed agency."""
    categories = provider.categories
    return {
        "id": str(provider.id),
        "uscc": (provider.uscc or "").lower(),
        "name": provider.name,
        "name_py": " ".join(analysis.pinyin_tokens(provider.name) + analysis.pinyin_tokens(provider.former_names)),
        "name_ini": " ".join(analysis.initials_tokens(provider.name)),
        "content": "\n".join([provider.former_names or "", provider.description or "",
                               " ".join(c.name_zh for c in categories),
                               " ".join(q.scope for q in provider.qualifications),
                               " ".join(s.title for s in provider.staff)]),
        "description": provider.description or "",
        # facets: every category id with its group's id, every county served
        "category_ids": ",".join(sorted({str(c.id) for c in categories} | {str(c.parent_id) for c in categories
                                                                            if c.parent_id})),
        "county_ids": ",".join(str(c.id) for c in provider.regions),
        "status": provider.status.value,
        "pledge_version": provider.pledge_version or 0,
        "published_ts": _ts(provider.first_published_at),
        "updated_ts": _ts(provider.updated_at),
        "rating": provider.rating_total * 100 // provider.rating_count if provider.rating_count else 0,  # average × 100
    }


def listed_query():
    return (sa.select(Provider).where(Provider.status.in_(LISTED))
            .options(selectinload(Provider.categories), selectinload(Provider.regions),
                     selectinload(Provider.qualifications).lazyload(Qualification.file), selectinload(Provider.staff)))


def documents_for(ids, session=None):
    """Documents for these providers, and the ids of those no longer listed (to remove)."""
    providers = (session or db.session).scalars(listed_query().where(Provider.id.in_(ids))).all()
    present = {p.id for p in providers}
    return [document(p) for p in providers], [i for i in ids if i not in present]


def database_state():
    """(number of listed agencies, their latest change) — what a healthy index must match."""
    count, latest = db.session.execute(
        sa.select(sa.func.count(Provider.id), sa.func.max(Provider.updated_at)).where(Provider.status.in_(LISTED))
    ).one()
    return count, _ts(latest)
