"""Account rules: registration, creation by admins, login, password change, deactivation.

Services flush and raise ``DomainError``; the caller commits (``common.transaction``).
"""

import hashlib

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer

from marketplace.auth import permissions
from marketplace.auth.models import User
from marketplace.auth.passwords import hash_password, password_problems, verify_password
from marketplace.auth.permissions import SYSTEM
from marketplace.auth.roles import Role
from marketplace.common import audit
from marketplace.common.errors import DomainError, PermissionDenied
from marketplace.common.time import utcnow
from marketplace.extensions import db
from marketplace.reference.models import County

# Verified when the e-mail is unknown, so a wrong address takes as long as a wrong password.
_DUMMY_HASH = None


class EmailAlreadyRegistered(DomainError):
    message = _l("An account with this e-mail address already exists. Log in, or use another address.")
    field = "email"


class WeakPassword(DomainError):
    field = "password"

    def __init__(self, problems, field="password"):
        self.problems = problems
        super().__init__(" ".join(str(p) for p in problems), field=field)


class CountyRequired(DomainError):
    message = _l("A county regulator must be bound to a county.")
    field = "county_id"


class UnknownCounty(DomainError):
    message = _l("Choose a county from the list.")
    field = "county_id"


class RoleNotSelfRegistered(DomainError):
    message = _l("Only agencies and enterprises can register themselves.")
    field = "role"


class InvalidCredentials(DomainError):
    message = _l("The e-mail address or password is wrong.")
    field = "password"
    keep_writes = True  # the audit entry of the failed attempt stands


class AccountInactive(DomainError):
    message = _l("This account has been deactivated. Contact the bureau if you think this is a mistake.")
    field = "email"
    keep_writes = True


class WrongCurrentPassword(DomainError):
    message = _l("Your current password is wrong.")
    field = "current_password"


def normalise_email(email):
    """E-mail addresses are compared case-insensitively and without surrounding spaces."""
    return (email or "").strip().lower()


def get_user_by_email(email):
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


class NameRequired(DomainError):
    message = _l("This field is required.")
    field = "display_name"


def check_new_account(email, password, role, county_id, display_name, *, email_free=True):
    """What a new account must satisfy; ``email_free=False`` leaves out whether the address is taken
    (self-registration must not tell, see ``auth.registration``)."""
    if not (display_name or "").strip():
        raise NameRequired()
    if email_free and get_user_by_email(email) is not None:
        raise EmailAlreadyRegistered()
    if role.needs_county and county_id is None:
        raise CountyRequired()
    if county_id is not None and db.session.get(County, county_id) is None:
        raise UnknownCounty()
    problems = password_problems(password, email)
    if problems:
        raise WeakPassword(problems)


def create_user(actor, *, email, password, display_name, role, county_id=None, phone=None, password_hash=None):
    """An admin (or the CLI, with ``actor=SYSTEM``) creates an account of any role. ``password_hash``,
    for the system only, is ``password`` already hashed (the demo accounts share one computation)."""
    if actor is not SYSTEM and (password_hash is not None or not permissions.can_manage_users(actor)):
        raise PermissionDenied()
    role = Role(role)
    if not role.needs_county:
        county_id = county_id or None
    check_new_account(email, password, role, county_id, display_name)
    user = User(
        email=normalise_email(email),
        password_hash=password_hash or hash_password(password),
        display_name=display_name.strip(),
        phone=(phone or "").strip() or None,
        role=role,
        county_id=county_id,
    )
    db.session.add(user)
    db.session.flush()
    return user


def search_users(*, role="", q="", state=""):
    """The admin's account list: newest first, filtered by role, e-mail or name, and status."""
    query = sa.select(User).order_by(User.created_at.desc(), User.id.desc())
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    q = (q or "").strip()[:100]
    if q:
        query = query.where(
            sa.or_(User.email.contains(q.lower(), autoescape=True), User.display_name.contains(q, autoescape=True))
        )
    if state in ("active", "inactive"):
        query = query.where(User.active.is_(state == "active"))
    return query


def authenticate(email, password):
    """The user these credentials belong to; failed attempts are audited."""
    global _DUMMY_HASH
    user = get_user_by_email(email)
    if user is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password("dummy-password-0")
        verify_password(_DUMMY_HASH, password)
        audit.record("login_failed", object_type="User", changes={"email": [None, normalise_email(email)[:254]]})
        raise InvalidCredentials()
    if not verify_password(user.password_hash, password):
        audit.record("login_failed", user, actor=None)
        raise InvalidCredentials()
    if not user.active:
        audit.record("login_refused_inactive", user, actor=None)
        raise AccountInactive()
    user.last_login_at = utcnow()
    audit.record("login", user, actor=user)
    return user


def change_password(user, *, current_password, new_password):
    """Change a user's own password; every other session of theirs ends."""
    if not verify_password(user.password_hash, current_password):
        raise WrongCurrentPassword()
    problems = password_problems(new_password, user.email)
    if problems:
        raise WeakPassword(problems, field="new_password")
    user.password_hash = hash_password(new_password)
    user.session_version += 1
    db.session.flush()
    return user


def set_active(actor, user, active):
    """Deactivate or reactivate an account; deactivation ends all its sessions at once."""
    if actor is not SYSTEM and not permissions.can_manage_users(actor):
        raise PermissionDenied()
    if actor.id == user.id and not active:
        raise DomainError(_l("You cannot deactivate your own account."))
    if user.active == active:
        return user
    user.active = active
    user.deactivated_at = None if active else utcnow()
    user.session_version += 1
    db.session.flush()
    return user


def start_endpoint(user):
    """Where each role lands after logging in."""
    if permissions.is_admin(user):
        return "admin.users"
    if permissions.is_agency(user):
        return "providers.mine"
    if permissions.is_enterprise(user) or permissions.is_regulator(user):
        return "engagements.dashboard"
    return "auth.account"


# --- accounts kept by administrators ------------------------------------------------------------

STAFF_ROLES = (Role.COUNTY_REGULATOR, Role.CITY_REGULATOR, Role.ADMIN)


class RoleNotChangeable(DomainError):
    message = _l(
        "An agency's or enterprise's account keeps its role; regulators' and administrators' accounts "
        "can move between those roles."
    )
    field = "role"


def update_user(actor, user, *, email, display_name, phone, role, county_id):
    """An administrator corrects an account: name, e-mail, phone, and for the bureau's staff their role
    and county. Changing the e-mail or the role ends the account's sessions."""
    if not permissions.can_manage_users(actor):
        raise PermissionDenied()
    role = Role(role)
    if role is not user.role and (role not in STAFF_ROLES or user.role not in STAFF_ROLES):
        raise RoleNotChangeable()
    if actor.id == user.id and role is not user.role:
        raise RoleNotChangeable(_l("You cannot change your own role."))
    if not (display_name or "").strip():
        raise NameRequired()
    email = normalise_email(email)
    clash = get_user_by_email(email)
    if clash is not None and clash.id != user.id:
        raise EmailAlreadyRegistered(_l("Another account already uses this e-mail address."))
    county_id = county_id if role.needs_county else None
    if role.needs_county and county_id is None:
        raise CountyRequired()
    if county_id is not None and db.session.get(County, county_id) is None:
        raise UnknownCounty()
    if email != user.email or role is not user.role:
        user.session_version += 1
    user.email, user.display_name, user.phone = email, display_name.strip(), (phone or "").strip() or None
    user.role, user.county_id = role, county_id
    db.session.flush()
    return user


def set_password(actor, user, new_password):
    """An administrator gives an account a new password (to hand over in person); every session of
    the account ends."""
    if not permissions.can_manage_users(actor):
        raise PermissionDenied()
    problems = password_problems(new_password, user.email)
    if problems:
        raise WeakPassword(problems, field="password")
    user.password_hash = hash_password(new_password)
    user.session_version += 1
    db.session.flush()
    return user


# --- forgotten passwords --------------------------------------------------------------------------

RESET_MAX_AGE = 3600  # seconds a reset link stays valid


class ResetLinkInvalid(DomainError):
    message = _l("This link to reset a password is invalid, has expired or has been used. Ask for a new one.")


def _reset_serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _reset_fingerprint(user):
    """Changes whenever the password or the sessions change: a link works once, for the password it was made for."""
    return hashlib.sha256(f"{user.password_hash}:{user.session_version}".encode()).hexdigest()[:16]


def password_reset_token(user):
    return _reset_serializer().dumps({"u": user.id, "f": _reset_fingerprint(user)})


def user_for_reset_token(token):
    """The account a reset link was made for, or ``ResetLinkInvalid``."""
    try:
        data = _reset_serializer().loads(token, max_age=RESET_MAX_AGE)
        user = db.session.get(User, int(data["u"]))
    except (BadSignature, KeyError, TypeError, ValueError, OverflowError):
        raise ResetLinkInvalid() from None
    if user is None or not user.active or data.get("f") != _reset_fingerprint(user):
        raise ResetLinkInvalid()
    return user


def request_password_reset(email):
    """The account with this e-mail address (active), to send a reset link to, or None. The caller
    answers the same way either way, so the page never says which addresses have accounts."""
    user = get_user_by_email(email)
    if user is None or not user.active:
        audit.record(
            "password_reset_unknown", object_type="User", changes={"email": [None, normalise_email(email)[:254]]}
        )
        return None
    audit.record("password_reset_requested", user, actor=None)
    return user


def reset_password(token, new_password):
    """Set a new password through a reset link; the link then stops working and other sessions end."""
    user = user_for_reset_token(token)
    problems = password_problems(new_password, user.email)
    if problems:
        raise WeakPassword(problems, field="password")
    user.password_hash = hash_password(new_password)
    user.session_version += 1
    audit.record("password_reset", user, actor=user)
    db.session.flush()
    return user
