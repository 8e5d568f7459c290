"""The roles an account can have."""

import enum

from flask_babel import lazy_gettext as _l


class Role(str, enum.Enum):
    AGENCY = "agency"
    ENTERPRISE = "enterprise"
    COUNTY_REGULATOR = "county_regulator"
    CITY_REGULATOR = "city_regulator"
    ADMIN = "admin"

    @property
    def label(self):
        return ROLE_LABELS[self]

    @property
    def self_registered(self):
        """Agencies and enterprises register themselves; the other roles are made by admins."""
        return self in SELF_REGISTERED_ROLES

    @property
    def needs_county(self):
        return self is Role.COUNTY_REGULATOR


ROLE_LABELS = {
    Role.AGENCY: _l("Service agency"),
    Role.ENTERPRISE: _l("Enterprise"),
    Role.COUNTY_REGULATOR: _l("County regulator"),
    Role.CITY_REGULATOR: _l("City regulator"),
    Role.ADMIN: _l("Administrator"),
}

SELF_REGISTERED_ROLES = (Role.AGENCY, Role.ENTERPRISE)
REGULATOR_ROLES = (Role.COUNTY_REGULATOR, Role.CITY_REGULATOR)
