"""Named queries over engagements: what a user may list, the dashboards, one engagement's timeline,
notices and files, conflicts, and public report look-ups. Reads only; the rules are in services."""

import re
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.auth import permissions
from marketplace.common.time import utcnow
from marketplace.engagements.models import (
    WORK_STATUSES,
    Engagement,
    EngagementEvent,
    EngagementFile,
    Rating,
    Report,
    SiteNotice,
)
from marketplace.engagements.models import EngagementStatus as S
from marketplace.engagements.ratings import RATING_WINDOW
from marketplace.enterprises.models import Enterprise
from marketplace.extensions import db
from marketplace.providers.models import Provider
from marketplace.reference.models import ADVISORY, ASSESSMENT, ServiceCategory

CONFLICT_WINDOW = timedelta(days=365)
OPPOSITE_KIND = {ASSESSMENT: ADVISORY, ADVISORY: ASSESSMENT}


# --- one engagement ---------------------------------------------------------------------------------


def load_engagement(engagement_id):
    """An engagement with its team, report and rating loaded, or None."""
    return db.session.get(
        Engagement,
        engagement_id,
        options=[selectinload(Engagement.team), selectinload(Engagement.report), selectinload(Engagement.rating)],
    )


def timeline(engagement):
    return db.session.scalars(
        sa.select(EngagementEvent).where(EngagementEvent.engagement_id == engagement.id).order_by(EngagementEvent.id)
    ).all()


def site_notices(engagement):
    """Every on-site notice filed, newest first (the newest one counts)."""
    return db.session.scalars(
        sa.select(SiteNotice).where(SiteNotice.engagement_id == engagement.id).order_by(SiteNotice.id.desc())
    ).all()


def latest_site_notice(engagement):
    return db.session.scalar(
        sa.select(SiteNotice).where(SiteNotice.engagement_id == engagement.id).order_by(SiteNotice.id.desc()).limit(1)
    )


def files(engagement):
    """Every file attached, removed ones included (they say when they were removed)."""
    return db.session.scalars(
        sa.select(EngagementFile).where(EngagementFile.engagement_id == engagement.id).order_by(EngagementFile.id)
    ).all()


def attachment(engagement, attachment_id):
    """One file of this engagement (removed or not), or None."""
    attached = db.session.get(EngagementFile, attachment_id)
    return attached if attached is not None and attached.engagement_id == engagement.id else None


def related(engagement):
    """The engagements on the other side of a referee-and-player flag."""
    if not engagement.conflict_with:
        return []
    return db.session.scalars(
        sa.select(Engagement).where(Engagement.id.in_(engagement.conflict_with)).options(*list_options())
    ).all()


def conflicting_engagements(provider_id, enterprise_id, kind, *, exclude_id=None, now=None):
    """Work of the other kind (advising against assessing) the agency did or does for the enterprise,
    contracted within the last 12 months."""
    other = OPPOSITE_KIND.get(kind)
    if other is None:
        return []
    since = (now or utcnow()) - CONFLICT_WINDOW
    query = (
        sa.select(Engagement)
        .join(ServiceCategory, ServiceCategory.id == Engagement.category_id)
        .where(
            Engagement.provider_id == provider_id,
            Engagement.enterprise_id == enterprise_id,
            Engagement.status.in_(WORK_STATUSES),
            Engagement.contracted_at >= since,
            ServiceCategory.engagement_kind == other,
        )
        .order_by(Engagement.contracted_at)
    )
    if exclude_id is not None:
        query = query.where(Engagement.id != exclude_id)
    return db.session.scalars(query).all()


# --- lists --------------------------------------------------------------------------------------------


def visible_query(user):
    """The engagements ``user`` may list: their own for the parties, their county's for a county
    regulator, all for city regulators."""
    query = sa.select(Engagement)
    if permissions.is_enterprise(user):
        return query.join(Enterprise, Enterprise.id == Engagement.enterprise_id).where(Enterprise.account_id == user.id)
    if permissions.is_agency(user):
        return query.join(Provider, Provider.id == Engagement.provider_id).where(Provider.account_id == user.id)
    if permissions.is_city_regulator(user):
        return query
    if permissions.is_county_regulator(user):
        return query.where(Engagement.county_id == user.county_id)
    return query.where(sa.false())


def filtered_query(user, *, status="", text="", conflict=False):
    """The list's filters over what ``user`` may see: a status, only flagged conflicts, and text
    matching the enterprise's or the agency's name or the engagement's number (WT + year + id)."""
    query = visible_query(user)
    if status:
        query = query.where(Engagement.status == S(status))
    if conflict:
        query = query.where(Engagement.conflict.is_(True))
    text = (text or "").strip()[:100]
    if text:
        matching = [
            Engagement.enterprise_id.in_(
                sa.select(Enterprise.id).where(Enterprise.name.contains(text, autoescape=True))
            ),
            Engagement.provider_id.in_(sa.select(Provider.id).where(Provider.name.contains(text, autoescape=True))),
        ]
        number = re.fullmatch(r"WT(\d{4})(\d{6,9})", text.upper())
        if number and int(number.group(2)) < 2**31:
            matching.append(Engagement.id == int(number.group(2)))
        query = query.where(sa.or_(*matching))
    return query


def list_options():
    """What a list row shows, loaded in a fixed number of statements whatever the row count."""
    return (
        selectinload(Engagement.enterprise),
        selectinload(Engagement.provider),
        selectinload(Engagement.category),
        selectinload(Engagement.county),
        selectinload(Engagement.report),
    )


def upcoming_site_notices(user, start, days=30, limit=None):
    """On-site work from ``start`` for ``days`` days in the regulator's county (all for the city),
    the latest notice of each engagement, engagements still open."""
    latest = (sa.select(sa.func.max(SiteNotice.id)).group_by(SiteNotice.engagement_id)).scalar_subquery()
    query = (
        sa.select(SiteNotice)
        .join(Engagement, Engagement.id == SiteNotice.engagement_id)
        .where(
            SiteNotice.id.in_(latest),
            SiteNotice.onsite_to >= start,
            SiteNotice.onsite_from <= start + timedelta(days=days),
            Engagement.status.in_((S.CONTRACTED, S.IN_PROGRESS)),
        )
        .order_by(SiteNotice.onsite_from, SiteNotice.id)
        .options(
            selectinload(SiteNotice.engagement).selectinload(Engagement.enterprise),
            selectinload(SiteNotice.engagement).selectinload(Engagement.provider),
            selectinload(SiteNotice.engagement).selectinload(Engagement.category),
        )
    )
    if permissions.is_county_regulator(user):
        query = query.where(SiteNotice.county_id == user.county_id)
    elif not permissions.is_city_regulator(user):
        query = query.where(sa.false())
    return db.session.scalars(query.limit(limit)).all()


# --- dashboards ---------------------------------------------------------------------------------------


def status_counts(user):
    """{status: count} of the engagements ``user`` may see."""
    base = visible_query(user)
    return dict(
        db.session.execute(
            base.with_only_columns(Engagement.status, sa.func.count(Engagement.id))
            .group_by(Engagement.status)
            .order_by(None)
        ).all()
    )


def _latest(user, statuses, extra=None, limit=5):
    query = visible_query(user).where(Engagement.status.in_(statuses))
    if extra is not None:
        query = query.where(extra)
    return db.session.scalars(
        query.order_by(Engagement.updated_at.desc(), Engagement.id.desc()).limit(limit).options(*list_options())
    ).all()


def dashboard_sections(user):
    """[(key, engagements)] for the user's workbench: what waits for them first."""
    has_report = Engagement.id.in_(sa.select(Report.engagement_id))
    if permissions.is_enterprise(user):
        unrated = sa.and_(
            ~Engagement.id.in_(sa.select(Rating.engagement_id)), Engagement.completed_at >= utcnow() - RATING_WINDOW
        )
        return [
            ("quoted", _latest(user, (S.QUOTED,))),
            ("confirm", _latest(user, (S.IN_PROGRESS,), has_report)),
            ("requested", _latest(user, (S.REQUESTED,))),
            ("working", _latest(user, (S.CONTRACTED, S.IN_PROGRESS), ~has_report)),
            ("rate", _latest(user, (S.COMPLETED,), unrated)),
        ]
    if permissions.is_agency(user):
        return [
            ("requested", _latest(user, (S.REQUESTED,))),
            ("working", _latest(user, (S.CONTRACTED, S.IN_PROGRESS))),
            ("quoted", _latest(user, (S.QUOTED,))),
            ("reported", _latest(user, (S.IN_PROGRESS, S.COMPLETED), has_report)),
        ]
    return [
        ("working", _latest(user, (S.CONTRACTED, S.IN_PROGRESS))),
        ("conflict", _latest(user, tuple(S), Engagement.conflict.is_(True))),
    ]


# --- public report verification -------------------------------------------------------------------------


def find_reports(number, issuer_uscc="", limit=10):
    """Reports issued under ``number`` (already normalised), optionally by the agency with this credit code."""
    query = sa.select(Report).where(Report.report_no == number).order_by(Report.id)
    if issuer_uscc:
        query = query.join(Provider, Provider.id == Report.provider_id).where(Provider.uscc == issuer_uscc)
    return db.session.scalars(query.limit(limit)).all()


def report_issuer_uscc(report):
    return db.session.scalar(sa.select(Provider.uscc).where(Provider.id == report.provider_id))
