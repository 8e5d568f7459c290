"""Self-registration of agencies and enterprises, confirmed by mail; no approval step.

The registration page answers the same way whether or not the address already has an account, so
no one can learn from it which addresses are registered: a new address gets a link that creates the
account (once, within ``REGISTRATION_MAX_AGE``); the owner of a registered address is told by mail
that someone tried, with the ways back in. Both take the same work (the password is hashed either way).

Services flush and raise ``DomainError``; the caller commits (``common.transaction``).
"""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.auth.models import Registration, User
from marketplace.auth.passwords import hash_password
from marketplace.auth.roles import Role
from marketplace.auth.services import (
    RoleNotSelfRegistered,
    check_new_account,
    get_user_by_email,
    normalise_email,
)
from marketplace.common import audit
from marketplace.common.actors import acting_as
from marketplace.common.errors import DomainError
from marketplace.common.time import utcnow
from marketplace.extensions import db

REGISTRATION_MAX_AGE = timedelta(hours=24)


class RegistrationLinkInvalid(DomainError):
    message = _l("This registration link is invalid, has expired or has been used. Register again.")


class RegisteredMeanwhile(DomainError):
    message = _l("An account with this e-mail address was created in the meantime. Log in, or reset its password.")


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def request_registration(*, email, password, display_name, role, phone=None):
    """Check what was typed (all but whether the address is taken). Returns ``(token, None)`` for a
    new address, the link's token to mail to it, or ``(None, user)`` when an account has it already."""
    role = Role(role)
    if not role.self_registered:
        raise RoleNotSelfRegistered()
    check_new_account(email, password, role, None, display_name, email_free=False)
    password_hash = hash_password(password)  # for a registered address too: both answers take as long
    existing = get_user_by_email(email)
    if existing is not None:
        audit.record("registration_existing", existing, actor=None)
        return None, existing
    token = secrets.token_urlsafe(32)
    db.session.add(
        Registration(
            email=normalise_email(email),
            display_name=display_name.strip(),
            phone=(phone or "").strip() or None,
            role=role,
            password_hash=password_hash,
            token_sha256=_digest(token),
            created_at=utcnow(),
        )
    )
    db.session.flush()
    return token, None


def pending(token, lock=False):
    """The registration a link was mailed for, while it can still be confirmed."""
    query = sa.select(Registration).where(Registration.token_sha256 == _digest(token or ""))
    registration = db.session.scalar(query.with_for_update() if lock else query)
    if (
        registration is None
        or registration.confirmed_at is not None
        or utcnow() - registration.created_at > REGISTRATION_MAX_AGE
    ):
        raise RegistrationLinkInvalid()
    return registration


def confirm_registration(token):
    """Create the account a confirmed registration asked for; the link then stops working."""
    registration = pending(token, lock=True)
    if get_user_by_email(registration.email) is not None:
        raise RegisteredMeanwhile()
    user = User(
        email=registration.email,
        password_hash=registration.password_hash,
        display_name=registration.display_name,
        phone=registration.phone,
        role=registration.role,
    )
    db.session.add(user)
    with acting_as(user):  # the new account is its own creator in the audit log
        db.session.flush()
    registration.confirmed_at, registration.user_id = utcnow(), user.id
    audit.record("login", user, actor=user)
    db.session.flush()
    return user
