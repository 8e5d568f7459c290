"""The life of an engagement: request → quote → contract → work → report → completion, or
declined / withdrawn / cancelled. Every step names who may take it, from which states, and the
guard that must hold besides; an illegal step is refused with a message saying why, and every step
is written to the timeline.

Services flush and raise ``DomainError``; the caller commits (``common.transaction``).
"""

import re
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.auth import permissions
from marketplace.common.errors import DomainError, NotFound, PermissionDenied
from marketplace.common.time import local_today, utcnow
from marketplace.common.uploads import UploadRejected, store_upload
from marketplace.engagements import choice, queries
from marketplace.engagements.models import Engagement, EngagementEvent, EngagementFile, Report, SiteNotice
from marketplace.engagements.models import EngagementStatus as S
from marketplace.enterprises import services as enterprises
from marketplace.extensions import db
from marketplace.providers.models import StaffMember
from marketplace.reference import cache
from marketplace.reference.models import ASSESSMENT, County


class IllegalStep(DomainError):
    """A step the engagement's state does not allow."""


class ReasonRequired(DomainError):
    message = _l("Give a reason: the other side will read it.")
    field = "reason"


class InvalidDates(DomainError):
    message = _l("The end date cannot be before the start date.")
    field = "end"


class DateInPast(DomainError):
    message = _l("The start date cannot be in the past.")
    field = "start"


class InvalidAmount(DomainError):
    message = _l("Enter an amount of zero or more.")


class TeamRequired(DomainError):
    message = _l("Choose at least one member of your declared staff.")
    field = "team"


class SiteNoticeRequired(DomainError):
    message = _l("File the on-site work notice (项目告知) with the county bureau before the work starts.")


class DuplicateReportNumber(DomainError):
    message = _l("Your agency has already issued a report with this number: every report needs its own.")
    field = "report_no"


class InvalidReportNumber(DomainError):
    message = _l("Enter the report number as printed on the report (letters, digits and - / _ . ( ) 〔 〕 号 only).")
    field = "report_no"


class ReportRequired(DomainError):
    message = _l("The agency has not issued the report yet: completion is confirmed once it has.")


class ReportAlreadyIssued(IllegalStep):
    message = _l("The report for this engagement has already been issued.")


class ReportBeforeSiteWork(DomainError):
    field = "issued_on"


class FileNotRemovable(PermissionDenied):
    message = _l("Only the side that attached a file can remove it.")


EVENT_LABELS = {
    "request": _l("Requested by the enterprise"),
    "quote": _l("Quoted by the agency"),
    "requote": _l("Quote revised by the agency"),
    "decline": _l("Declined by the agency"),
    "withdraw": _l("Request withdrawn by the enterprise"),
    "accept": _l("Quote accepted: contracted"),
    "site_notice": _l("On-site notice filed"),
    "start": _l("Work started"),
    "cancel": _l("Contract cancelled"),
    "report": _l("Report issued"),
    "confirm": _l("Completion confirmed by the enterprise"),
    "attach": _l("File attached"),
    "remove_file": _l("File removed"),
}


# --- steps: who may take them, from where, and what must hold besides ----------------------------


def needs_site_notice(engagement):
    """Assessments (evaluation, testing) are announced to the site's county bureau before the work."""
    return engagement.category.engagement_kind == ASSESSMENT


def _no_report_yet(engagement, item):
    return ReportAlreadyIssued() if engagement.report is not None else None


def _report_issued(engagement, item):
    return ReportRequired() if engagement.report is None else None


def _site_notice_filed(engagement, item):
    if needs_site_notice(engagement) and queries.latest_site_notice(engagement) is None:
        return SiteNoticeRequired()
    return None


def _own_attachment(engagement, item):
    if item is None or item.engagement_id != engagement.id or item.deleted_at is not None:
        return NotFound()
    return None


@dataclass(frozen=True)
class Step:
    side: str  # "enterprise", "agency" or "either"
    allowed_from: tuple
    label: object
    guard: object = None  # (engagement, item) -> the DomainError that forbids the step now, or None
    who: object = None  # (user, engagement, item) -> bool, a named permission beyond the side


STEPS = {
    "quote": Step("agency", (S.REQUESTED, S.QUOTED), _l("quote")),
    "decline": Step("agency", (S.REQUESTED, S.QUOTED), _l("decline")),
    "withdraw": Step("enterprise", (S.REQUESTED, S.QUOTED), _l("withdraw the request")),
    "accept": Step("enterprise", (S.QUOTED,), _l("accept the quote")),
    "site_notice": Step("agency", (S.CONTRACTED, S.IN_PROGRESS), _l("file the on-site notice")),
    "start": Step("agency", (S.CONTRACTED,), _l("start the work"), _site_notice_filed),
    "cancel": Step("either", (S.CONTRACTED, S.IN_PROGRESS), _l("cancel the contract")),
    "report": Step("agency", (S.IN_PROGRESS,), _l("issue the report"), _no_report_yet),
    "confirm": Step("enterprise", (S.IN_PROGRESS,), _l("confirm completion"), _report_issued),
    "attach": Step("either", (S.CONTRACTED, S.IN_PROGRESS, S.COMPLETED), _l("attach the contract")),
    # Evidence stays once the work is done: a file can be taken back only while the work is open.
    "remove_file": Step(
        "either",
        (S.CONTRACTED, S.IN_PROGRESS),
        _l("remove a file"),
        _own_attachment,
        permissions.can_remove_engagement_file,
    ),
}


def side_of(user, engagement):
    if permissions.is_engagement_client(user, engagement):
        return "enterprise"
    if permissions.is_engagement_agency(user, engagement):
        return "agency"
    return None


def refusal(user, engagement, action, item=None):
    """Why ``user`` may not take ``action`` now (a ``DomainError``), or None when they may."""
    step = STEPS[action]
    side = side_of(user, engagement)
    if side is None or (step.side != "either" and step.side != side):
        return PermissionDenied(
            _l(
                "Only the %(side)s of this engagement can %(step)s.",
                side=_l("enterprise") if step.side == "enterprise" else _l("agency"),
                step=step.label,
            )
        )
    if engagement.status not in step.allowed_from:
        return IllegalStep(
            _l(
                "You cannot %(step)s now: the engagement is %(status)s.",
                step=step.label,
                status=engagement.status.label,
            )
        )
    reason = step.guard(engagement, item) if step.guard else None
    if reason is None and step.who is not None and not step.who(user, engagement, item):
        reason = FileNotRemovable()
    return reason


def may(user, engagement, action, item=None):
    """Whether ``user`` may take ``action`` now (templates use it to offer only possible actions)."""
    return refusal(user, engagement, action, item) is None


def _begin(actor, engagement, action, item=None):
    """Lock the engagement, then check the actor, the state and the step's guard: two tabs, two
    workers and a stale page all meet the same rule."""
    db.session.refresh(engagement, with_for_update=True)
    reason = refusal(actor, engagement, action, item)
    if reason is not None:
        raise reason
    return side_of(actor, engagement)


def _event(actor, engagement, action, before, note=""):
    db.session.add(
        EngagementEvent(
            engagement_id=engagement.id,
            actor_id=getattr(actor, "id", None),
            action=action,
            from_status=before.value if before else None,
            to_status=engagement.status.value,
            note=note or "",
        )
    )


def _reason(text):
    text = (text or "").strip()
    if not text:
        raise ReasonRequired()
    return text[:2000]


def _amount(value, field):
    if value is None:
        return None
    if not isinstance(value, Decimal) or value < 0 or value >= Decimal("10000000000"):
        raise InvalidAmount(field=field)
    return value


def _period(start, end, *, future=True):
    if start is None or end is None:
        raise InvalidDates(_l("Enter both dates."), field="start")
    if end < start:
        raise InvalidDates()
    if future and start < local_today():
        raise DateInPast()


def _team(provider, staff_ids):
    ids = [i for i in (staff_ids or []) if isinstance(i, int) and 0 < i < 2**31]
    team = db.session.scalars(
        sa.select(StaffMember)
        .where(StaffMember.id.in_(ids), StaffMember.provider_id == provider.id, StaffMember.deleted_at.is_(None))
        .order_by(StaffMember.id)
    ).all()
    if not team or len(team) != len(set(ids)):
        raise TeamRequired()
    return team


# --- the enterprise asks ------------------------------------------------------------------------


def request_service(
    actor,
    provider,
    *,
    category_id,
    scope,
    site_address,
    county_id,
    expected_start,
    expected_end,
    budget=None,
    confirmed=(),
):
    """An enterprise asks one agency for a service. Suspended agencies and undeclared categories are
    refused; warnings (outdated pledge, expired qualification, advised and assessed) must be confirmed."""
    enterprise = enterprises.require_enterprise(actor)
    choice.check_choosable(provider, category_id)
    county = db.session.get(County, county_id or 0)
    if county is None or not county.active:
        raise DomainError(_l("Choose the county where the work will be done."), field="county_id")
    if county.id not in {c.id for c in provider.regions}:
        raise DomainError(
            _l("This agency does not serve %(county)s: it declares the counties it works in.", county=county.name),
            field="county_id",
        )
    _period(expected_start, expected_end)
    warnings = choice.choice_warnings(provider, category_id, enterprise=enterprise)
    if set(warnings) - set(confirmed or ()):
        raise choice.WarningsNotConfirmed()
    scope, site_address = (scope or "").strip(), (site_address or "").strip()
    if not scope:
        raise DomainError(_l("Describe what the work should cover."), field="scope")
    if not site_address:
        raise DomainError(_l("Enter the address of the site."), field="site_address")
    engagement = Engagement(
        enterprise_id=enterprise.id,
        provider_id=provider.id,
        category_id=category_id,
        county_id=county.id,
        scope=scope,
        site_address=site_address,
        expected_start=expected_start,
        expected_end=expected_end,
        budget=_amount(budget, "budget"),
        warnings_confirmed=sorted(warnings),
        status=S.REQUESTED,
    )
    db.session.add(engagement)
    db.session.flush()
    _event(actor, engagement, "request", None)
    return engagement


def withdraw(actor, engagement, reason=""):
    _begin(actor, engagement, "withdraw")
    before, engagement.status = engagement.status, S.WITHDRAWN
    engagement.closing_reason, engagement.closed_at = (reason or "").strip()[:2000], utcnow()
    _event(actor, engagement, "withdraw", before, engagement.closing_reason)
    db.session.flush()


def accept(actor, engagement, confirmed=()):
    """The enterprise accepts the quote: the engagement is contracted. The agency is checked again
    (it may have been suspended since the request) and new warnings must be confirmed."""
    _begin(actor, engagement, "accept")
    provider = engagement.provider
    choice.check_choosable(provider, engagement.category_id)
    warnings = choice.choice_warnings(
        provider, engagement.category_id, enterprise=engagement.enterprise, engagement=engagement
    )
    if set(warnings) - set(confirmed or ()) - set(engagement.warnings_confirmed or ()):
        raise choice.WarningsNotConfirmed()
    before, engagement.status = engagement.status, S.CONTRACTED
    engagement.contracted_at = utcnow()
    engagement.warnings_confirmed = sorted(set(engagement.warnings_confirmed or ()) | set(warnings))
    _flag_conflict(engagement)
    _event(actor, engagement, "accept", before)
    db.session.flush()


def confirm_completion(actor, engagement):
    _begin(actor, engagement, "confirm")
    before, engagement.status = engagement.status, S.COMPLETED
    engagement.completed_at = utcnow()
    _event(actor, engagement, "confirm", before)
    db.session.flush()


# --- the agency answers and works -----------------------------------------------------------------


def quote(actor, engagement, *, fee, start, end, team_ids, note=""):
    """The agency answers with a fee, dates and a team from its declared staff (again, to revise)."""
    _begin(actor, engagement, "quote")
    if fee is None:
        raise InvalidAmount(_l("Enter the fee."), field="fee")
    _amount(fee, "fee")
    _period(start, end)
    team = _team(engagement.provider, team_ids)
    before = engagement.status
    engagement.quoted_fee, engagement.quoted_start, engagement.quoted_end = fee, start, end
    engagement.quote_note, engagement.quoted_at = (note or "").strip()[:2000], utcnow()
    engagement.team = team
    engagement.status = S.QUOTED
    _event(actor, engagement, "quote" if before is S.REQUESTED else "requote", before)
    db.session.flush()


def decline(actor, engagement, reason):
    _begin(actor, engagement, "decline")
    reason = _reason(reason)
    before, engagement.status = engagement.status, S.DECLINED
    engagement.closing_reason, engagement.closed_at = reason, utcnow()
    _event(actor, engagement, "decline", before, reason)
    db.session.flush()


def file_site_notice(actor, engagement, *, onsite_from, onsite_to, address, team_ids, note=""):
    """项目告知: on-site dates, address and team, told to the site's county bureau before the work."""
    _begin(actor, engagement, "site_notice")
    _period(onsite_from, onsite_to, future=engagement.status is S.CONTRACTED)
    address = (address or "").strip() or engagement.site_address
    team = _team(engagement.provider, team_ids)
    notice = SiteNotice(
        engagement_id=engagement.id,
        county_id=engagement.county_id,
        onsite_from=onsite_from,
        onsite_to=onsite_to,
        address=address[:300],
        note=(note or "").strip()[:2000],
        filed_by_id=getattr(actor, "id", None),
        team=[{"name": m.name, "title": m.title, "cert_number": m.cert_number} for m in team],
    )
    db.session.add(notice)
    _event(actor, engagement, "site_notice", engagement.status, f"{onsite_from.isoformat()} – {onsite_to.isoformat()}")
    db.session.flush()
    return notice


def start(actor, engagement):
    _begin(actor, engagement, "start")
    before, engagement.status = engagement.status, S.IN_PROGRESS
    engagement.started_at = utcnow()
    _event(actor, engagement, "start", before)
    db.session.flush()


def cancel(actor, engagement, reason):
    _begin(actor, engagement, "cancel")
    reason = _reason(reason)
    before, engagement.status = engagement.status, S.CANCELLED
    engagement.closing_reason, engagement.closed_at = reason, utcnow()
    _event(actor, engagement, "cancel", before, reason)
    db.session.flush()


REPORT_NUMBER = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff\-_/.()（）〔〕\[\]]{2,60}$")


def normalise_report_number(value):
    """What people type or scan: surrounding spaces and inner spaces dropped, latin upper-cased."""
    return re.sub(r"\s+", "", value or "").upper()


def issue_report(actor, engagement, *, report_no, title, issued_on, upload=None):
    """The agency issues its report: a number unique within the agency, publicly verifiable. An
    assessment's report cannot be dated before the on-site work of its latest notice has ended."""
    _begin(actor, engagement, "report")
    number = normalise_report_number(report_no)
    if not REPORT_NUMBER.match(number):
        raise InvalidReportNumber()
    if (
        db.session.scalar(
            sa.select(Report.id).where(Report.provider_id == engagement.provider_id, Report.report_no == number)
        )
        is not None
    ):
        raise DuplicateReportNumber()
    if issued_on is None or issued_on > local_today():
        raise DomainError(_l("The issue date cannot be in the future."), field="issued_on")
    notice = queries.latest_site_notice(engagement) if needs_site_notice(engagement) else None
    if notice is not None and issued_on < notice.onsite_to:
        raise ReportBeforeSiteWork(
            _l(
                "The report cannot be dated before the on-site work ends (%(date)s, as the "
                "latest on-site notice says). File a new notice if the dates changed.",
                date=notice.onsite_to.isoformat(),
            )
        )
    title = (title or "").strip()
    if not title:
        raise DomainError(_l("Enter the report's title."), field="title")
    stored = None
    if upload is not None:
        stored = store_upload(upload, actor=actor, field="file")
        if stored.mime_type != "application/pdf":
            raise UploadRejected(_l("The report must be a PDF."), field="file")
    report = Report(
        engagement_id=engagement.id,
        provider_id=engagement.provider_id,
        report_no=number,
        title=title[:200],
        issued_on=issued_on,
        file_id=stored.id if stored else None,
        provider_name=engagement.provider.name,
        enterprise_name=engagement.enterprise.name,
        category_name=cache.snapshot().category_label(engagement.category_id, "zh"),
    )
    db.session.add(report)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:  # the same number issued at the same moment in another tab
        raise DuplicateReportNumber() from None
    engagement.report = report
    _event(actor, engagement, "report", engagement.status, number)
    db.session.flush()
    return report


def attach_file(actor, engagement, upload, description=""):
    """Either side attaches the signed contract (PDF, JPEG or PNG)."""
    side = _begin(actor, engagement, "attach")
    stored = store_upload(upload, actor=actor, field="file")
    attached = EngagementFile(
        engagement_id=engagement.id, file_id=stored.id, side=side, description=(description or "").strip()[:200]
    )
    db.session.add(attached)
    _event(actor, engagement, "attach", engagement.status, stored.original_name)
    db.session.flush()
    return attached


def remove_file(actor, engagement, attached):
    """The side that attached a file takes it back while the work is open. The row and the file are
    kept (regulators still read it, marked removed) and the removal is on the timeline."""
    _begin(actor, engagement, "remove_file", attached)
    attached.deleted_at = utcnow()
    attached.deleted_by_id = getattr(actor, "id", None)
    _event(actor, engagement, "remove_file", engagement.status, attached.file.original_name)
    db.session.flush()


# --- referee and player -----------------------------------------------------------------------


def _flag_conflict(engagement):
    """Advising an enterprise (consulting, hazard investigation) and assessing it (evaluation,
    testing) within 12 months makes the agency both player and referee: both engagements are flagged."""
    related = queries.conflicting_engagements(
        engagement.provider_id, engagement.enterprise_id, engagement.category.engagement_kind, exclude_id=engagement.id
    )
    if not related:
        return
    engagement.conflict = True
    engagement.conflict_with = sorted(set(engagement.conflict_with or ()) | {e.id for e in related})
    for earlier in related:
        earlier.conflict = True
        earlier.conflict_with = sorted(set(earlier.conflict_with or ()) | {engagement.id})
