"""Engagements (服务项目): requests, quotes, contracts, on-site notices, reports and ratings. An
engagement is what the three tiers of supervision inspect."""

import enum
import secrets
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_pgettext as _lp
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.common.models import Audited, StoredFile, UTCDateTime, enum_type
from marketplace.common.time import utcnow
from marketplace.enterprises.models import Enterprise
from marketplace.extensions import db
from marketplace.providers.models import Provider, StaffMember
from marketplace.reference.models import County, ServiceCategory


def new_public_id():
    """An identifier nobody can guess or count through (128 random bits)."""
    return secrets.token_urlsafe(16)


class EngagementStatus(str, enum.Enum):
    REQUESTED = "requested"  # the enterprise asked; the agency has not answered
    QUOTED = "quoted"  # the agency answered with a fee, dates and a team
    CONTRACTED = "contracted"  # the enterprise accepted the quote
    IN_PROGRESS = "in_progress"  # the agency started the work
    COMPLETED = "completed"  # the report was issued and the enterprise confirmed completion
    DECLINED = "declined"  # the agency declined, with a reason
    WITHDRAWN = "withdrawn"  # the enterprise withdrew its request before contracting
    CANCELLED = "cancelled"  # either side ended the contract, with a reason

    @property
    def label(self):
        return ENGAGEMENT_STATUS_LABELS[self]

    @property
    def is_open(self):
        return self in OPEN_STATUSES


ENGAGEMENT_STATUS_LABELS = {
    EngagementStatus.REQUESTED: _lp("engagement status", "Requested"),
    EngagementStatus.QUOTED: _lp("engagement status", "Quoted"),
    EngagementStatus.CONTRACTED: _lp("engagement status", "Contracted"),
    EngagementStatus.IN_PROGRESS: _lp("engagement status", "In progress"),
    EngagementStatus.COMPLETED: _lp("engagement status", "Completed"),
    EngagementStatus.DECLINED: _lp("engagement status", "Declined"),
    EngagementStatus.WITHDRAWN: _lp("engagement status", "Withdrawn"),
    EngagementStatus.CANCELLED: _lp("engagement status", "Cancelled"),
}
OPEN_STATUSES = (
    EngagementStatus.REQUESTED,
    EngagementStatus.QUOTED,
    EngagementStatus.CONTRACTED,
    EngagementStatus.IN_PROGRESS,
)
# Work was (or is being) done: what supervision inspects and what the conflict rule looks at.
WORK_STATUSES = (EngagementStatus.CONTRACTED, EngagementStatus.IN_PROGRESS, EngagementStatus.COMPLETED)

engagement_team = sa.Table(
    "engagement_team",
    db.metadata,
    sa.Column("engagement_id", sa.ForeignKey("engagements.id"), primary_key=True),
    sa.Column("staff_member_id", sa.ForeignKey("staff_members.id"), primary_key=True),
)


class Engagement(Audited, db.Model):
    """One service an enterprise contracts from an agency (服务项目), from request to completion."""

    __tablename__ = "engagements"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("service_categories.id"), index=True)
    # The site's county: the county bureau there supervises the work (属地为主).
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id"), index=True)
    status: Mapped[EngagementStatus] = mapped_column(
        enum_type(EngagementStatus, "engagement_status"), default=EngagementStatus.REQUESTED, index=True
    )
    scope: Mapped[str] = mapped_column(sa.Text)
    site_address: Mapped[str] = mapped_column(sa.String(300))
    expected_start: Mapped[date]
    expected_end: Mapped[date]
    budget: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    # What the enterprise was warned of and confirmed when it chose the agency.
    warnings_confirmed: Mapped[list] = mapped_column(sa.JSON, default=list)

    quoted_fee: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    quoted_start: Mapped[date | None]
    quoted_end: Mapped[date | None]
    quote_note: Mapped[str] = mapped_column(sa.Text, default="")
    quoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closing_reason: Mapped[str] = mapped_column(sa.Text, default="")  # why declined, withdrawn or cancelled

    contracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "Referee and player": the same agency advised this enterprise and assessed it within 12 months.
    conflict: Mapped[bool] = mapped_column(default=False, index=True)
    conflict_with: Mapped[list] = mapped_column(sa.JSON, default=list)  # ids of the engagements on the other side
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    enterprise: Mapped[Enterprise] = relationship()
    provider: Mapped[Provider] = relationship()
    category: Mapped[ServiceCategory] = relationship()
    county: Mapped[County] = relationship()
    team: Mapped[list[StaffMember]] = relationship(secondary=engagement_team, order_by="StaffMember.id")
    report: Mapped["Report | None"] = relationship(back_populates="engagement", uselist=False)
    rating: Mapped["Rating | None"] = relationship(back_populates="engagement", uselist=False)

    __table_args__ = (
        sa.CheckConstraint("expected_end >= expected_start", name="expected_period"),
        sa.CheckConstraint("quoted_end IS NULL OR quoted_end >= quoted_start", name="quoted_period"),
        sa.CheckConstraint("budget IS NULL OR budget >= 0", name="budget_not_negative"),
        sa.CheckConstraint("quoted_fee IS NULL OR quoted_fee >= 0", name="fee_not_negative"),
        sa.Index("ix_engagements_provider_status", "provider_id", "status"),
        sa.Index("ix_engagements_enterprise_status", "enterprise_id", "status"),
        sa.Index("ix_engagements_county_status", "county_id", "status"),
    )

    @property
    def reference(self):
        """The number people quote on the phone: 委托 + year + id."""
        return f"WT{self.created_at:%Y}{self.id:06d}"

    def __repr__(self):
        return f"<Engagement {self.id} {self.status.value}>"


class EngagementEvent(db.Model):
    """One step of an engagement (requested, quoted, contracted …): who, when, from which state.
    The engagement's timeline; rows are never updated or deleted."""

    __tablename__ = "engagement_events"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(sa.ForeignKey("engagements.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(30))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str] = mapped_column(sa.Text, default="")


class EngagementFile(db.Model):
    """A signed contract (or its annex) attached by either side; removing one keeps the row."""

    __tablename__ = "engagement_files"
    __chained__ = True  # every state of it joins the hash chain (common.chain): evidence of the contract

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(sa.ForeignKey("engagements.id"), index=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"))
    side: Mapped[str] = mapped_column(sa.String(20))  # enterprise | agency
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # removed by its side; kept as evidence
    deleted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    file: Mapped[StoredFile] = relationship(lazy="joined")


class SiteNotice(db.Model):
    """项目告知: before on-site work on an assessment (evaluation or testing), the agency tells the
    site's county bureau when, where and who. A change files a new notice; the latest one counts."""

    __tablename__ = "site_notices"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(sa.ForeignKey("engagements.id"), index=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id"))
    onsite_from: Mapped[date]
    onsite_to: Mapped[date]
    address: Mapped[str] = mapped_column(sa.String(300))
    team: Mapped[list] = mapped_column(sa.JSON)  # [{"name", "title", "cert_number"}] as filed
    note: Mapped[str] = mapped_column(sa.Text, default="")
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    filed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    engagement: Mapped[Engagement] = relationship()

    __table_args__ = (
        sa.CheckConstraint("onsite_to >= onsite_from", name="onsite_period"),
        sa.Index("ix_site_notices_county_from", "county_id", "onsite_from"),
    )


class Report(db.Model):
    """The report an agency issued for an engagement; its number is public and verifiable."""

    __tablename__ = "reports"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(sa.ForeignKey("engagements.id"), unique=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"))
    report_no: Mapped[str] = mapped_column(sa.String(60), index=True)
    # The report's public address (its QR code) names it by this, not by its sequential id, so that
    # nobody can walk the reports to list who hired whom.
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_public_id)
    title: Mapped[str] = mapped_column(sa.String(200))
    issued_on: Mapped[date]
    file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    # As issued, so verification shows what the report said even after a rename.
    provider_name: Mapped[str] = mapped_column(sa.String(200))
    enterprise_name: Mapped[str] = mapped_column(sa.String(200))
    category_name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    engagement: Mapped[Engagement] = relationship(back_populates="report")
    provider: Mapped[Provider] = relationship()
    file: Mapped[StoredFile | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("provider_id", "report_no", name="uq_reports_provider_report_no"),)


class Rating(Audited, db.Model):
    """An enterprise's rating of a completed engagement (one per engagement), the agency's one
    public reply, and a regulator's hiding of an abusive rating (the reason stays public)."""

    __tablename__ = "ratings"
    __chained__ = True  # every state of it joins the hash chain (common.chain): a rating is never quietly edited

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(sa.ForeignKey("engagements.id"), unique=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    score: Mapped[int]
    text: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    reply: Mapped[str] = mapped_column(sa.Text, default="")
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_reason: Mapped[str] = mapped_column(sa.Text, default="")
    hidden_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    engagement: Mapped[Engagement] = relationship(back_populates="rating")
    enterprise: Mapped[Enterprise] = relationship()

    __table_args__ = (sa.CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),)
