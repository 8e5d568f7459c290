"""User accounts."""

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.auth.roles import Role
from marketplace.common.models import Audited, UTCDateTime, Versioned, enum_type
from marketplace.common.time import utcnow
from marketplace.extensions import db
from marketplace.reference.models import County


class User(Audited, Versioned, UserMixin, db.Model):
    """A login. Regulators and admins are made by admins; agencies and enterprises register."""

    __tablename__ = "users"
    __audit_mask__ = frozenset({"password_hash"})
    __audit_ignore__ = frozenset({"last_login_at"})  # logins are audited as events of their own

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    display_name: Mapped[str] = mapped_column(sa.String(100))
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    county_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counties.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on deactivation and password change: every session and remember-me cookie
    # carrying the old value stops working.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    county: Mapped[County | None] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint(
            "role <> 'county_regulator' OR county_id IS NOT NULL",
            name="county_regulator_has_county",
        ),
    )

    # "<id>:<session_version>:<token>" of the login this object was loaded for (auth.sessions)
    login_id = None

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        # What the session and the remember-me cookie carry: the login recorded by auth.sessions.
        if self.login_id is None:
            raise RuntimeError("log in through marketplace.auth.sessions.log_in, which records the login")
        return self.login_id

    def __repr__(self):
        return f"<User {self.email} {self.role.value}>"


class LoginSession(db.Model):
    """One login, known to the server: its cookies (session and remember-me) carry a random token
    whose hash is kept here, so logging out ends every copy of them, and a password change or a
    deactivation (the user's session version) ends them all."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(sa.String(20))  # logout


class Registration(db.Model):
    """A self-registration waiting for its e-mail address to be confirmed: the account is created
    when the link mailed to the address is followed (once, within a day). Until then nothing is
    registered, and the page answered the same as for an address that already has an account."""

    __tablename__ = "registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    role: Mapped[Role] = mapped_column(enum_type(Role, "registration_role"))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
