"""Enterprise profiles, and what an enterprise is told before it chooses an agency.

Services flush but never commit; views and CLI commands commit.
"""

import sqlalchemy as sa
from flask import abort
from flask_babel import lazy_gettext as _l

from marketplace.auth import permissions
from marketplace.common.errors import DomainError, PermissionDenied
from marketplace.common.models import County
from marketplace.common.time import local_today, utcnow
from marketplace.enterprises.models import Enterprise, HazardClass
from marketplace.extensions import db
from marketplace.pledges import services as pledges
from marketplace.providers.models import Provider, ProviderStatus, Qualification, qualification_categories
from marketplace.providers.services import InvalidUSCC, clean_uscc


class DuplicateEnterpriseUSCC(DomainError):
    message = _l("An enterprise with this credit code already has an account. If it is yours, ask the "
                 "bureau (%(phone)s) to help you recover it.")
    field = "uscc"

    def __init__(self):
        from flask import current_app

        super().__init__(_l(self.message, phone=current_app.config["OPERATOR_CONTACT"]))


class ProfileRequired(DomainError):
    message = _l("Fill in your enterprise's profile first: agencies need to know who is asking.")


def own_enterprise(user):
    """The enterprise profile of an enterprise account, or None before it is filled in."""
    return db.session.scalar(sa.select(Enterprise).where(Enterprise.account_id == user.id))


def require_enterprise(user):
    enterprise = own_enterprise(user) if permissions.is_enterprise(user) else None
    if enterprise is None:
        raise ProfileRequired()
    return enterprise


def save_profile(actor, enterprise, **values):
    """Create (``enterprise=None``) or update the actor's own profile; one account per credit code."""
    if not permissions.can_keep_enterprise_profile(actor) or (
            enterprise is not None and enterprise.account_id != actor.id):
        raise PermissionDenied()
    uscc = clean_uscc(values.get("uscc"))
    if not uscc:
        raise InvalidUSCC()
    values["uscc"] = uscc
    clash = sa.select(Enterprise.id).where(Enterprise.uscc == uscc)
    if enterprise is not None:
        clash = clash.where(Enterprise.id != enterprise.id)
    if db.session.scalar(clash) is not None:
        raise DuplicateEnterpriseUSCC()
    county = db.session.get(County, values.get("county_id") or 0)
    if county is None or not county.active:
        raise DomainError(_l("Choose a county from the list."), field="county_id")
    try:
        values["hazard_class"] = HazardClass(values.get("hazard_class"))
    except ValueError:
        raise DomainError(_l("Choose a hazard class from the list."), field="hazard_class") from None
    if enterprise is None:
        enterprise = Enterprise(account_id=actor.id)
        db.session.add(enterprise)
    for key, value in values.items():
        setattr(enterprise, key, value.strip() if isinstance(value, str) else value)
    enterprise.updated_at = utcnow()
    db.session.flush()
    return enterprise


def get_enterprise_or_404(enterprise_id):
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None:
        abort(404)
    return enterprise


# --- before choosing an agency -----------------------------------------------------------------

WARNINGS = {
    "pledge_outdated": _l("This agency has not signed the integrity pledge in force (outdated since %(date)s)."),
    "pledge_resign": _l("This agency has been asked to sign the new integrity pledge by %(date)s."),
    "qualification_expired": _l("The agency's qualification for this category has expired (%(certs)s)."),
}


WARNING_NAMES = {
    "pledge_outdated": _l("pledge outdated"),
    "pledge_resign": _l("new pledge to sign"),
    "qualification_expired": _l("qualification expired"),
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


def check_choosable(provider, category_id):
    """Refuse agencies that cannot be chosen and categories they do not declare."""
    check_listed(provider)
    if category_id not in {c.id for c in provider.categories}:
        raise CategoryNotDeclared()


def check_listed(provider):
    """Only a published agency can be chosen: a suspended one says why."""
    if provider.status is not ProviderStatus.PUBLISHED:
        if provider.status is ProviderStatus.SUSPENDED:
            raise NotChoosable(_l("This agency is suspended by the regulator (%(reason)s) and cannot be chosen.",
                                  reason=provider.status_reason or "—"))
        raise NotChoosable(_l("This agency is not listed and cannot be chosen."))


def choice_warnings(provider, category_id, today=None):
    """{code: message} an enterprise must confirm before choosing ``provider`` for ``category_id``:
    an outdated pledge, and a qualification covering the category that has expired with no valid
    one beside it."""
    from marketplace.common.templating import format_date

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
        .where(Qualification.provider_id == provider.id, Qualification.deleted_at.is_(None),
               qualification_categories.c.category_id == category_id)).all()
    if covering and all(valid_to < today for _, valid_to in covering):
        warnings["qualification_expired"] = _l(WARNINGS["qualification_expired"],
                                               certs="、".join(number for number, _ in covering))
    return warnings


def listed_provider_or_404(provider_id):
    provider = db.session.get(Provider, provider_id)
    if provider is None or provider.status is ProviderStatus.DRAFT:
        abort(404)
    return provider
