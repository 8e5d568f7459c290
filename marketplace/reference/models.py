"""Counties and service categories: reference data that administrators edit and never delete."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.common.models import Audited, BilingualNameMixin, Versioned
from marketplace.extensions import db


class County(Audited, Versioned, BilingualNameMixin, db.Model):
    """A county-level division (县、市、区) or city-administered zone; jurisdiction of a county bureau."""

    __tablename__ = "counties"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(50), unique=True)
    name_en: Mapped[str] = mapped_column(sa.String(100))
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self):
        return f"<County {self.code} {self.name_zh}>"


ASSESSMENT, ADVISORY, OTHER_KIND = "assessment", "advisory", "other"
ENGAGEMENT_KINDS = {
    "assessment": _l("Assessment (evaluation or testing): on-site notice required"),
    "advisory": _l("Advisory (consulting or hazard investigation)"),
    "other": _l("Other service"),
}


class ServiceCategory(Audited, Versioned, BilingualNameMixin, db.Model):
    """A service category; top-level groups have no parent, their children are what agencies offer."""

    __tablename__ = "service_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_categories.id"))
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # What an engagement in this category is (see ENGAGEMENT_KINDS): assessments need an on-site
    # notice to the county bureau, and advising and assessing one enterprise is a conflict.
    engagement_kind: Mapped[str] = mapped_column(sa.String(20), default="other", server_default="other")

    parent: Mapped["ServiceCategory | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["ServiceCategory"]] = relationship(
        back_populates="parent", order_by="ServiceCategory.sort_order"
    )

    def __repr__(self):
        return f"<ServiceCategory {self.code}>"
