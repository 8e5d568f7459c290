"""Enterprises: the companies that hire agencies (one account per unified social credit code)."""

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.common.models import Audited, UTCDateTime, Versioned, enum_type
from marketplace.common.time import utcnow
from marketplace.extensions import db
from marketplace.reference.models import County


class HazardClass(str, enum.Enum):
    """The enterprise's main hazard, as the bureau's supervision classes them (data for the form)."""

    HAZARDOUS_CHEMICALS = "hazardous_chemicals"
    METALLURGY = "metallurgy"
    DUST_EXPLOSION = "dust_explosion"
    LIMITED_SPACE = "limited_space"
    FIREWORKS = "fireworks"
    MINING = "mining"
    NONE = "none"

    @property
    def label(self):
        return HAZARD_LABELS[self]


HAZARD_LABELS = {
    HazardClass.HAZARDOUS_CHEMICALS: _l("Hazardous chemicals"),
    HazardClass.METALLURGY: _l("Metal smelting"),
    HazardClass.DUST_EXPLOSION: _l("Combustible dust"),
    HazardClass.LIMITED_SPACE: _l("Confined spaces"),
    HazardClass.FIREWORKS: _l("Fireworks"),
    HazardClass.MINING: _l("Mining"),
    HazardClass.NONE: _l("None of these"),
}


class Enterprise(Audited, Versioned, db.Model):
    """An enterprise that hires agencies; one account per unified social credit code."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    uscc: Mapped[str] = mapped_column(sa.String(18), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id"), index=True)
    address: Mapped[str] = mapped_column(sa.String(300))
    industry: Mapped[str] = mapped_column(sa.String(100))
    hazard_class: Mapped[HazardClass] = mapped_column(enum_type(HazardClass, "hazard_class"), default=HazardClass.NONE)
    contact_person: Mapped[str] = mapped_column(sa.String(50))
    phone: Mapped[str] = mapped_column(sa.String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    account = relationship("User")
    county: Mapped[County] = relationship(lazy="joined")

    def __repr__(self):
        return f"<Enterprise {self.id} {self.name}>"
