"""The engagement's state machine: every step names the side that may take it, the states it may be
taken from, and the guard that must hold besides. ``refusal`` says why a step is not possible now
(templates offer only possible steps through ``may``); ``begin`` locks the engagement and applies the
same rule inside the service, so two tabs, two workers and a stale page all meet it."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from marketplace.auth import permissions
from marketplace.common.errors import DomainError, NotFound, PermissionDenied
from marketplace.engagements import queries
from marketplace.engagements.models import EngagementEvent
from marketplace.engagements.models import EngagementStatus as S
from marketplace.extensions import db
from marketplace.reference.models import ASSESSMENT


class IllegalStep(DomainError):
    """A step the engagement's state does not allow."""


class SiteNoticeRequired(DomainError):
    message = _l("File the on-site work notice (项目告知) with the county bureau before the work starts.")


class ReportRequired(DomainError):
    message = _l("The agency has not issued the report yet: completion is confirmed once it has.")


class ReportAlreadyIssued(IllegalStep):
    message = _l("The report for this engagement has already been issued.")


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
    # The report closes the on-site work: no notice can follow it.
    "site_notice": Step("agency", (S.CONTRACTED, S.IN_PROGRESS), _l("file the on-site notice"), _no_report_yet),
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


def begin(actor, engagement, action, item=None):
    """Lock the engagement, then check the actor, the state and the step's guard: two tabs, two
    workers and a stale page all meet the same rule."""
    db.session.refresh(engagement, with_for_update=True)
    reason = refusal(actor, engagement, action, item)
    if reason is not None:
        raise reason
    return side_of(actor, engagement)


def record_event(actor, engagement, action, before, note=""):
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
