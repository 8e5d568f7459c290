"""Model pieces every domain uses (audit marker, bilingual names, UTC time, enums), the
append-only audit log and stored files."""

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from marketplace.common.i18n import current_language
from marketplace.common.time import utcnow
from marketplace.extensions import db


class UTCDateTime(sa.types.TypeDecorator):
    """A point in time, stored as UTC and always read back timezone-aware (SQLite keeps no zone,
    PostgreSQL's ``timestamptz`` answers in the session's zone): code never sees a naive datetime."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use an aware one (common.time.utcnow())")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def enum_type(cls, name):
    """A Python enum stored as its values in a checked VARCHAR (portable; no native ENUM to migrate)."""
    return sa.Enum(
        cls,
        native_enum=False,
        length=20,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
        create_constraint=True,
        name=name,
    )


class Audited:
    """Marks a model whose inserts, updates and deletes are written to the audit log."""

    __audit_mask__: frozenset = frozenset()  # recorded as "******"
    __audit_ignore__: frozenset = frozenset()  # not recorded at all


class Versioned:
    """A record people edit through forms. Its ``version`` goes up with every update, and an update
    made from a version another request has changed meanwhile writes nothing (SQLAlchemy's
    ``version_id_col``: ``StaleDataError``); common.editing refuses a form opened on an earlier version."""

    version: Mapped[int] = mapped_column(default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.version}


class BilingualNameMixin:
    name_zh: Mapped[str]
    name_en: Mapped[str]

    @property
    def name(self):
        """The name in the current UI language."""
        if self.name_en and current_language() == "en":
            return self.name_en
        return self.name_zh


class AuditLog(db.Model):
    """One state change: who, when, which record, and what changed. Rows are never updated or deleted."""

    __tablename__ = "audit_log"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
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
    __chained__ = True  # its SHA-256 joins the hash chain (common.chain): a swapped file is evident

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(sa.String(200), unique=True)  # relative to the upload folder
    original_name: Mapped[str] = mapped_column(sa.String(255))
    mime_type: Mapped[str] = mapped_column(sa.String(50))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
