"""The life of an engagement: request → quote → contract → work → report → completion, or
declined / withdrawn / cancelled. Each service begins its step through the state machine
(``engagements.steps``), which refuses an illegal one with a message saying why, and writes the step
to the timeline.

Services flush and raise ``DomainError``; the caller commits (``common.transaction``).
"""

import re
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.common.errors import DomainError
from marketplace.common.time import local_date, local_today, utcnow
from marketplace.common.uploads import UploadRejected, store_upload
from marketplace.engagements import choice, queries, steps
from marketplace.engagements.models import Engagement, EngagementFile, Report, SiteNotice
from marketplace.engagements.models import EngagementStatus as S
from marketplace.enterprises import services as enterprises
from marketplace.extensions import db
from marketplace.providers.models import StaffMember
from marketplace.reference import cache
from marketplace.reference.models import County


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


class DuplicateReportNumber(DomainError):
    message = _l("Your agency has already issued a report with this number: every report needs its own.")
    field = "report_no"


class InvalidReportNumber(DomainError):
    message = _l("Enter the report number as printed on the report (letters, digits and - / _ . ( ) 〔 〕 号 only).")
    field = "report_no"


class ReportTooEarly(DomainError):
    field = "issued_on"


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


def _period(start, end, *, future=True, fields=("start", "end")):
    if start is None or end is None:
        raise InvalidDates(_l("Enter both dates."), field=fields[0])
    if end < start:
        raise InvalidDates(field=fields[1])
    if future and start < local_today():
        raise DateInPast(field=fields[0])


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
    steps.record_event(actor, engagement, "request", None)
    return engagement


def withdraw(actor, engagement, reason=""):
    steps.begin(actor, engagement, "withdraw")
    before, engagement.status = engagement.status, S.WITHDRAWN
    engagement.closing_reason, engagement.closed_at = (reason or "").strip()[:2000], utcnow()
    steps.record_event(actor, engagement, "withdraw", before, engagement.closing_reason)
    db.session.flush()


def accept(actor, engagement, confirmed=()):
    """The enterprise accepts the quote: the engagement is contracted. The agency is checked again
    (it may have been suspended since the request) and new warnings must be confirmed."""
    steps.begin(actor, engagement, "accept")
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
    steps.record_event(actor, engagement, "accept", before)
    db.session.flush()


def confirm_completion(actor, engagement):
    steps.begin(actor, engagement, "confirm")
    before, engagement.status = engagement.status, S.COMPLETED
    engagement.completed_at = utcnow()
    steps.record_event(actor, engagement, "confirm", before)
    db.session.flush()


# --- the agency answers and works -----------------------------------------------------------------


def quote(actor, engagement, *, fee, start, end, team_ids, note=""):
    """The agency answers with a fee, dates and a team from its declared staff (again, to revise)."""
    steps.begin(actor, engagement, "quote")
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
    steps.record_event(actor, engagement, "quote" if before is S.REQUESTED else "requote", before)
    db.session.flush()


def decline(actor, engagement, reason):
    steps.begin(actor, engagement, "decline")
    reason = _reason(reason)
    before, engagement.status = engagement.status, S.DECLINED
    engagement.closing_reason, engagement.closed_at = reason, utcnow()
    steps.record_event(actor, engagement, "decline", before, reason)
    db.session.flush()


def file_site_notice(actor, engagement, *, onsite_from, onsite_to, address, team_ids, note=""):
    """项目告知: on-site dates, address and team, told to the site's county bureau before the work.
    Once the work has started a new notice may change the dates, but it cannot describe work that has
    already ended (which would let a report be dated before the work the county was told of)."""
    steps.begin(actor, engagement, "site_notice")
    _period(onsite_from, onsite_to, future=engagement.status is S.CONTRACTED, fields=("onsite_from", "onsite_to"))
    if onsite_to < local_today():
        raise InvalidDates(
            _l("The on-site work cannot have ended already: a notice tells the county of work to come."),
            field="onsite_to",
        )
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
    steps.record_event(
        actor, engagement, "site_notice", engagement.status, f"{onsite_from.isoformat()} – {onsite_to.isoformat()}"
    )
    db.session.flush()
    return notice


def start(actor, engagement):
    steps.begin(actor, engagement, "start")
    before, engagement.status = engagement.status, S.IN_PROGRESS
    engagement.started_at = utcnow()
    steps.record_event(actor, engagement, "start", before)
    db.session.flush()


def cancel(actor, engagement, reason):
    steps.begin(actor, engagement, "cancel")
    reason = _reason(reason)
    before, engagement.status = engagement.status, S.CANCELLED
    engagement.closing_reason, engagement.closed_at = reason, utcnow()
    steps.record_event(actor, engagement, "cancel", before, reason)
    db.session.flush()


REPORT_NUMBER = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff\-_/.()（）〔〕\[\]]{2,60}$")


def normalise_report_number(value):
    """What people type or scan: surrounding spaces and inner spaces dropped, latin upper-cased."""
    return re.sub(r"\s+", "", value or "").upper()


def issue_report(actor, engagement, *, report_no, title, issued_on, upload=None):
    """The agency issues its report: a number unique within the agency, publicly verifiable. A report
    is dated between the contract and today, and an assessment's report not before the on-site work of
    its latest notice has ended (no notice can follow the report)."""
    steps.begin(actor, engagement, "report")
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
    contracted_on = local_date(engagement.contracted_at) if engagement.contracted_at else None
    if contracted_on is not None and issued_on < contracted_on:
        raise ReportTooEarly(
            _l(
                "The report cannot be dated before the contract (%(date)s).",
                date=contracted_on.isoformat(),
            )
        )
    notice = queries.latest_site_notice(engagement) if steps.needs_site_notice(engagement) else None
    if notice is not None and issued_on < notice.onsite_to:
        raise ReportTooEarly(
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
    steps.record_event(actor, engagement, "report", engagement.status, number)
    db.session.flush()
    return report


def attach_file(actor, engagement, upload, description=""):
    """Either side attaches the signed contract (PDF, JPEG or PNG)."""
    side = steps.begin(actor, engagement, "attach")
    stored = store_upload(upload, actor=actor, field="file")
    attached = EngagementFile(
        engagement_id=engagement.id, file_id=stored.id, side=side, description=(description or "").strip()[:200]
    )
    db.session.add(attached)
    steps.record_event(actor, engagement, "attach", engagement.status, stored.original_name)
    db.session.flush()
    return attached


def remove_file(actor, engagement, attached):
    """The side that attached a file takes it back while the work is open. The row and the file are
    kept (regulators still read it, marked removed) and the removal is on the timeline."""
    steps.begin(actor, engagement, "remove_file", attached)
    attached.deleted_at = utcnow()
    attached.deleted_by_id = getattr(actor, "id", None)
    steps.record_event(actor, engagement, "remove_file", engagement.status, attached.file.original_name)
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
