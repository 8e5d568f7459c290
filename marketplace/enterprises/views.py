"""Enterprise profiles, engagements from request to rating, on-site notices, and public report
verification. Thin views: the rules are in services, engagements and ratings."""

import io
from datetime import timedelta

import segno
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice

from marketplace.auth import permissions
from marketplace.auth.permissions import permission_required
from marketplace.common import reference
from marketplace.common.errors import DomainError, PermissionDenied
from marketplace.common.forms import form_view, show_error
from marketplace.common.pagination import paginate
from marketplace.common.time import local_today, utcnow
from marketplace.common.uploads import send_stored
from marketplace.enterprises import engagements, ratings, services
from marketplace.enterprises.forms import (
    AcceptForm, AttachForm, EngagementFilterForm, HideForm, ProfileForm, QuoteForm, RatingForm, ReasonForm,
    ReplyForm, ReportForm, RequestForm, SiteNoticeForm,
)
from marketplace.enterprises.models import (
    ENGAGEMENT_STATUS_LABELS, Engagement, EngagementFile, EngagementStatus as S, Rating, Report,
)
from marketplace.extensions import db
from marketplace.providers.models import Provider

bp = Blueprint("enterprises", __name__, url_prefix="/enterprises")
engagements_bp = Blueprint("engagements", __name__, url_prefix="/engagements")
reports_bp = Blueprint("reports", __name__, url_prefix="/reports")


def _uploaded(field):
    return field.data if getattr(field.data, "filename", "") else None


# --- the enterprise's profile ------------------------------------------------------------------

@bp.route("/me/profile", methods=["GET", "POST"])
@permission_required(permissions.can_keep_enterprise_profile)
@form_view
def profile():
    enterprise = services.own_enterprise(current_user)
    form = ProfileForm(obj=enterprise)
    if request.method == "GET" and enterprise is not None:
        form.hazard_class.data = enterprise.hazard_class.value
    form.county_id.choices = [SelectChoice("", _("— choose —"))] + [
        SelectChoice(str(c.id), c.name) for c in reference.snapshot().active_counties()]
    if form.validate_on_submit():
        values = {name: form[name].data for name in ("uscc", "name", "county_id", "address", "industry",
                                                     "hazard_class", "contact_person", "phone")}
        try:
            services.save_profile(permissions.acting_user(), enterprise, **values)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        except IntegrityError:  # the same credit code saved a moment ago by another account
            db.session.rollback()
            show_error(form, services.DuplicateEnterpriseUSCC())
        else:
            flash(_("Your enterprise's profile is saved."), "success")
            return redirect(request.args.get("next_provider") and url_for(
                "engagements.new", provider=request.args.get("next_provider", type=int))
                or url_for("engagements.dashboard"))
    return render_template("enterprises/profile.html", form=form, enterprise=enterprise)


# --- dashboards and lists --------------------------------------------------------------------

@engagements_bp.get("/dashboard")
@permission_required(permissions.can_list_engagements)
def dashboard():
    user = current_user
    base = engagements.visible_query(user)
    counts = dict(db.session.execute(base.with_only_columns(Engagement.status, sa.func.count(Engagement.id))
                                     .group_by(Engagement.status).order_by(None)).all())

    def latest(*statuses, extra=None, limit=5):
        query = base.where(Engagement.status.in_(statuses))
        if extra is not None:
            query = query.where(extra)
        return db.session.scalars(query.order_by(Engagement.updated_at.desc(), Engagement.id.desc()).limit(limit)
                                  .options(*engagements.list_options())).all()

    has_report = Engagement.id.in_(sa.select(Report.engagement_id))
    sections = []
    enterprise = None
    if permissions.is_enterprise(user):
        enterprise = services.own_enterprise(user)
        unrated = sa.and_(~Engagement.id.in_(sa.select(Rating.engagement_id)),
                          Engagement.completed_at >= utcnow() - ratings.RATING_WINDOW)
        sections = [
            ("quoted", _("Quotes to answer"), latest(S.QUOTED)),
            ("confirm", _("Reports to confirm"), latest(S.IN_PROGRESS, extra=has_report)),
            ("requested", _("Waiting for the agency"), latest(S.REQUESTED)),
            ("working", _("Contracted and in progress"), latest(S.CONTRACTED, S.IN_PROGRESS, extra=~has_report)),
            ("rate", _("Completed, waiting for your rating"), latest(S.COMPLETED, extra=unrated)),
        ]
    elif permissions.is_agency(user):
        sections = [
            ("requested", _("Incoming requests"), latest(S.REQUESTED)),
            ("working", _("Projects"), latest(S.CONTRACTED, S.IN_PROGRESS)),
            ("quoted", _("Quoted, waiting for the enterprise"), latest(S.QUOTED)),
            ("reported", _("Reports issued"), latest(S.IN_PROGRESS, S.COMPLETED, extra=has_report)),
        ]
    else:
        sections = [
            ("working", _("Contracted and in progress"), latest(S.CONTRACTED, S.IN_PROGRESS)),
            ("conflict", _("Flagged: advised and assessed the same enterprise"),
             latest(*S, extra=Engagement.conflict.is_(True))),
        ]
    notices = []
    if permissions.can_view_site_notices(user):
        notices = db.session.scalars(engagements.upcoming_site_notices(user, local_today(), days=14).limit(10)).all()
    return render_template("engagements/dashboard.html", counts=counts, sections=sections, enterprise=enterprise,
                           notices=notices)


@engagements_bp.get("")
@permission_required(permissions.can_list_engagements)
def index():
    form = EngagementFilterForm(request.args)
    form.status.choices = [SelectChoice("", _("All"))] + [
        SelectChoice(s.value, label) for s, label in ENGAGEMENT_STATUS_LABELS.items()]
    form.validate()
    status = form.status.data if form.status.data in {s.value for s in S} else ""
    text = (form.q.data or "") if not form.q.errors else ""
    query = engagements.filtered_query(current_user, status=status, text=text, conflict=bool(form.conflict.data))
    page = paginate(query.order_by(Engagement.updated_at.desc(), Engagement.id.desc())
                    .options(*engagements.list_options()))
    return render_template("engagements/index.html", page=page, form=form)


@engagements_bp.get("/site-notices")
@permission_required(permissions.can_view_site_notices)
def site_notices():
    """Upcoming on-site work, day by day: the county regulator's calendar-like list."""
    today = local_today()
    try:
        start = max(today - timedelta(days=30), min(today + timedelta(days=365),
                                                    _date_arg("from") or today))
    except ValueError:
        start = today
    notices = db.session.scalars(engagements.upcoming_site_notices(current_user, start, days=30)).all()
    days = {}
    for notice in notices:
        first = max(notice.onsite_from, start)
        days.setdefault(first, []).append(notice)
    return render_template("engagements/site_notices.html", days=sorted(days.items()), start=start,
                           previous=start - timedelta(days=30), following=start + timedelta(days=30))


def _date_arg(name):
    from datetime import date

    value = request.args.get(name, "")
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- requesting ----------------------------------------------------------------------------

@engagements_bp.route("/new", methods=["GET", "POST"])
@permission_required(permissions.can_keep_enterprise_profile)
@form_view
def new():
    provider_id = request.args.get("provider", type=int)
    if not provider_id or not 0 < provider_id < 2**31:
        flash(_("Choose an agency first: search the directory and press “Request a service”."), "info")
        return redirect(url_for("providers.index"))
    provider = services.listed_provider_or_404(provider_id)
    enterprise = services.own_enterprise(current_user)
    if enterprise is None:
        flash(_("Fill in your enterprise's profile first: agencies need to know who is asking."), "info")
        return redirect(url_for("enterprises.profile", next_provider=provider.id))
    form = RequestForm()
    form.category_id.choices = [SelectChoice("", _("— choose —"))] + [
        SelectChoice(str(c.id), c.name) for c in provider.categories]
    form.county_id.choices = [SelectChoice("", _("— choose —"))] + [
        SelectChoice(str(c.id), c.name) for c in provider.regions if c.active]
    if request.method == "GET":
        form.category_id.data = request.args.get("category", type=int)
        form.site_address.data = enterprise.address
        form.county_id.data = enterprise.county_id
    blocked = None
    try:
        services.check_listed(provider)
    except DomainError as exc:
        blocked = exc.message
    category_id = form.category_id.data if isinstance(form.category_id.data, int) else None
    warnings = services.choice_warnings(provider, category_id) if category_id else {}
    if form.validate_on_submit() and blocked is None:
        try:
            engagement = engagements.request_service(
                permissions.acting_user(), provider, category_id=category_id, scope=form.scope.data,
                site_address=form.site_address.data, county_id=form.county_id.data,
                expected_start=form.expected_start.data, expected_end=form.expected_end.data,
                budget=form.budget.data, confirmed=list(warnings) if form.confirm_warnings.data else [])
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            flash(_("Your request is sent to %(name)s.", name=provider.name), "success")
            return redirect(url_for("engagements.detail", engagement_id=engagement.id))
    all_warnings = {c.id: services.choice_warnings(provider, c.id) for c in provider.categories}
    return render_template("engagements/new.html", form=form, provider=provider, blocked=blocked,
                           warnings=warnings, all_warnings=all_warnings)


# --- one engagement ----------------------------------------------------------------------------

def _load(engagement_id):
    return engagements.get_engagement_or_404(engagement_id, current_user)


@engagements_bp.get("/<id:engagement_id>")
@permission_required(permissions.can_list_engagements)
def detail(engagement_id):
    engagement = _load(engagement_id)
    related = []
    if engagement.conflict_with and permissions.is_regulator(current_user):
        related = db.session.scalars(sa.select(Engagement).where(Engagement.id.in_(engagement.conflict_with))
                                     .options(*engagements.list_options())).all()
    warnings = {}
    if engagements.may(current_user, engagement, "accept"):
        warnings = services.choice_warnings(engagement.provider, engagement.category_id)
    return render_template(
        "engagements/detail.html", engagement=engagement, events=engagements.timeline(engagement),
        notices=engagements.site_notices(engagement), files=engagements.files(engagement), related=related,
        warnings=warnings, new_warnings=set(warnings) - set(engagement.warnings_confirmed or ()),
        may=lambda action: engagements.may(current_user, engagement, action),
        can_rate=ratings.can_rate(current_user, engagement), accept_form=AcceptForm(), reason_form=ReasonForm(),
        attach_form=AttachForm(), reply_form=ReplyForm(), hide_form=HideForm(),
        needs_site_notice=engagements.needs_site_notice(engagement),
    )


def _require_party(engagement):
    """Steps, files: the enterprise and the agency of the engagement only (regulators read)."""
    if engagements.side_of(current_user, engagement) is None:
        abort(403)


def _step_done(engagement, message):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("engagements.detail", engagement_id=engagement.id))


def _refused(engagement, exc):
    db.session.rollback()
    if isinstance(exc, PermissionDenied):
        abort(403)
    flash(str(exc.message), "danger")
    return redirect(url_for("engagements.detail", engagement_id=engagement.id))


def _staff_choices(engagement):
    return [SelectChoice(m.id, f"{m.name}（{m.title}）" if m.title else m.name) for m in engagement.provider.staff]


@engagements_bp.route("/<id:engagement_id>/quote", methods=["GET", "POST"])
@permission_required(permissions.is_agency)
@form_view
def quote(engagement_id):
    engagement = _load(engagement_id)
    if not engagements.may(current_user, engagement, "quote"):
        return _refused(engagement, _illegal(engagement, "quote"))
    form = QuoteForm(obj=None)
    form.team.choices = _staff_choices(engagement)
    if request.method == "GET":
        form.fee.data = engagement.quoted_fee or engagement.budget
        form.start.data = engagement.quoted_start or engagement.expected_start
        form.end.data = engagement.quoted_end or engagement.expected_end
        form.team.data = [m.id for m in engagement.team]
        form.note.data = engagement.quote_note
    if form.validate_on_submit():
        try:
            engagements.quote(permissions.acting_user(), engagement, fee=form.fee.data, start=form.start.data,
                              end=form.end.data, team_ids=form.team.data, note=form.note.data)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            return _step_done(engagement, _("Your quote is sent to the enterprise."))
    return render_template("engagements/step.html", form=form, engagement=engagement, step="quote")


def _illegal(engagement, action):
    step = engagements.STEPS[action]
    if engagements.side_of(current_user, engagement) is None:
        abort(403)
    return engagements.IllegalStep(_("You cannot %(step)s now: the engagement is %(status)s.",
                                     step=step.label, status=engagement.status.label))


@engagements_bp.route("/<id:engagement_id>/site-notice", methods=["GET", "POST"])
@permission_required(permissions.is_agency)
@form_view
def site_notice(engagement_id):
    engagement = _load(engagement_id)
    if not engagements.may(current_user, engagement, "site_notice"):
        return _refused(engagement, _illegal(engagement, "site_notice"))
    form = SiteNoticeForm()
    form.team.choices = _staff_choices(engagement)
    if request.method == "GET":
        form.onsite_from.data = engagement.quoted_start
        form.onsite_to.data = engagement.quoted_end
        form.team.data = [m.id for m in engagement.team]
    if form.validate_on_submit():
        try:
            engagements.file_site_notice(permissions.acting_user(), engagement, onsite_from=form.onsite_from.data,
                                         onsite_to=form.onsite_to.data, address=form.address.data,
                                         team_ids=form.team.data, note=form.note.data)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            return _step_done(engagement, _("The on-site notice is filed with the county bureau."))
    return render_template("engagements/step.html", form=form, engagement=engagement, step="site_notice")


@engagements_bp.route("/<id:engagement_id>/report", methods=["GET", "POST"])
@permission_required(permissions.is_agency)
@form_view
def report(engagement_id):
    engagement = _load(engagement_id)
    if not engagements.may(current_user, engagement, "report"):
        return _refused(engagement, _illegal(engagement, "report"))
    form = ReportForm()
    if request.method == "GET":
        form.issued_on.data = local_today()
        form.title.data = f"{engagement.category.name_zh}报告"
    if form.validate_on_submit():
        try:
            engagements.issue_report(permissions.acting_user(), engagement, report_no=form.report_no.data,
                                     title=form.title.data, issued_on=form.issued_on.data,
                                     upload=_uploaded(form.file))
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            return _step_done(engagement, _("The report is issued. Its number can now be verified publicly."))
    return render_template("engagements/step.html", form=form, engagement=engagement, step="report")


STEP_MESSAGES = {
    "withdraw": (lambda: _("Your request is withdrawn.")),
    "decline": (lambda: _("The request is declined.")),
    "cancel": (lambda: _("The contract is cancelled.")),
    "start": (lambda: _("The work has started.")),
    "confirm": (lambda: _("Completion is confirmed. You can now rate the agency.")),
}


@engagements_bp.post("/<id:engagement_id>/<any(withdraw, decline, cancel, start, confirm):action>")
@permission_required(permissions.can_list_engagements)
def step(engagement_id, action):
    engagement = _load(engagement_id)
    _require_party(engagement)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("This form had expired or did not come from this site, so nothing was saved."), "warning")
        return redirect(url_for("engagements.detail", engagement_id=engagement.id))
    actor = permissions.acting_user()
    try:
        if action in ("withdraw", "decline", "cancel"):
            getattr(engagements, action)(actor, engagement, form.reason.data)
        elif action == "start":
            engagements.start(actor, engagement)
        else:
            engagements.confirm_completion(actor, engagement)
    except DomainError as exc:
        return _refused(engagement, exc)
    return _step_done(engagement, STEP_MESSAGES[action]())


@engagements_bp.post("/<id:engagement_id>/accept")
@permission_required(permissions.is_enterprise)
def accept(engagement_id):
    engagement = _load(engagement_id)
    form = AcceptForm()
    if not form.validate_on_submit():
        flash(_("This form had expired or did not come from this site, so nothing was saved."), "warning")
        return redirect(url_for("engagements.detail", engagement_id=engagement.id))
    warnings = services.choice_warnings(engagement.provider, engagement.category_id)
    try:
        engagements.accept(permissions.acting_user(), engagement,
                           confirmed=list(warnings) if form.confirm_warnings.data else [])
    except DomainError as exc:
        return _refused(engagement, exc)
    return _step_done(engagement, _("The quote is accepted: the engagement is contracted."))


@engagements_bp.post("/<id:engagement_id>/files")
@permission_required(permissions.can_list_engagements)
def attach(engagement_id):
    engagement = _load(engagement_id)
    _require_party(engagement)
    form = AttachForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(" ".join(str(e) for e in errors), "danger")
        return redirect(url_for("engagements.detail", engagement_id=engagement.id, _anchor="files"))
    try:
        engagements.attach_file(permissions.acting_user(), engagement, _uploaded(form.file), form.description.data)
    except DomainError as exc:
        return _refused(engagement, exc)
    return _step_done(engagement, _("The file is attached."))


@engagements_bp.post("/<id:engagement_id>/files/<id:attachment_id>/remove")
@permission_required(permissions.can_list_engagements)
def remove_file(engagement_id, attachment_id):
    engagement = _load(engagement_id)
    _require_party(engagement)
    attached = db.session.get(EngagementFile, attachment_id)
    if attached is None or not ReasonForm().validate_on_submit():
        abort(404 if attached is None else 400)
    try:
        engagements.remove_file(permissions.acting_user(), engagement, attached)
    except DomainError as exc:
        return _refused(engagement, exc)
    return _step_done(engagement, _("The file is removed from the engagement (it is kept on record)."))


@engagements_bp.get("/<id:engagement_id>/files/<id:attachment_id>")
@permission_required(permissions.can_list_engagements)
def file(engagement_id, attachment_id):
    engagement = _load(engagement_id)
    attached = db.session.get(EngagementFile, attachment_id)
    if attached is None or attached.engagement_id != engagement.id or attached.deleted_at is not None:
        abort(404)
    return send_stored(attached.file)


@engagements_bp.get("/<id:engagement_id>/report.pdf")
@permission_required(permissions.can_list_engagements)
def report_file(engagement_id):
    engagement = _load(engagement_id)
    if engagement.report is None or engagement.report.file is None:
        abort(404)
    return send_stored(engagement.report.file)


@engagements_bp.get("/<id:engagement_id>/report-label")
@permission_required(permissions.can_list_engagements)
def report_label(engagement_id):
    """A printable label with the report number and its verification QR code."""
    engagement = _load(engagement_id)
    if engagement.report is None:
        abort(404)
    return render_template("engagements/report_label.html", engagement=engagement, report=engagement.report)


# --- ratings ----------------------------------------------------------------------------------

@engagements_bp.route("/<id:engagement_id>/rate", methods=["GET", "POST"])
@permission_required(permissions.is_enterprise)
@form_view
def rate(engagement_id):
    engagement = _load(engagement_id)
    form = RatingForm()
    if form.validate_on_submit():
        try:
            ratings.rate(permissions.acting_user(), engagement, score=int(form.score.data), text=form.text.data)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            db.session.commit()
            flash(_("Thank you: your rating is published on the agency's profile."), "success")
            return redirect(url_for("engagements.detail", engagement_id=engagement.id))
    elif request.method == "GET":
        try:
            ratings.check_can_rate(current_user, engagement)
        except DomainError as exc:
            return _refused(engagement, exc)
    return render_template("engagements/rate.html", form=form, engagement=engagement)


@engagements_bp.post("/<id:engagement_id>/rating/<any(reply, hide):action>")
@permission_required(permissions.can_list_engagements)
def rating_action(engagement_id, action):
    engagement = _load(engagement_id)
    if engagement.rating is None:
        abort(404)
    allowed = permissions.is_engagement_agency if action == "reply" else permissions.can_moderate_rating
    if not allowed(current_user, engagement):
        abort(403)
    form = ReplyForm() if action == "reply" else HideForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(" ".join(str(e) for e in errors), "danger")
        return redirect(url_for("engagements.detail", engagement_id=engagement.id, _anchor="rating"))
    try:
        if action == "reply":
            ratings.reply(permissions.acting_user(), engagement.rating, form.reply.data)
        else:
            ratings.hide(permissions.acting_user(), engagement.rating, form.reason.data)
    except DomainError as exc:
        return _refused(engagement, exc)
    return _step_done(engagement, _("Your reply is published.") if action == "reply" else _("The rating is hidden; "
                      "the reason is shown in its place."))


# --- public report verification ---------------------------------------------------------------

@reports_bp.get("/verify")
def verify():
    """Anyone checks whether a report number is genuine: which agency issued it, for whom, when."""
    raw = request.args.get("no", "")[:100]
    number = engagements.normalise_report_number(raw)
    issuer = request.args.get("issuer", "").strip().upper()[:18]
    found = []
    if number:
        query = sa.select(Report).where(Report.report_no == number).order_by(Report.id)
        if issuer:
            query = query.join(Provider, Provider.id == Report.provider_id).where(Provider.uscc == issuer)
        found = db.session.scalars(query.limit(10)).all()
    return render_template("reports/verify.html", raw=raw, number=number, found=found, searched=bool(number))


@reports_bp.get("/<id:report_id>/qr.svg")
def qr(report_id):
    """The report's verification address as a QR code (public: it holds nothing but that address)."""
    report = db.session.get(Report, report_id)
    if report is None:
        abort(404)
    out = io.BytesIO()
    segno.make(verification_url(report), error="m").save(out, kind="svg", scale=4, border=2)
    response = send_file(io.BytesIO(out.getvalue()), mimetype="image/svg+xml", max_age=86400)
    return response


def verification_url(report):
    provider = db.session.get(Provider, report.provider_id)
    return url_for("reports.verify", no=report.report_no, issuer=provider.uscc, _external=True)


@engagements_bp.app_context_processor
def engagement_helpers():
    return {"verification_url": verification_url, "EngagementStatus": S, "event_labels": engagements.EVENT_LABELS,
            "warning_names": services.WARNING_NAMES}
