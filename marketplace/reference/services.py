"""Reference data rules: counties and service categories are data that admins edit, never delete.

Only administrators reach these services (the admin pages' ``can_manage_reference_data`` guard,
the CLI and seeding); the audit log records who made each change.
"""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from marketplace.common.errors import DomainError
from marketplace.extensions import db
from marketplace.reference.models import ENGAGEMENT_KINDS, County, ServiceCategory


class DuplicateCode(DomainError):
    message = _l("This code is already in use.")
    field = "code"


class DuplicateName(DomainError):
    message = _l("This name is already in use.")
    field = "name_zh"


class InvalidParent(DomainError):
    message = _l("Choose a top-level group as the parent.")
    field = "parent_id"


class ValueRequired(DomainError):
    message = _l("This field is required.")


def _clean(values):
    """Strip text values; code and both names must not end up empty."""
    values = {key: value.strip() if isinstance(value, str) else value for key, value in values.items()}
    for key in ("code", "name_zh", "name_en"):
        if key in values and not values[key]:
            raise ValueRequired(field=key)
    return values


def list_counties(active_only=False):
    query = sa.select(County).order_by(County.sort_order, County.id)
    if active_only:
        query = query.where(County.active)
    return db.session.scalars(query).all()


def save_county(county, **values):
    """Create (``county=None``) or update a county."""
    values = _clean(values)
    clash = sa.select(County.id).where(County.id != (county.id if county else -1))
    if db.session.scalar(clash.where(County.code == values["code"])):
        raise DuplicateCode()
    if db.session.scalar(clash.where(County.name_zh == values["name_zh"])):
        raise DuplicateName()
    if county is None:
        county = County()
        db.session.add(county)
    for key, value in values.items():
        setattr(county, key, value)
    db.session.flush()
    return county


def category_tree(active_only=False):
    """Top-level groups with their children loaded, in display order."""
    query = (
        sa.select(ServiceCategory)
        .where(ServiceCategory.parent_id.is_(None))
        .order_by(ServiceCategory.sort_order, ServiceCategory.id)
        .options(selectinload(ServiceCategory.children))
    )
    if active_only:
        query = query.where(ServiceCategory.active)
    return db.session.scalars(query).all()


def save_category(category, **values):
    """Create (``category=None``) or update a service category; two levels only."""
    values = _clean(values)
    if values.get("engagement_kind", "other") not in ENGAGEMENT_KINDS:
        raise DomainError(_l("Choose a kind of work from the list."), field="engagement_kind")
    parent_id = values.get("parent_id")
    if parent_id is not None:
        parent = db.session.get(ServiceCategory, parent_id)
        if parent is None or parent.parent_id is not None or (category and parent.id == category.id):
            raise InvalidParent()
        if category is not None and category.children:
            raise InvalidParent(_l("A group that has categories under it cannot itself be moved under a group."))
    clash = sa.select(ServiceCategory.id).where(ServiceCategory.id != (category.id if category else -1))
    if db.session.scalar(clash.where(ServiceCategory.code == values["code"])):
        raise DuplicateCode()
    if category is None:
        category = ServiceCategory()
        db.session.add(category)
    for key, value in values.items():
        setattr(category, key, value)
    db.session.flush()
    return category
