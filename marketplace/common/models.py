"""Reference data (counties, service categories) and the append-only audit log."""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.common.time import utcnow
from marketplace.extensions import db


class Audited:
    """Marks a model whose inserts, updates and deletes are written to the audit log."""

    __audit_mask__: frozenset = frozenset()  # recorded as "******"
    __audit_ignore__: frozenset = frozenset()  # not recorded at all


class BilingualNameMixin:
    name_zh: Mapped[str]
    name_en: Mapped[str]

    @property
    def name(self):
        """The name in the current UI language."""
        from marketplace.i18n import current_language

        if self.name_en and current_language() == "en":
            return self.name_en
        return self.name_zh


class County(Audited, BilingualNameMixin, db.Model):
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


ENGAGEMENT_KINDS = {
    "assessment": _l("Assessment (evaluation or testing): on-site notice required"),
    "advisory": _l("Advisory (consulting or hazard investigation)"),
    "other": _l("Other service"),
}


class ServiceCategory(Audited, BilingualNameMixin, db.Model):
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

    parent: Mapped["ServiceCategory | None"] = relationship(
        remote_side=[id], back_populates="children"
    )
    children: Mapped[list["ServiceCategory"]] = relationship(
        back_populates="parent", order_by="ServiceCategory.sort_order"
    )

    def __repr__(self):
        return f"<ServiceCategory {self.code}>"


class AuditLog(db.Model):
    """One state change: who, when, which record, and what changed. Rows are never updated or deleted."""

    __tablename__ = "audit_log"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    actor_label: Mapped[str | None] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(40))
    object_type: Mapped[str] = mapped_column(sa.String(60))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    changes: Mapped[dict | None] = mapped_column(sa.JSON)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))

    actor = relationship("User", lazy="joined")

    __table_args__ = (sa.Index("ix_audit_log_object", "object_type", "object_id"),)


class StoredFile(db.Model):
    """An uploaded file, kept under instance/uploads (outside the web root), served only through
    the permission check of the record that refers to it. Files are never overwritten."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(sa.String(200), unique=True)  # relative to the upload folder
    original_name: Mapped[str] = mapped_column(sa.String(255))
    mime_type: Mapped[str] = mapped_column(sa.String(50))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
