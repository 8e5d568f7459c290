"""Engagements from request to report, the workbench and the on-site work calendar. Thin views:
the rules are in services, steps and choice; the reads in queries. Ratings have their own views
(``rating_views``)."""

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from marketplace.auth import permissions
from marketplace.auth.permissions import permission_required
from marketplace.common.forms import form_view, optional_int
from marketplace.common.pagination import paginate
from marketplace.common.time import local_today
from marketplace.common.transaction import committing
from marketplace.common.uploads import send_stored
from marketplace.engagements import choice, queries, ratings, report_views, services, steps
from marketplace.engagements.forms import (
    AcceptForm,
    AttachForm,
    EngagementFilterForm,
    HideForm,
    QuoteForm,
    ReasonForm,
    ReplyForm,
    ReportForm,
    RequestForm,
    SiteNoticeForm,
)
from marketplace.engagements.models import ENGAGEMENT_STATUS_LABELS, Engagement
from marketplace.engagements.models import EngagementStatus as S
from marketplace.engagements.web import back_to, get_engagement_or_404
from marketplace.enterprises import services as enterprises
from marketplace.providers import services as providers
from marketplace.providers.models import ProviderStatus
from marketplace.reference import cache

bp = Blueprint("engagements", __name__, url_prefix="/engagements")

SECTION_TITLES = {
    "quoted": _l("Quotes to answer"),
    "confirm": _l("Reports to confirm"),
    "requested": _l("Waiting for the agency"),
    "working": _l("Contracted and in progress"),
    "rate": _l("Completed, waiting for your rating"),
    "conflict": _l("Flagged: advised and assessed the same enterprise"),
}
AGENCY_SECTION_TITLES = {
    "requested": _l("Incoming requests"),
    "working": _l("Projects"),
    "quoted": _l("Quoted, waiting for the enterprise"),
    "reported": _l("Reports issued"),
}
EXPIRED_FORM = _l("This form had expired or did not come from this site, so nothing was saved.")


def _uploaded(field):
    return field.data if getattr(field.data, "filename", "") else None


# --- dashboards and lists --------------------------------------------------------------------


@bp.get("/dashboard")
@permission_required(permissions.can_list_engagements)
def dashboard():
    user = permissions.acting_user()
    titles = AGENCY_SECTION_TITLES if permissions.is_agency(user) else SECTION_TITLES
    sections = [(key, titles[key], rows) for key, rows in queries.dashboard_sections(user)]
    notices = []
    if permissions.can_view_site_notices(user):
        notices = queries.upcoming_site_notices(user, local_today(), days=14, limit=10)
    enterprise = enterprises.own_enterprise(user) if permissions.is_enterprise(user) else None
    return render_template(
        "engagements/dashboard.html",
        counts=queries.status_counts(user),
        sections=sections,
        enterprise=enterprise,
        notices=notices,
    )


@bp.get("")
@permission_required(permissions.can_list_engagements)
def index():
    form = EngagementFilterForm(request.args)
    form.status.choices = [SelectChoice("", _("All"))] + [
        SelectChoice(s.value, label) for s, label in ENGAGEMENT_STATUS_LABELS.items()
    ]
    form.validate()
    status = form.status.data if form.status.data in {s.value for s in S} else ""
    text = (form.q.data or "") if not form.q.errors else ""
    query = queries.filtered_query(current_user, status=status, text=text, conflict=bool(form.conflict.data))
    page = paginate(query.order_by(Engagement.updated_at.desc(), Engagement.id.desc()).options(*queries.list_options()))
    return render_template("engagements/index.html", page=page, form=form)


def _date_arg(name):
    value = request.args.get(name, "")
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/site-notices")
@permission_required(permissions.can_view_site_notices)
def site_notices():
    """Upcoming on-site work, day by day: the county regulator's calendar-like list."""
    today = local_today()
    start = max(today - timedelta(days=30), min(today + timedelta(days=365), _date_arg("from") or today))
    notices = queries.upcoming_site_notices(current_user, start, days=30)
    days = {}
    for notice in notices:
        days.setdefault(max(notice.onsite_from, start), []).append(notice)
    return render_template(
        "engagements/site_notices.html",
        days=sorted(days.items()),
        start=start,
        previous=start - timedelta(days=30),
        following=start + timedelta(days=30),
    )


# --- requesting ----------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@permission_required(permissions.can_keep_enterprise_profile)
@form_view
def new():
    provider_id = request.args.get("provider", type=int)
    if not provider_id or not 0 < provider_id < 2**31:
        flash(_("Choose an agency first: search the directory and press “Request a service”."), "info")
        return redirect(url_for("providers.index"))
    provider = providers.load_provider(provider_id)
    if provider is None or provider.status is ProviderStatus.DRAFT:
        abort(404)
    actor = permissions.acting_user()
    enterprise = enterprises.own_enterprise(actor)
    if enterprise is None:
        flash(_("Fill in your enterprise's profile first: agencies need to know who is asking."), "info")
        return redirect(url_for("enterprises.profile", next_provider=provider.id))
    labels = cache.snapshot().category_label
    form = RequestForm()
    form.category_id.choices = [SelectChoice("", _("— choose —"))] + [
        SelectChoice(str(c.id), labels(c.id)) for c in provider.categories
    ]
    form.county_id.choices = [SelectChoice("", _("— choose —"))] + [
        SelectChoice(str(c.id), c.name) for c in provider.regions if c.active
    ]
    if request.method == "GET":
        form.category_id.data = optional_int(request.args.get("category"))
        form.site_address.data = enterprise.address
        form.county_id.data = enterprise.county_id
    blocked = None
    try:
        choice.check_listed(provider)
    except choice.NotChoosable as exc:
        blocked = exc.message
    category_id = form.category_id.data if isinstance(form.category_id.data, int) else None
    warnings = choice.choice_warnings(provider, category_id, enterprise=enterprise) if category_id else {}
    if form.validate_on_submit() and blocked is None:
        with committing(form) as requested:
            engagement = services.request_service(
                actor,
                provider,
                category_id=category_id,
                scope=form.scope.data,
                site_address=form.site_address.data,
                county_id=form.county_id.data,
                expected_start=form.expected_start.data,
                expected_end=form.expected_end.data,
                budget=form.budget.data,
                confirmed=list(warnings) if form.confirm_warnings.data else [],
            )
        if requested:
            flash(_("Your request is sent to %(name)s.", name=provider.name), "success")
            return redirect(url_for("engagements.detail", engagement_id=engagement.id))
    all_warnings = {c.id: choice.choice_warnings(provider, c.id, enterprise=enterprise) for c in provider.categories}
    return render_template(
        "engagements/new.html",
        form=form,
        provider=provider,
        blocked=blocked,
        warnings=warnings,
        all_warnings=all_warnings,
    )


# --- one engagement ----------------------------------------------------------------------------


@bp.get("/<id:engagement_id>")
@permission_required(permissions.can_list_engagements)
def detail(engagement_id):
    engagement = get_engagement_or_404(engagement_id)
    user = current_user
    warnings = {}
    if steps.may(user, engagement, "accept"):
        warnings = choice.choice_warnings(
            engagement.provider, engagement.category_id, enterprise=engagement.enterprise, engagement=engagement
        )
    return render_template(
        "engagements/detail.html",
        engagement=engagement,
        events=queries.timeline(engagement),
        notices=queries.site_notices(engagement),
        files=queries.files(engagement),
        related=queries.related(engagement) if permissions.is_regulator(user) else [],
        warnings=warnings,
        new_warnings=set(warnings) - set(engagement.warnings_confirmed or ()),
        may=lambda action, item=None: steps.may(user, engagement, action, item),
        can_rate=ratings.can_rate(user, engagement),
        accept_form=AcceptForm(),
        reason_form=ReasonForm(),
        attach_form=AttachForm(),
        reply_form=ReplyForm(),
        hide_form=HideForm(),
        needs_site_notice=steps.needs_site_notice(engagement),
    )


def _refused(engagement, action):
    """Answer a step page the user may not use now: 403 for outsiders, the reason for the parties."""
    reason = steps.refusal(current_user, engagement, action)
    if steps.side_of(current_user, engagement) is None:
        abort(403)
    flash(str(reason.message), "danger")
    return back_to(engagement)


def _staff_choices(engagement):
    return [SelectChoice(m.id, f"{m.name}（{m.title}）" if m.title else m.name) for m in engagement.provider.staff]


@bp.route("/<id:engagement_id>/quote", methods=["GET", "POST"])
@permission_required(permissions.is_agency)
@form_view
def quote(engagement_id):
    engagement = get_engagement_or_404(engagement_id)
    if not steps.may(current_user, engagement, "quote"):
        return _refused(engagement, "quote")
    form = QuoteForm()
    form.team.choices = _staff_choices(engagement)
    if request.method == "GET":
        form.fee.data = engagement.quoted_fee or engagement.budget
        form.start.data = engagement.quoted_start or engagement.expected_start
        form.end.data = engagement.quoted_end or engagement.expected_end
        form.team.data = [m.id for m in engagement.team]
        form.note.data = engagement.quote_note
    if form.validate_on_submit():
        with committing(form) as quoted:
            services.quote(
                permissions.acting_user(),
                engagement,
                fee=form.fee.data,
                start=form.start.data,
                end=form.end.data,
                team_ids=form.team.data,
                note=form.note.data,
            )
        if quoted:
            flash(_("Your quote is sent to the enterprise."), "success")
            return back_to(engagement)
    return render_template("engagements/step.html", form=form, engagement=engagement, step="quote")


@bp.route("/<id:engagement_id>/site-notice", methods=["GET", "POST"])
@permission_required(permissions.is_agency)
@form_view
def site_notice(engagement_id):
    engagement = get_engagement_or_404(engagement_id)
    if not steps.may(current_user, engagement, "site_notice"):
        return _refused(engagement, "site_notice")
    form = SiteNoticeForm()
    form.team.choices = _staff_choices(engagement)
    if request.method == "GET":
        form.onsite_from.data = engagement.quoted_start
        form.onsite_to.data = engagement.quoted_end
        form.team.data = [m.id for m in engagement.team]
    if form.validate_on_submit():
        with committing(form) as filed:
            services.file_site_notice(
                permissions.acting_user(),
                engagement,
                onsite_from=form.onsite_from.data,
                onsite_to=form.onsite_to.data,
                address=form.address.data,
                team_ids=form.team.data,
                note=form.note.data,
            )
        if filed:
            flash(_("The on-site notice is filed with the county bureau."), "success")
            return back_to(engagement)
    return render_template("engagements/step.html", form=form, engagement=engagement, step="site_notice")


@bp.route("/<id:engagement_id>/report", methods=["GET", "POST"])
@permission_required(permissions.is_agency)
@form_view
def report(engagement_id):
    engagement = get_engagement_or_404(engagement_id)
    if not steps.may(current_user, engagement, "report"):
        return _refused(engagement, "report")
    form = ReportForm()
    if request.method == "GET":
        notice = queries.latest_site_notice(engagement) if steps.needs_site_notice(engagement) else None
        form.issued_on.data = max(local_today(), notice.onsite_to) if notice else local_today()
        form.title.data = f"{cache.snapshot().category_label(engagement.category_id, 'zh')}报告"
    if form.validate_on_submit():
        with committing(form) as issued:
            services.issue_report(
                permissions.acting_user(),
                engagement,
                report_no=form.report_no.data,
                title=form.title.data,
                issued_on=form.issued_on.data,
                upload=_uploaded(form.file),
            )
        if issued:
            flash(_("The report is issued. Its number can now be verified publicly."), "success")
            return back_to(engagement)
    return render_template("engagements/step.html", form=form, engagement=engagement, step="report")


STEP_DONE = {
    "withdraw": _l("Your request is withdrawn."),
    "decline": _l("The request is declined."),
    "cancel": _l("The contract is cancelled."),
    "start": _l("The work has started."),
    "confirm": _l("Completion is confirmed. You can now rate the agency."),
}
STEP_SERVICES = {
    "withdraw": lambda actor, engagement, form: services.withdraw(actor, engagement, form.reason.data),
    "decline": lambda actor, engagement, form: services.decline(actor, engagement, form.reason.data),
    "cancel": lambda actor, engagement, form: services.cancel(actor, engagement, form.reason.data),
    "start": lambda actor, engagement, form: services.start(actor, engagement),
    "confirm": lambda actor, engagement, form: services.confirm_completion(actor, engagement),
}


@bp.post("/<id:engagement_id>/<any(withdraw, decline, cancel, start, confirm):action>")
@permission_required(permissions.can_list_engagements)
def step(engagement_id, action):
    engagement = get_engagement_or_404(engagement_id)
    if steps.side_of(current_user, engagement) is None:
        abort(403)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(str(EXPIRED_FORM), "warning")
        return back_to(engagement)
    with committing() as done:
        STEP_SERVICES[action](permissions.acting_user(), engagement, form)
    if done:
        flash(str(STEP_DONE[action]), "success")
    return back_to(engagement)


@bp.post("/<id:engagement_id>/accept")
@permission_required(permissions.is_enterprise)
def accept(engagement_id):
    engagement = get_engagement_or_404(engagement_id)
    form = AcceptForm()
    if not form.validate_on_submit():
        flash(str(EXPIRED_FORM), "warning")
        return back_to(engagement)
    warnings = choice.choice_warnings(
        engagement.provider, engagement.category_id, enterprise=engagement.enterprise, engagement=engagement
    )
    with committing() as accepted:
        services.accept(
            permissions.acting_user(), engagement, confirmed=list(warnings) if form.confirm_warnings.data else []
        )
    if accepted:
        flash(_("The quote is accepted: the engagement is contracted."), "success")
    return back_to(engagement)


@bp.post("/<id:engagement_id>/files")
@permission_required(permissions.can_list_engagements)
def attach(engagement_id):
    engagement = get_engagement_or_404(engagement_id)
    if steps.side_of(current_user, engagement) is None:
        abort(403)
    form = AttachForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(" ".join(str(e) for e in errors), "danger")
        return back_to(engagement, "files")
    with committing() as attached:
        services.attach_file(permissions.acting_user(), engagement, _uploaded(form.file), form.description.data)
    if attached:
        flash(_("The file is attached."), "success")
    return back_to(engagement, "files")


def _attachment_or_404(engagement, attachment_id):
    attached = queries.attachment(engagement, attachment_id)
    if attached is None:
        abort(404)
    return attached


@bp.post("/<id:engagement_id>/files/<id:attachment_id>/remove")
@permission_required(permissions.can_list_engagements)
def remove_file(engagement_id, attachment_id):
    engagement = get_engagement_or_404(engagement_id)
    if steps.side_of(current_user, engagement) is None:
        abort(403)
    attached = _attachment_or_404(engagement, attachment_id)
    if not ReasonForm().validate_on_submit():
        abort(400)
    with committing() as removed:
        services.remove_file(permissions.acting_user(), engagement, attached)
    if removed:
        flash(_("The file is removed from the engagement (it is kept on record)."), "success")
    return back_to(engagement, "files")


@bp.get("/<id:engagement_id>/files/<id:attachment_id>")
@permission_required(permissions.can_list_engagements)
def file(engagement_id, attachment_id):
    engagement = get_engagement_or_404(engagement_id)
    attached = _attachment_or_404(engagement, attachment_id)
    if not permissions.can_read_engagement_file(current_user, engagement, attached):
        abort(404)
    return send_stored(attached.file)


@bp.get("/<id:engagement_id>/report.pdf")
@permission_required(permissions.can_list_engagements)
def report_file(engagement_id):
    engagement = get_engagement_or_404(engagement_id)
    if engagement.report is None or engagement.report.file is None:
        abort(404)
    return send_stored(engagement.report.file)


@bp.get("/<id:engagement_id>/report/qr.svg")
@permission_required(permissions.can_list_engagements)
def report_qr(engagement_id):
    """The report's QR code: for the engagement's parties and its regulators only (it leads to a page
    naming the client and the agency)."""
    engagement = get_engagement_or_404(engagement_id)
    if engagement.report is None:
        abort(404)
    return report_views.qr_svg(engagement.report)


@bp.get("/<id:engagement_id>/report-label")
@permission_required(permissions.can_list_engagements)
def report_label(engagement_id):
    """A printable label with the report number and its verification QR code."""
    engagement = get_engagement_or_404(engagement_id)
    if engagement.report is None:
        abort(404)
    return render_template("engagements/report_label.html", engagement=engagement, report=engagement.report)


@bp.app_context_processor
def engagement_helpers():
    return {"EngagementStatus": S, "event_labels": steps.EVENT_LABELS, "warning_names": choice.WARNING_NAMES}
