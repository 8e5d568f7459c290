"""The findings a user may list: a regulator its jurisdiction's, an agency and an enterprise those
addressed to them; optionally only those whose rectification is overdue."""

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from marketplace.auth import permissions
from marketplace.common.time import local_today
from marketplace.enterprises.models import Enterprise
from marketplace.inspections.models import Finding, Party, Rectification, RectificationStep
from marketplace.providers.models import Provider


def findings_for(user, overdue_only=False):
    query = sa.select(Finding).order_by(Finding.created_at.desc(), Finding.id.desc())
    if permissions.is_agency(user):
        mine = sa.select(Provider.id).where(Provider.account_id == user.id)
        query = query.where(Finding.provider_id.in_(mine), Finding.party != Party.ENTERPRISE)
    elif permissions.is_enterprise(user):
        mine = sa.select(Enterprise.id).where(Enterprise.account_id == user.id)
        query = query.where(Finding.enterprise_id.in_(mine), Finding.party == Party.ENTERPRISE)
    elif permissions.is_county_regulator(user):
        query = query.where(Finding.county_id == user.county_id)
    elif not permissions.is_regulator(user):
        return query.where(sa.false())
    if overdue_only:
        last = (
            sa.select(Rectification.step)
            .where(Rectification.finding_id == Finding.id)
            .order_by(Rectification.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = query.where(
            Finding.rectification_due < local_today(),
            sa.or_(last.is_(None), last == RectificationStep.RETURNED.value),
        )
    return query


def list_options():
    """What a list row shows (party names, the rectification state), loaded with the page, not per row."""
    return (selectinload(Finding.steps), joinedload(Finding.provider), joinedload(Finding.enterprise))
