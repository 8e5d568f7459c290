"""What an enterprise is told before it chooses an agency, and what it cannot choose: a suspended or
unlisted agency, a category the agency does not declare. Warnings must be confirmed, at request
time and again at contracting when new ones appeared."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.common.errors import DomainError
from marketplace.common.templating import format_date
from marketplace.common.time import local_today
from marketplace.engagements import queries
from marketplace.extensions import db
from marketplace.pledges import services as pledges
from marketplace.providers.models import ProviderStatus, Qualification, qualification_categories
from marketplace.reference.models import ServiceCategory

WARNINGS = {
    "pledge_outdated": _l("This agency has not signed the integrity pledge in force (outdated since %(date)s)."),
    "pledge_resign": _l("This agency has been asked to sign the new integrity pledge by %(date)s."),
    "qualification_expired": _l("The agency's qualification for this category has expired (%(certs)s)."),
    "conflict": _l(
        "Within the last 12 months this agency advised your enterprise and would now assess it, or "
        "the reverse (%(refs)s): it would be both player and referee, and the engagement is flagged "
        "to the regulator."
    ),
}

WARNING_NAMES = {
    "pledge_outdated": _l("pledge outdated"),
    "pledge_resign": _l("new pledge to sign"),
    "qualification_expired": _l("qualification expired"),
    "conflict": _l("advised and assessed"),
}


class NotChoosable(DomainError):
    message = _l("This agency is suspended by the regulator and cannot be chosen.")
    field = "provider"


class CategoryNotDeclared(DomainError):
    message = _l("This agency does not declare this service category: choose one it offers.")
    field = "category_id"


class WarningsNotConfirmed(DomainError):
    message = _l("Read the warnings about this agency and confirm that you still choose it.")
    field = "confirm_warnings"


def check_listed(provider):
    """Only a published agency can be chosen: a suspended one says why."""
    if provider.status is not ProviderStatus.PUBLISHED:
        if provider.status is ProviderStatus.SUSPENDED:
            raise NotChoosable(
                _l(
                    "This agency is suspended by the regulator (%(reason)s) and cannot be chosen.",
                    reason=provider.status_reason or "—",
                )
            )
        raise NotChoosable(_l("This agency is not listed and cannot be chosen."))


def check_choosable(provider, category_id):
    """Refuse agencies that cannot be chosen and categories they do not declare."""
    check_listed(provider)
    if category_id not in {c.id for c in provider.categories}:
        raise CategoryNotDeclared()


def choice_warnings(provider, category_id, *, enterprise=None, engagement=None, today=None):
    """{code: message} an enterprise must confirm before choosing ``provider`` for ``category_id``:
    an outdated pledge; a qualification covering the category that has expired with no valid one
    beside it; and, for ``enterprise``, work of the other kind (advising against assessing) that the
    agency did for it within 12 months."""
    warnings = {}
    state, since = pledges.pledge_state(provider)
    if state in ("outdated", "none"):
        warnings["pledge_outdated"] = _l(WARNINGS["pledge_outdated"], date=format_date(since) if since else "—")
    elif state == "resign":
        warnings["pledge_resign"] = _l(WARNINGS["pledge_resign"], date=format_date(since))
    today = today or local_today()
    covering = db.session.execute(
        sa.select(Qualification.cert_number, Qualification.valid_to)
        .join(qualification_categories, qualification_categories.c.qualification_id == Qualification.id)
        .where(
            Qualification.provider_id == provider.id,
            Qualification.deleted_at.is_(None),
            qualification_categories.c.category_id == category_id,
        )
    ).all()
    if covering and all(valid_to < today for _, valid_to in covering):
        warnings["qualification_expired"] = _l(
            WARNINGS["qualification_expired"], certs="、".join(number for number, _ in covering)
        )
    if enterprise is not None:
        kind = db.session.scalar(sa.select(ServiceCategory.engagement_kind).where(ServiceCategory.id == category_id))
        others = queries.conflicting_engagements(
            provider.id, enterprise.id, kind, exclude_id=engagement.id if engagement is not None else None
        )
        if others:
            warnings["conflict"] = _l(WARNINGS["conflict"], refs="、".join(e.reference for e in others))
    return warnings
