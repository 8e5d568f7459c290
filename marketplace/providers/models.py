"""Agencies (providers): the declaration, its parts, its revisions, and the notice batches."""

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_pgettext as _lp
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.common.models import Audited, StoredFile, UTCDateTime, Versioned, enum_type
from marketplace.common.time import utcnow
from marketplace.extensions import db
from marketplace.reference.models import County, ServiceCategory


class ProviderStatus(str, enum.Enum):
    DRAFT = "draft"  # declaring; not public yet
    PUBLISHED = "published"  # has signed the pledge: public, no approval step
    SUSPENDED = "suspended"  # a regulator suspended it, with a public reason
    WITHDRAWN = "withdrawn"  # the agency withdrew itself

    @property
    def label(self):
        return STATUS_LABELS[self]


# In the public directory: published, and suspended ones marked as such (a suspension is public).
LISTED_STATUSES = (ProviderStatus.PUBLISHED, ProviderStatus.SUSPENDED)

STATUS_LABELS = {
    ProviderStatus.DRAFT: _lp("agency status", "Draft"),
    ProviderStatus.PUBLISHED: _lp("agency status", "Published"),
    ProviderStatus.SUSPENDED: _lp("agency status", "Suspended"),
    ProviderStatus.WITHDRAWN: _lp("agency status", "Withdrawn"),
}

provider_categories = sa.Table(
    "provider_categories",
    db.metadata,
    sa.Column("provider_id", sa.ForeignKey("providers.id"), primary_key=True),
    sa.Column("category_id", sa.ForeignKey("service_categories.id"), primary_key=True),
)

provider_regions = sa.Table(
    "provider_regions",
    db.metadata,
    sa.Column("provider_id", sa.ForeignKey("providers.id"), primary_key=True),
    sa.Column("county_id", sa.ForeignKey("counties.id"), primary_key=True),
)


qualification_categories = sa.Table(
    "qualification_categories",
    db.metadata,
    sa.Column("qualification_id", sa.ForeignKey("qualifications.id"), primary_key=True),
    sa.Column("category_id", sa.ForeignKey("service_categories.id"), primary_key=True),
)


class Provider(Audited, Versioned, db.Model):
    """A third-party safety-service agency and its current declaration."""

    __tablename__ = "providers"
    # the search index's and the profile cache's bookkeeping, not the declaration
    __audit_ignore__ = frozenset({"search_seq", "public_seq"})

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    uscc: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="", index=True)
    former_names: Mapped[str] = mapped_column(sa.String(500), default="")
    legal_representative: Mapped[str] = mapped_column(sa.String(50), default="")
    county_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counties.id"), index=True)
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    contact_person: Mapped[str] = mapped_column(sa.String(50), default="")
    phone: Mapped[str] = mapped_column(sa.String(30), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    website: Mapped[str] = mapped_column(sa.String(300), default="")
    founded_on: Mapped[date | None]
    description: Mapped[str] = mapped_column(sa.Text, default="")

    status: Mapped[ProviderStatus] = mapped_column(
        enum_type(ProviderStatus, "provider_status"),
        default=ProviderStatus.DRAFT,
        index=True,
    )
    status_reason: Mapped[str] = mapped_column(sa.Text, default="")  # suspension reason, public
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The pledge version last signed, and when: with the current version they give the
    # pledge status (current / re-sign requested / outdated) without a join.
    pledge_version: Mapped[int | None]
    pledge_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revision_count: Mapped[int] = mapped_column(default=0)
    # Counts the commits that changed this agency's search document; the index keeps the count of the
    # document it holds, so that any index write that was missed is found (search.out_of_step).
    search_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    # Counts the commits that changed anything its public profile shows (providers.public).
    public_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    # Visible ratings of completed engagements (hidden ones excluded), kept by the rating services.
    rating_count: Mapped[int] = mapped_column(default=0, server_default="0")
    rating_total: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    account = relationship("User")
    county: Mapped[County | None] = relationship(lazy="joined")
    categories: Mapped[list[ServiceCategory]] = relationship(
        secondary=provider_categories, order_by="ServiceCategory.sort_order"
    )
    regions: Mapped[list[County]] = relationship(secondary=provider_regions, order_by="County.sort_order")
    qualifications: Mapped[list["Qualification"]] = relationship(
        back_populates="provider",
        order_by="Qualification.id",
        primaryjoin="and_(Qualification.provider_id == Provider.id, Qualification.deleted_at.is_(None))",
        viewonly=True,
    )
    staff: Mapped[list["StaffMember"]] = relationship(
        order_by="StaffMember.id",
        primaryjoin="and_(StaffMember.provider_id == Provider.id, StaffMember.deleted_at.is_(None))",
        viewonly=True,
    )
    fees: Mapped[list["Fee"]] = relationship(
        order_by="Fee.id", primaryjoin="and_(Fee.provider_id == Provider.id, Fee.deleted_at.is_(None))", viewonly=True
    )

    __table_args__ = (sa.CheckConstraint("status = 'draft' OR uscc IS NOT NULL", name="public_provider_has_uscc"),)

    @property
    def rating_average(self):
        return round(self.rating_total / self.rating_count, 1) if self.rating_count else None

    @property
    def is_public(self):
        return self.status in (ProviderStatus.PUBLISHED, ProviderStatus.SUSPENDED, ProviderStatus.WITHDRAWN)

    def __repr__(self):
        return f"<Provider {self.id} {self.name}>"


class Qualification(Audited, Versioned, db.Model):
    """A certificate the agency holds (资质证书), with its scanned copy."""

    __tablename__ = "qualifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    cert_number: Mapped[str] = mapped_column(sa.String(100))
    issuer: Mapped[str] = mapped_column(sa.String(200))
    scope: Mapped[str] = mapped_column(sa.Text, default="")
    valid_from: Mapped[date]
    valid_to: Mapped[date]
    file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    provider: Mapped[Provider] = relationship(back_populates="qualifications")
    file: Mapped[StoredFile | None] = relationship(lazy="joined")
    # The declared categories this certificate covers (none: it is not needed for a category).
    categories: Mapped[list[ServiceCategory]] = relationship(
        secondary=qualification_categories, order_by="ServiceCategory.sort_order"
    )

    __table_args__ = (sa.CheckConstraint("valid_to >= valid_from", name="valid_period"),)

    def expired(self, today):
        return self.valid_to < today

    def expires_within(self, today, days):
        return today <= self.valid_to <= date.fromordinal(today.toordinal() + days)


class StaffMember(Audited, Versioned, db.Model):
    """A professional on the agency's staff. The personal ID number is masked in every public view."""

    __tablename__ = "staff_members"
    __audit_mask__ = frozenset({"id_number"})

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    id_number: Mapped[str] = mapped_column(sa.String(18), default="")
    cert_number: Mapped[str] = mapped_column(sa.String(100), default="")
    title: Mapped[str] = mapped_column(sa.String(100), default="")
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def masked_id_number(self):
        return mask_id_number(self.id_number)


def mask_id_number(value):
    """``320602198001011234`` → ``3206**********1234``."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


class Fee(Audited, Versioned, db.Model):
    """One line of the fee schedule: the seed asks for market-based, transparent fees."""

    __tablename__ = "fees"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    item: Mapped[str] = mapped_column(sa.String(200))
    unit: Mapped[str] = mapped_column(sa.String(50))
    price_min: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))
    price_max: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    basis: Mapped[str] = mapped_column(sa.Text, default="")
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.CheckConstraint("price_min >= 0", name="price_min_not_negative"),
        sa.CheckConstraint("price_max IS NULL OR price_max >= price_min", name="price_range"),
    )


class ProviderRevision(db.Model):
    """An immutable record of one change to a declaration: who, when, which fields, old and new."""

    __tablename__ = "provider_revisions"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    number: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_label: Mapped[str | None] = mapped_column(sa.String(254))
    summary: Mapped[str] = mapped_column(sa.String(60))  # what kind of change: declaration, qualification, …
    changes: Mapped[dict] = mapped_column(sa.JSON)  # {field: [old, new]}

    __table_args__ = (sa.UniqueConstraint("provider_id", "number", name="uq_provider_revisions_number"),)


class NoticeBatch(db.Model):
    """A published notice list (公示名单): an immutable snapshot with its diff, hash, PDF and CSV."""

    __tablename__ = "notice_batches"
    __append_only__ = True
    __audit_events__ = True  # publication is recorded as a named event

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    sequence: Mapped[int]
    batch_no: Mapped[str] = mapped_column(sa.String(20), unique=True)  # 2026年第3期
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    total: Mapped[int]
    added: Mapped[int]
    changed: Mapped[int]
    withdrawn: Mapped[int]
    canonical: Mapped[str] = mapped_column(sa.Text)  # the hashed content, as published
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    pdf: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    csv: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    # The head of the hash chain (common.chain) when the batch was published, printed in its files:
    # a copy of the batch kept anywhere proves the history before it. None for batches published
    # before the chain existed.
    chain_seq: Mapped[int | None]
    chain_sha256: Mapped[str | None] = mapped_column(sa.String(64))

    published_by = relationship("User")

    __table_args__ = (sa.UniqueConstraint("year", "sequence", name="uq_notice_batches_year_sequence"),)


class NoticeRendering(db.Model):
    """A later rendering of a batch's files from its immutable entries (the original PDF lacked an
    embedded font, or the original CSV held cells a spreadsheet runs as formulas). The batch, its hash
    and its original files are untouched; the newest rendering is served and the notice page says
    when it was made and why."""

    __tablename__ = "notice_renderings"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("notice_batches.id"), index=True)
    rendered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(sa.String(200))  # missing_font, formula_cells (comma-separated) | requested
    pdf: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    csv: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)  # renderings made before CSVs were


class NoticeEntry(db.Model):
    """One agency in one batch, as it stood then, and how it changed since the previous batch."""

    __tablename__ = "notice_entries"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("notice_batches.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    position: Mapped[int]  # 0 for withdrawn entries
    change: Mapped[str] = mapped_column(sa.String(12))  # added | changed | unchanged | withdrawn
    digest: Mapped[str] = mapped_column(sa.String(64))  # of the snapshot, to detect changes
    snapshot: Mapped[dict] = mapped_column(sa.JSON)
