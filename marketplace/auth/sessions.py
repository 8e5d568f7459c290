"""Logins the server knows. Each login is recorded with the hash of a random token that its session
and remember-me cookies carry; logging out ends the record, so a copied cookie stops working at once
instead of for up to 14 days. The user's session version still ends every login together (password
change, deactivation). A login without "remember me" ends after PERMANENT_SESSION_LIFETIME, one with
it after REMEMBER_COOKIE_DURATION, whatever the cookies say."""

import hashlib
import secrets

import sqlalchemy as sa
from flask import current_app
from flask_login import login_user, logout_user

from marketplace.auth.models import LoginSession, User
from marketplace.common.time import utcnow
from marketplace.extensions import db


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(user, remember=False):
    """Record a new login of ``user``; returns the identifier its cookies carry."""
    token = secrets.token_urlsafe(24)
    db.session.add(LoginSession(user_id=user.id, token_sha256=_digest(token), remember=remember, created_at=utcnow()))
    db.session.flush()
    user.login_id = f"{user.id}:{user.session_version}:{token}"
    return user.login_id


def log_in(user, remember=False):
    """Record the login and give this browser its cookies."""
    open_session(user, remember)
    login_user(user, remember=remember)


def log_out(user):
    """End this browser's login everywhere its cookies were copied, then clear them here."""
    token = _parse(user.login_id)[2] if user.login_id else None
    if token:
        db.session.execute(
            sa.update(LoginSession)
            .where(LoginSession.token_sha256 == _digest(token), LoginSession.ended_at.is_(None))
            .values(ended_at=utcnow(), ended_reason="logout")
        )
    logout_user()


def _parse(login_id):
    try:
        user_id, version, token = str(login_id).split(":", 2)
        return int(user_id), int(version), token
    except ValueError:
        return None


def load_user(login_id):
    """Flask-Login's loader: the user of a login that has not ended, expired or been superseded."""
    parsed = _parse(login_id)
    if parsed is None or not 0 < parsed[0] < 2**31 or not parsed[2]:
        return None
    user_id, version, token = parsed
    row = db.session.execute(
        sa.select(User, LoginSession)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(User.id == user_id, LoginSession.token_sha256 == _digest(token), LoginSession.ended_at.is_(None))
    ).first()
    if row is None:
        return None
    user, login = row
    lifetime = current_app.config["REMEMBER_COOKIE_DURATION" if login.remember else "PERMANENT_SESSION_LIFETIME"]
    if not user.active or user.session_version != version or utcnow() - login.created_at > lifetime:
        return None
    user.login_id = login_id
    return user
