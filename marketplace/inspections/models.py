"""Supervision records: campaigns and their checklists, the frozen population, the checks of the three
tiers, the violation catalogue, findings, rectification, penalties and spot-check draws.

What is submitted is never edited: checks, findings, rectification steps and penalties are append-only
(``__append_only__``: the ORM refuses an update, the database triggers refuse it too, and each row
joins the hash chain). A correction is a new row that names the one it replaces (``supersedes_id``).
A draw is written twice, at its commit and at its reveal; after the reveal the database refuses any
change to it.
"""

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.common.models import Audited, StoredFile, UTCDateTime, Versioned, enum_type
from marketplace.common.time import utcnow
from marketplace.engagements.models import Engagement
from marketplace.enterprises.models import Enterprise
from marketplace.extensions import db
from marketplace.providers.models import Provider, StaffMember
from marketplace.reference.models import County, ServiceCategory


class Labelled(str, enum.Enum):
    """An enum whose members have a translated label (``LABELS`` of the subclass)."""

    @property
    def label(self):
        return LABELS[self]


class CampaignStatus(Labelled):
    DRAFT = "draft"  # being prepared: scope and checklist editable
    OPEN = "open"  # population frozen; the tiers are at work
    CLOSED = "closed"  # finished; records stay, nothing new is submitted


class QuotaKind(Labelled):
    SIZE = "size"  # so many units per county
    RATE = "rate"  # this percentage of each county's units (rounded up)


class Tier(Labelled):
    SELF = "self"  # 机构自查
    RECHECK = "recheck"  # 县级复查
    SPOT = "spot"  # 市级抽查


class Conclusion(Labelled):
    COMPLIANT = "compliant"
    MINOR = "minor"
    NON_COMPLIANT = "non_compliant"


class Answer(Labelled):
    MET = "met"
    NOT_MET = "not_met"
    NOT_APPLICABLE = "na"


class Severity(Labelled):
    MINOR = "minor"
    SERIOUS = "serious"
    GRAVE = "grave"


class Party(Labelled):
    AGENCY = "agency"
    ENTERPRISE = "enterprise"
    PERSON = "person"  # a named member of the agency's staff


class RectificationStep(Labelled):
    SUBMITTED = "submitted"  # the party's evidence
    ACCEPTED = "accepted"  # the regulator's decision
    RETURNED = "returned"  # the regulator's decision, with a reason


class PenaltyKind(Labelled):
    WARNING = "warning"
    FINE = "fine"
    CONFISCATION = "confiscation"
    SUSPENSION = "suspension"
    REVOCATION = "revocation"
    MARKET_BAN = "market_ban"


LABELS = {
    CampaignStatus.DRAFT: _lp("campaign status", "Draft"),
    CampaignStatus.OPEN: _lp("campaign status", "Open"),
    CampaignStatus.CLOSED: _lp("campaign status", "Closed"),
    QuotaKind.SIZE: _l("Units per county"),
    QuotaKind.RATE: _l("Percentage of each county's units"),
    Tier.SELF: _l("Agency self-check"),
    Tier.RECHECK: _l("County recheck"),
    Tier.SPOT: _l("City spot-check"),
    Conclusion.COMPLIANT: _l("Compliant"),
    Conclusion.MINOR: _l("Minor issues"),
    Conclusion.NON_COMPLIANT: _l("Non-compliant"),
    Answer.MET: _l("Met"),
    Answer.NOT_MET: _l("Not met"),
    Answer.NOT_APPLICABLE: _l("Not applicable"),
    Severity.MINOR: _lp("severity", "Minor"),
    Severity.SERIOUS: _lp("severity", "Serious"),
    Severity.GRAVE: _lp("severity", "Grave"),
    Party.AGENCY: _l("The agency"),
    Party.ENTERPRISE: _l("The enterprise"),
    Party.PERSON: _l("A named person of the agency's staff"),
    RectificationStep.SUBMITTED: _l("Evidence submitted"),
    RectificationStep.ACCEPTED: _l("Accepted"),
    RectificationStep.RETURNED: _l("Returned"),
    PenaltyKind.WARNING: _l("Warning"),
    PenaltyKind.FINE: _l("Fine"),
    PenaltyKind.CONFISCATION: _l("Confiscation of illegal gains"),
    PenaltyKind.SUSPENSION: _l("Suspension of business"),
    PenaltyKind.REVOCATION: _l("Revocation of qualification"),
    PenaltyKind.MARKET_BAN: _l("Market ban"),
}

campaign_categories = sa.Table(
    "campaign_categories",
    db.metadata,
    sa.Column("campaign_id", sa.ForeignKey("campaigns.id"), primary_key=True),
    sa.Column("category_id", sa.ForeignKey("service_categories.id"), primary_key=True),
)


class Campaign(Audited, Versioned, db.Model):
    """A special rectification campaign (专项整治): its scope, deadlines, spot-check quota and checklist."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # Reports issued within the period are in the population.
    period_start: Mapped[date]
    period_end: Mapped[date]
    self_check_due: Mapped[date]
    recheck_due: Mapped[date]
    spot_check_due: Mapped[date]
    quota_kind: Mapped[QuotaKind] = mapped_column(enum_type(QuotaKind, "quota_kind"), default=QuotaKind.RATE)
    quota_value: Mapped[Decimal] = mapped_column(sa.Numeric(8, 2))
    status: Mapped[CampaignStatus] = mapped_column(
        enum_type(CampaignStatus, "campaign_status"), default=CampaignStatus.DRAFT, index=True
    )
    population_size: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    categories: Mapped[list[ServiceCategory]] = relationship(
        secondary=campaign_categories, order_by="ServiceCategory.sort_order"
    )
    items: Mapped[list["CheckItem"]] = relationship(
        order_by="(CheckItem.category_id, CheckItem.position, CheckItem.id)",
        primaryjoin="and_(Campaign.id == CheckItem.campaign_id, CheckItem.deleted_at.is_(None))",
        viewonly=True,
    )

    __table_args__ = (
        sa.CheckConstraint("period_end >= period_start", name="campaign_period"),
        sa.CheckConstraint("quota_value > 0", name="quota_positive"),
    )

    def __repr__(self):
        return f"<Campaign {self.id} {self.status.value}>"


class CheckItem(Audited, db.Model):
    """One line of a campaign's checklist for one category. Editable while the campaign is a draft;
    frozen when it opens (the checks answer these very lines)."""

    __tablename__ = "campaign_check_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("service_categories.id"))
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(sa.Text)
    # What failing it points to: a false report (虚假), a misleading one (失实), or another defect.
    criterion: Mapped[str] = mapped_column(sa.String(20), default="other")
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship()
    category: Mapped[ServiceCategory] = relationship()


class CampaignUnit(db.Model):
    """One engagement of a campaign's frozen population: ``<agency credit code>/<report number>``, the
    county with jurisdiction (the site's) as its stratum."""

    __tablename__ = "campaign_units"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    engagement_id: Mapped[int] = mapped_column(sa.ForeignKey("engagements.id"), index=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"))
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("service_categories.id"))
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id"))
    unit: Mapped[str] = mapped_column(sa.String(120))
    stratum: Mapped[str] = mapped_column(sa.String(50))

    campaign: Mapped[Campaign] = relationship()
    engagement: Mapped[Engagement] = relationship()
    provider: Mapped[Provider] = relationship()
    enterprise: Mapped[Enterprise] = relationship()
    category: Mapped[ServiceCategory] = relationship()
    county: Mapped[County] = relationship()
    report = relationship("Report")

    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "engagement_id", name="uq_campaign_units_engagement"),
        sa.UniqueConstraint("campaign_id", "unit", name="uq_campaign_units_unit"),
        sa.Index("ix_campaign_units_campaign_county", "campaign_id", "county_id"),
    )


class Check(db.Model):
    """A submitted check of one unit at one tier: the checklist's answers, a conclusion, who checked it.
    A correction is a new check naming the one it replaces; the newest of a tier counts."""

    __tablename__ = "inspection_checks"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign_units.id"))
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id"))
    tier: Mapped[Tier] = mapped_column(enum_type(Tier, "check_tier"))
    conclusion: Mapped[Conclusion] = mapped_column(enum_type(Conclusion, "check_conclusion"))
    # [{"item": id, "text": as asked, "answer": "met" | "not_met" | "na", "note": ""}]
    answers: Mapped[list] = mapped_column(sa.JSON, default=list)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    # Rechecks and spot-checks: does this tier agree with the agency's own conclusion? (None: no self-check)
    agrees_with_self_check: Mapped[bool | None]
    inspectors: Mapped[list] = mapped_column(sa.JSON, default=list)  # names, as they sign the record
    draw_id: Mapped[int | None] = mapped_column(sa.ForeignKey("draws.id"), index=True)
    supersedes_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inspection_checks.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[CampaignUnit] = relationship()
    submitted_by = relationship("User")
    files: Mapped[list["CheckFile"]] = relationship(order_by="CheckFile.id")
    findings: Mapped[list["Finding"]] = relationship(back_populates="check", order_by="Finding.id")

    __table_args__ = (
        sa.Index("ix_inspection_checks_unit_tier", "unit_id", "tier"),
        # The dashboard's two passes, each answered from the index alone.
        sa.Index(
            "ix_inspection_checks_coverage",
            "campaign_id",
            "county_id",
            "tier",
            "agrees_with_self_check",
            "supersedes_id",
        ),
        sa.Index("ix_inspection_checks_conclusion", "campaign_id", "conclusion", "county_id", "unit_id"),
        sa.Index("ix_inspection_checks_supersedes", "supersedes_id"),
    )


class CheckFile(db.Model):
    """Evidence attached to a check when it was submitted."""

    __tablename__ = "inspection_check_files"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(sa.ForeignKey("inspection_checks.id"), index=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"))

    file: Mapped[StoredFile] = relationship(lazy="joined")


class Violation(Audited, Versioned, db.Model):
    """The violation catalogue (data the bureau keeps). Legal bases are text the bureau edits: the
    ministry's rules may be renumbered, and a finding keeps the text as it was when recorded."""

    __tablename__ = "violations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    severity: Mapped[Severity] = mapped_column(enum_type(Severity, "violation_severity"))
    party: Mapped[Party] = mapped_column(enum_type(Party, "violation_party"))
    legal_basis: Mapped[str] = mapped_column(sa.Text, default="")
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Finding(db.Model):
    """A violation found in a unit by a recheck or a spot-check, addressed to a party, with the
    rectification it requires (if any) by a date."""

    __tablename__ = "findings"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(sa.ForeignKey("inspection_checks.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign_units.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id"))
    violation_id: Mapped[int] = mapped_column(sa.ForeignKey("violations.id"))
    # As the catalogue said when the finding was recorded.
    code: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(200))
    legal_basis: Mapped[str] = mapped_column(sa.Text, default="")
    severity: Mapped[Severity] = mapped_column(enum_type(Severity, "finding_severity"))
    party: Mapped[Party] = mapped_column(enum_type(Party, "finding_party"))
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    staff_member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_members.id"))
    person_name: Mapped[str] = mapped_column(sa.String(50), default="")
    facts: Mapped[str] = mapped_column(sa.Text)
    rectification_due: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    check: Mapped[Check] = relationship(back_populates="findings")
    unit: Mapped[CampaignUnit] = relationship()
    violation: Mapped[Violation] = relationship()
    provider: Mapped[Provider] = relationship()
    enterprise: Mapped[Enterprise] = relationship()
    staff_member: Mapped[StaffMember | None] = relationship()
    steps: Mapped[list["Rectification"]] = relationship(back_populates="finding", order_by="Rectification.id")

    __table_args__ = (sa.Index("ix_findings_campaign_county", "campaign_id", "county_id"),)


class Rectification(db.Model):
    """One step of a finding's rectification: the party's evidence, or the regulator's decision on it."""

    __tablename__ = "rectifications"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(sa.ForeignKey("findings.id"), index=True)
    step: Mapped[RectificationStep] = mapped_column(enum_type(RectificationStep, "rectification_step"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    finding: Mapped[Finding] = relationship(back_populates="steps")
    file: Mapped[StoredFile | None] = relationship(lazy="joined")
    actor = relationship("User")


class Penalty(db.Model):
    """An administrative penalty decision (行政处罚), recorded from a finding and published for its
    publicity period. Never changed: a correction (or a decision set aside) is a new row naming it."""

    __tablename__ = "penalties"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(sa.ForeignKey("findings.id"), index=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id"), index=True)
    target: Mapped[Party] = mapped_column(enum_type(Party, "penalty_target"))
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"))
    staff_member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_members.id"))
    target_name: Mapped[str] = mapped_column(sa.String(200))  # in full; the public sees a person's masked
    decision_no: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[PenaltyKind] = mapped_column(enum_type(PenaltyKind, "penalty_kind"))
    facts: Mapped[str] = mapped_column(sa.Text)
    legal_basis: Mapped[str] = mapped_column(sa.Text)
    fine_amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    confiscated_amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    decided_on: Mapped[date]
    publicity_start: Mapped[date]
    publicity_end: Mapped[date]
    supersedes_id: Mapped[int | None] = mapped_column(sa.ForeignKey("penalties.id"))
    withdrawn: Mapped[bool] = mapped_column(default=False)  # a correction that sets the decision aside
    correction_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    finding: Mapped[Finding] = relationship()
    county: Mapped[County] = relationship()
    provider: Mapped[Provider | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("publicity_end >= publicity_start", name="publicity_period"),
        sa.CheckConstraint("fine_amount IS NULL OR fine_amount >= 0", name="fine_not_negative"),
        sa.CheckConstraint("confiscated_amount IS NULL OR confiscated_amount >= 0", name="confiscated_not_negative"),
        sa.Index("ix_penalties_publicity", "publicity_start", "publicity_end"),
        sa.Index("ix_penalties_supersedes", "supersedes_id"),
    )


class Draw(Audited, db.Model):
    """A spot-check draw (nt-draw-1). The commit publishes the population file, its hash, the quotas,
    the inspector pool with their declared conflicts and the seed source; the reveal adds the seed and
    the sample with its inspectors. After the reveal the database refuses any change."""

    __tablename__ = "draws"
    __chained__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    algorithm: Mapped[str] = mapped_column(sa.String(20))
    population: Mapped[bytes] = mapped_column(sa.LargeBinary)  # the file's exact bytes
    population_sha256: Mapped[str] = mapped_column(sa.String(64))
    population_size: Mapped[int]
    quotas: Mapped[dict] = mapped_column(sa.JSON)  # stratum → count
    # [{"id", "name", "county", "conflicts": [credit codes]}]
    inspector_pool: Mapped[list] = mapped_column(sa.JSON)
    seed_source: Mapped[str] = mapped_column(sa.Text)
    committed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    committed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    seed: Mapped[str | None] = mapped_column(sa.Text)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revealed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    sample: Mapped[list | None] = mapped_column(sa.JSON)  # unit names in order
    inspectors: Mapped[dict | None] = mapped_column(sa.JSON)  # unit → [inspector ids]

    campaign: Mapped[Campaign] = relationship()


class ConflictDeclaration(db.Model):
    """An inspector declares a conflict of interest with an agency; a draw committed afterwards never
    assigns them to that agency's units."""

    __tablename__ = "inspector_conflicts"
    __append_only__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    inspector_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"))
    reason: Mapped[str] = mapped_column(sa.Text)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    provider: Mapped[Provider] = relationship()
