"""Enterprise profiles: one account per unified social credit code. Services flush; the caller commits."""

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.auth import permissions
from marketplace.common.errors import DomainError, PermissionDenied
from marketplace.common.identifiers import InvalidUSCC, clean_uscc
from marketplace.common.time import utcnow
from marketplace.enterprises.models import Enterprise, HazardClass
from marketplace.extensions import db
from marketplace.reference.models import County


class DuplicateEnterpriseUSCC(DomainError):
    field = "uscc"

    def __init__(self):
        super().__init__(
            _l(
                "An enterprise with this credit code already has an account. If it is yours, ask the "
                "bureau (%(phone)s) to help you recover it.",
                phone=current_app.config["OPERATOR_CONTACT"],
            )
        )


class ProfileRequired(DomainError):
    message = _l("Fill in your enterprise's profile first: agencies need to know who is asking.")


def own_enterprise(user):
    """The enterprise profile of an enterprise account, or None before it is filled in."""
    return db.session.scalar(sa.select(Enterprise).where(Enterprise.account_id == user.id))


def require_enterprise(user):
    """The actor's own profile; refused until it is filled in."""
    enterprise = own_enterprise(user) if permissions.is_enterprise(user) else None
    if enterprise is None:
        raise ProfileRequired()
    return enterprise


def save_profile(actor, enterprise, **values):
    """Create (``enterprise=None``) or update the actor's own profile; one account per credit code."""
    if not permissions.can_keep_enterprise_profile(actor) or (
        enterprise is not None and enterprise.account_id != actor.id
    ):
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
