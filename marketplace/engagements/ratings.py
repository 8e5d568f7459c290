"""Verified ratings: only the enterprise of a completed engagement rates it, once, within 180 days;
the agency replies once, publicly; a regulator may hide an abusive rating with a public reason.
The agency's totals (visible ratings only) are kept on its record and feed the search sort."""

from datetime import timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.auth import permissions
from marketplace.common.errors import DomainError, PermissionDenied
from marketplace.common.time import utcnow
from marketplace.engagements.models import Engagement, EngagementStatus, Rating
from marketplace.enterprises.models import Enterprise
from marketplace.extensions import db
from marketplace.providers import indexing, public, signals
from marketplace.providers.models import Provider

RATING_WINDOW = timedelta(days=180)
MAX_TEXT = 1000


class RatingError(DomainError):
    pass


class NotCompleted(RatingError):
    message = _l("You can rate the agency once the engagement is completed.")


class AlreadyRated(RatingError):
    message = _l("You have already rated this engagement: each engagement is rated once.")


class WindowClosed(RatingError):
    message = _l("Ratings are accepted within 180 days of completion; this engagement was completed earlier.")


class AlreadyReplied(RatingError):
    message = _l("Your agency has already replied to this rating.")


class AlreadyHidden(RatingError):
    message = _l("This rating is already hidden.")


def _text(value, field, required=False):
    value = (value or "").strip()
    if required and not value:
        raise RatingError(_l("This field is required."), field=field)
    if len(value) > MAX_TEXT:
        raise RatingError(_l("Keep it within %(n)d characters.", n=MAX_TEXT), field=field)
    return value


def _adjust(provider_id, count, total):
    """Add to the agency's totals in one statement (two ratings at once both count), and mark the
    agency changed so the search index picks up its new average after the commit."""
    db.session.execute(
        sa.update(Provider)
        .where(Provider.id == provider_id)
        .values(
            rating_count=Provider.rating_count + count, rating_total=Provider.rating_total + total, updated_at=utcnow()
        )
    )
    provider = db.session.get(Provider, provider_id)
    db.session.refresh(provider, ["rating_count", "rating_total", "updated_at"])
    indexing.mark_changed([provider_id])


def rating_refusal(user, engagement, now=None):
    """Why ``user`` cannot rate ``engagement`` now (a ``DomainError``), or None when they can."""
    if not permissions.is_engagement_client(user, engagement):
        return PermissionDenied(_l("Only the enterprise that contracted this engagement can rate it."))
    if engagement.status is not EngagementStatus.COMPLETED:
        return NotCompleted()
    if engagement.rating is not None:
        return AlreadyRated()
    if (now or utcnow()) - engagement.completed_at > RATING_WINDOW:
        return WindowClosed()
    return None


def can_rate(user, engagement, now=None):
    return rating_refusal(user, engagement, now) is None


def rate(actor, engagement, *, score, text, now=None):
    if not permissions.is_engagement_client(actor, engagement):
        raise PermissionDenied(_l("Only the enterprise that contracted this engagement can rate it."))
    db.session.refresh(engagement, with_for_update=True)
    reason = rating_refusal(actor, engagement, now)
    if reason is not None:
        raise reason
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise RatingError(_l("Choose from 1 to 5 stars."), field="score")
    rating = Rating(
        engagement_id=engagement.id,
        provider_id=engagement.provider_id,
        enterprise_id=engagement.enterprise_id,
        score=score,
        text=_text(text, "text"),
    )
    db.session.add(rating)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:  # rated in another tab at the same moment
        raise AlreadyRated() from None
    _adjust(engagement.provider_id, 1, score)
    return rating


def reply(actor, rating, text):
    engagement = rating.engagement
    if not permissions.is_engagement_agency(actor, engagement):
        raise PermissionDenied(_l("Only the agency that was rated can reply."))
    db.session.refresh(rating, with_for_update=True)
    if rating.replied_at is not None:
        raise AlreadyReplied()
    rating.reply, rating.replied_at = _text(text, "reply", required=True), utcnow()
    db.session.flush()


def hide(actor, rating, reason):
    if not permissions.can_moderate_rating(actor, rating.engagement):
        raise PermissionDenied()
    db.session.refresh(rating, with_for_update=True)
    if rating.hidden_at is not None:
        raise AlreadyHidden()
    rating.hidden_reason = _text(reason, "reason", required=True)
    rating.hidden_at, rating.hidden_by_id = utcnow(), getattr(actor, "id", None)
    db.session.flush()
    _adjust(rating.provider_id, -1, -rating.score)


def latest_for_provider(provider_id, limit=20):
    """The agency's latest ratings for its public profile (hidden ones say why): rows of what the profile
    shows (the enterprise's name, the category's id), not the ratings, engagements and enterprises
    themselves, which took a third of the profile's time."""
    return db.session.execute(
        sa.select(
            Rating.id,
            Rating.score,
            Rating.text,
            Rating.created_at,
            Rating.reply,
            Rating.replied_at,
            Rating.hidden_at,
            Rating.hidden_reason,
            Enterprise.name.label("enterprise_name"),
            Engagement.category_id,
        )
        .join(Enterprise, Enterprise.id == Rating.enterprise_id)
        .join(Engagement, Engagement.id == Rating.engagement_id)
        .where(Rating.provider_id == provider_id)
        .order_by(Rating.created_at.desc(), Rating.id.desc())
        .limit(limit)
    ).all()


def distribution(provider_id):
    """{score: count} of visible ratings."""
    return dict(
        db.session.execute(
            sa.select(Rating.score, sa.func.count())
            .where(Rating.provider_id == provider_id, Rating.hidden_at.is_(None))
            .group_by(Rating.score)
        ).all()
    )


def recompute_totals(provider_ids=None):
    """Set agencies' rating totals from their visible ratings (after bulk loads and repairs); the
    search index picks up the new averages after the commit."""
    visible = sa.and_(Rating.provider_id == Provider.id, Rating.hidden_at.is_(None))
    count = sa.select(sa.func.count(Rating.id)).where(visible).scalar_subquery()
    total = sa.select(sa.func.coalesce(sa.func.sum(Rating.score), 0)).where(visible).scalar_subquery()
    statement = sa.update(Provider).values(rating_count=count, rating_total=total, updated_at=utcnow())
    if provider_ids is not None:
        statement = statement.where(Provider.id.in_(provider_ids))
    else:
        provider_ids = db.session.scalars(sa.select(Provider.id)).all()
    db.session.execute(statement.execution_options(synchronize_session=False))
    db.session.expire_all()
    indexing.mark_changed(provider_ids)


def _rated_agencies(session, enterprise):
    """The agencies whose profiles show this enterprise's name beside its ratings."""
    return session.scalars(sa.select(Rating.provider_id).where(Rating.enterprise_id == enterprise.id).distinct()).all()


public.shown_on_profiles(Enterprise, _rated_agencies)


@signals.profile_shown.connect
def _profile_ratings(provider):
    """The agency's public profile lists its latest ratings."""
    return {"ratings": latest_for_provider(provider.id)}
