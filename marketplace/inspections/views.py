"""Campaigns, units and the checks of the three tiers, findings and rectification, the violation
catalogue. Thin views: rules in ``services``, reads in ``queries``, permissions in ``auth.permissions``."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from marketplace import jobs
from marketplace.auth import permissions
from marketplace.auth.permissions import permission_required
from marketplace.common import editing
from marketplace.common.forms import ConfirmForm, form_view, optional_int
from marketplace.common.pagination import paginate
from marketplace.common.time import local_today
from marketplace.common.transaction import committing
from marketplace.common.uploads import send_stored
from marketplace.extensions import db
from marketplace.inspections import campaign_jobs, draws, queries, services
from marketplace.inspections.forms import (
    CRITERION_LABELS,
    CampaignForm,
    CheckForm,
    DecisionForm,
    FindingForm,
    ItemForm,
    RectificationForm,
    UnitFilterForm,
    ViolationForm,
)
from marketplace.inspections.models import (
    Answer,
    Campaign,
    CampaignStatus,
    CampaignUnit,
    Check,
    CheckItem,
    Conclusion,
    Finding,
    Party,
    QuotaKind,
    Severity,
    Tier,
    Violation,
)
from marketplace.providers.models import StaffMember
from marketplace.reference import cache

bp = Blueprint("inspections", __name__, url_prefix="/inspections")

STATE_LABELS = {
    "no_self_check": _l("No self-check yet"),
    "self_non_compliant": _l("Self-check not compliant"),
    "not_rechecked": _l("Not rechecked yet"),
    "rechecked": _l("Rechecked"),
    "disagreement": _l("Tiers disagree"),
    "has_findings": _l("With findings"),
}
TIER_SLUGS = {"self-check": Tier.SELF, "recheck": Tier.RECHECK, "spot-check": Tier.SPOT}


def _campaign_or_404(campaign_id):
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or (
        campaign.status is CampaignStatus.DRAFT and not permissions.can_manage_campaigns(current_user)
    ):
        abort(404)
    return campaign


def _unit_or_404(unit_id):
    """A unit the current user may see (404 when it does not exist, 403 when it is not theirs)."""
    unit = db.session.get(CampaignUnit, unit_id)
    if unit is None:
        abort(404)
    record, assigned = draws.assigned_to(unit)
    if not permissions.can_view_unit(current_user, unit, assigned):
        abort(403)
    return unit, record, assigned


def _finding_or_404(finding_id):
    finding = db.session.get(Finding, finding_id)
    if finding is None:
        abort(404)
    if not permissions.can_view_finding(current_user, finding):
        abort(403)
    return finding


# --- campaigns -----------------------------------------------------------------------------------


@bp.get("/campaigns")
@permission_required(permissions.can_list_campaigns)
def campaigns():
    page = paginate(queries.campaigns_for(current_user))
    return render_template("inspections/campaigns.html", page=page, today=local_today())


def _campaign_form(form, campaign=None):
    snapshot = cache.snapshot()
    form.category_ids.choices = [
        SelectChoice(c.id, f"{g.name} · {snapshot.category_label(c.id)}")
        for g in snapshot.active_groups()
        for c in g.children
        if c.active
    ]
    return form


CAMPAIGN_FIELDS = (
    "name",
    "description",
    "period_start",
    "period_end",
    "category_ids",
    "self_check_due",
    "recheck_due",
    "spot_check_due",
    "quota_kind",
    "quota_value",
)


def _campaign_values(form):
    return dict(
        name=form.name.data,
        description=form.description.data or "",
        period_start=form.period_start.data,
        period_end=form.period_end.data,
        category_ids=form.category_ids.data,
        self_check_due=form.self_check_due.data,
        recheck_due=form.recheck_due.data,
        spot_check_due=form.spot_check_due.data,
        quota_kind=QuotaKind(form.quota_kind.data),
        quota_value=form.quota_value.data,
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
@permission_required(permissions.can_manage_campaigns)
@form_view
def campaign_new():
    form = _campaign_form(CampaignForm())
    if form.validate_on_submit():
        with committing(form) as saved:
            campaign = services.create_campaign(permissions.acting_user(), **_campaign_values(form))
        if saved:
            flash(_("Campaign saved as a draft. Check its checklist, then open it."), "success")
            return redirect(url_for("inspections.campaign", campaign_id=campaign.id))
    return render_template("inspections/campaign_form.html", form=form, campaign=None)


@bp.route("/campaigns/<id:campaign_id>/edit", methods=["GET", "POST"])
@permission_required(permissions.can_manage_campaigns)
@form_view
def campaign_edit(campaign_id):
    campaign = _campaign_or_404(campaign_id)
    if campaign.status is not CampaignStatus.DRAFT:
        flash(str(services.CampaignNotDraft.message), "warning")
        return redirect(url_for("inspections.campaign", campaign_id=campaign.id))
    form = _campaign_form(CampaignForm(obj=campaign if request.method == "GET" else None))
    if request.method == "GET":
        form.category_ids.data = [c.id for c in campaign.categories]
        form.quota_kind.data = campaign.quota_kind.value
    state = editing.state_of(campaign, CAMPAIGN_FIELDS, category_ids=lambda c: [x.id for x in c.categories])
    saved = None
    if form.validate_on_submit():
        with committing(form) as saved:
            editing.check(form, campaign, state)
            services.update_campaign(permissions.acting_user(), campaign, **_campaign_values(form))
        if saved:
            flash(_("Campaign saved."), "success")
            return redirect(url_for("inspections.campaign", campaign_id=campaign.id))
    editing.stamp(form, campaign, state, saved)
    return render_template("inspections/campaign_form.html", form=form, campaign=campaign)


@bp.get("/campaigns/<id:campaign_id>")
@permission_required(permissions.can_list_campaigns)
def campaign(campaign_id):
    campaign = _campaign_or_404(campaign_id)
    user = current_user
    if permissions.is_agency(user) and not db.session.scalar(
        queries.units_query(user, campaign).limit(1).with_only_columns(CampaignUnit.id)
    ):
        abort(403)
    county_id = user.county_id if permissions.is_county_regulator(user) else None
    rows, total = queries.dashboard(campaign, county_id=county_id) if permissions.is_regulator(user) else ([], None)
    mine = None
    if permissions.is_agency(user):
        mine = db.session.scalars(queries.units_query(user, campaign).options(*queries.unit_list_options())).all()
    campaign_draws = db.session.scalars(
        db.select(draws.Draw).where(draws.Draw.campaign_id == campaign.id).order_by(draws.Draw.id)
    ).all()
    return render_template(
        "inspections/campaign.html",
        campaign=campaign,
        rows=rows,
        total=total,
        mine=mine,
        done=queries.tiers_done([u.id for u in mine or []]),
        draws=campaign_draws,
        criterion_labels=CRITERION_LABELS,
        Tier=Tier,
        today=local_today(),
        confirm=ConfirmForm(),
    )


@bp.route("/campaigns/<id:campaign_id>/items", methods=["GET", "POST"])
@permission_required(permissions.can_manage_campaigns)
@form_view
def campaign_items(campaign_id):
    campaign = _campaign_or_404(campaign_id)
    form = ItemForm()
    form.category_id.choices = [SelectChoice(c.id, cache.snapshot().category_label(c.id)) for c in campaign.categories]
    if form.validate_on_submit():
        with committing(form) as saved:
            services.save_item(
                permissions.acting_user(),
                campaign,
                None,
                category_id=form.category_id.data,
                text=form.text.data,
                criterion=form.criterion.data,
            )
        if saved:
            flash(_("Item added to the checklist."), "success")
            return redirect(url_for("inspections.campaign_items", campaign_id=campaign.id))
    return render_template(
        "inspections/items.html", campaign=campaign, form=form, criterion_labels=CRITERION_LABELS, confirm=ConfirmForm()
    )


@bp.route("/campaigns/<id:campaign_id>/items/<id:item_id>", methods=["GET", "POST"])
@permission_required(permissions.can_manage_campaigns)
@form_view
def campaign_item_edit(campaign_id, item_id):
    campaign = _campaign_or_404(campaign_id)
    item = db.session.get(CheckItem, item_id)
    if item is None or item.campaign_id != campaign.id or item.deleted_at is not None:
        abort(404)
    form = ItemForm(obj=item if request.method == "GET" else None)
    form.category_id.choices = [SelectChoice(c.id, cache.snapshot().category_label(c.id)) for c in campaign.categories]
    if form.validate_on_submit():
        with committing(form) as saved:
            services.save_item(
                permissions.acting_user(),
                campaign,
                item,
                category_id=form.category_id.data,
                text=form.text.data,
                criterion=form.criterion.data,
            )
        if saved:
            flash(_("Checklist item saved."), "success")
            return redirect(url_for("inspections.campaign_items", campaign_id=campaign.id))
    return render_template("inspections/item_edit.html", campaign=campaign, item=item, form=form)


@bp.post("/campaigns/<id:campaign_id>/items/<id:item_id>/remove")
@permission_required(permissions.can_manage_campaigns)
def campaign_item_remove(campaign_id, item_id):
    campaign = _campaign_or_404(campaign_id)
    item = db.session.get(CheckItem, item_id)
    if item is None or item.campaign_id != campaign.id or item.deleted_at is not None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        with committing() as saved:
            services.remove_item(permissions.acting_user(), campaign, item)
        if saved:
            flash(_("Item removed from the checklist."), "success")
    return redirect(url_for("inspections.campaign_items", campaign_id=campaign.id))


@bp.post("/campaigns/<id:campaign_id>/open")
@permission_required(permissions.can_manage_campaigns)
def campaign_open(campaign_id):
    campaign = _campaign_or_404(campaign_id)
    if ConfirmForm().validate_on_submit():
        with committing() as started:
            job = campaign_jobs.start_opening(permissions.acting_user(), campaign)
        if started:  # freezing a city's year of engagements runs outside this request
            jobs.queue(job)
            return redirect(url_for("jobs.detail", job_id=job.id))
    return redirect(url_for("inspections.campaign", campaign_id=campaign.id))


@bp.post("/campaigns/<id:campaign_id>/close")
@permission_required(permissions.can_manage_campaigns)
def campaign_close(campaign_id):
    campaign = _campaign_or_404(campaign_id)
    if ConfirmForm().validate_on_submit():
        with committing() as saved:
            services.close_campaign(permissions.acting_user(), campaign)
        if saved:
            flash(_("The campaign is closed."), "success")
    return redirect(url_for("inspections.campaign", campaign_id=campaign.id))


@bp.get("/campaigns/<id:campaign_id>/units")
@permission_required(permissions.can_list_campaigns)
def units(campaign_id):
    campaign = _campaign_or_404(campaign_id)
    form = UnitFilterForm(request.args)
    counties = cache.snapshot().active_counties()
    if permissions.is_county_regulator(current_user):
        counties = [c for c in counties if c.id == current_user.county_id]
    form.county.choices = [SelectChoice("", _("All"))] + [SelectChoice(c.id, c.name_zh) for c in counties]
    form.state.choices = [SelectChoice("", _("All"))] + [SelectChoice(k, v) for k, v in STATE_LABELS.items()]
    form.validate()
    state = form.state.data if form.state.data in STATE_LABELS else ""
    text = (form.q.data or "") if not form.q.errors else ""
    query = queries.units_query(
        current_user, campaign, county_id=optional_int(request.args.get("county")), state=state, text=text
    )
    page = paginate(query.options(*queries.unit_list_options()))
    return render_template(
        "inspections/units.html",
        campaign=campaign,
        page=page,
        form=form,
        done=queries.tiers_done([u.id for u in page.items]),
        today=local_today(),
        Tier=Tier,
    )


# --- a unit and its checks -----------------------------------------------------------------------


@bp.get("/units/<id:unit_id>")
@permission_required(permissions.can_list_campaigns)
def unit(unit_id):
    unit, record, assigned = _unit_or_404(unit_id)
    checks = db.session.scalars(db.select(Check).where(Check.unit_id == unit.id).order_by(Check.id)).all()
    checks = [c for c in checks if permissions.can_read_check(current_user, c, assigned)]
    findings = db.session.scalars(db.select(Finding).where(Finding.unit_id == unit.id).order_by(Finding.id)).all()
    findings = [f for f in findings if permissions.can_view_finding(current_user, f)]
    return render_template(
        "inspections/unit.html",
        unit=unit,
        checks=checks,
        findings=findings,
        draw=record,
        assigned=assigned,
        pool={i["id"]: i for i in (record.inspector_pool if record else [])},
        may_self=permissions.can_self_check(current_user, unit),
        may_recheck=permissions.can_recheck(current_user, unit),
        may_spot=record is not None and permissions.can_spot_check(current_user, unit, assigned),
        today=local_today(),
        services=services,
    )


def _answers(unit):
    return {
        item.id: (request.form.get(f"item-{item.id}"), request.form.get(f"note-{item.id}", "")[:1000])
        for item in services.items_for(unit)
    }


def _names(text):
    for separator in ("，", ",", "；", ";"):
        text = text.replace(separator, "、")
    return [n.strip() for n in text.split("、") if n.strip()]


@bp.route("/units/<id:unit_id>/<any('self-check', 'recheck', 'spot-check'):slug>", methods=["GET", "POST"])
@permission_required(permissions.can_list_campaigns)
@form_view
def check(unit_id, slug):
    unit, record, assigned = _unit_or_404(unit_id)
    tier = TIER_SLUGS[slug]
    allowed = {
        Tier.SELF: permissions.can_self_check(current_user, unit),
        Tier.RECHECK: permissions.can_recheck(current_user, unit),
        Tier.SPOT: record is not None and permissions.can_spot_check(current_user, unit, assigned),
    }[tier]
    if not allowed:
        abort(403)
    form = CheckForm()
    previous = services.current_check(unit, tier)
    answers = _answers(unit) if request.method == "POST" else {}
    if request.method == "GET" and tier is not Tier.SELF:
        names = [i["name"] for i in (record.inspector_pool if record else []) if i["id"] in assigned]
        form.inspectors.data = "、".join(names or [current_user.display_name])
    item_errors, saved = {}, None
    if form.validate_on_submit():
        with committing(form) as saved:
            done = services.submit_check(
                permissions.acting_user(),
                unit,
                tier,
                answers=answers,
                conclusion=Conclusion(form.conclusion.data),
                summary=form.summary.data,
                uploads=[f for f in (form.evidence.data or []) if getattr(f, "filename", "")],
                inspectors=_names(form.inspectors.data or "") if tier is not Tier.SELF else (),
                draw=record if tier is Tier.SPOT else None,
                assigned=assigned,
            )
        if saved:
            flash(_("%(tier)s submitted.", tier=tier.label), "success")
            if tier is not Tier.SELF and done.conclusion is not Conclusion.COMPLIANT:
                return redirect(url_for("inspections.finding_new", check_id=done.id))
            return redirect(url_for("inspections.unit", unit_id=unit.id))
    if saved is not None and saved.error is not None:
        for error in getattr(saved.error, "errors", None) or [saved.error]:
            if (error.field or "").startswith(("item-", "note-")):
                item_errors[error.field] = str(error.message)
        form.form_errors[:] = [e for e in form.form_errors if e not in item_errors.values()]
        if item_errors:
            form.form_errors.append(_("Some checklist items need your attention: see below."))
    return render_template(
        "inspections/check_form.html",
        unit=unit,
        tier=tier,
        slug=slug,
        form=form,
        items=services.items_for(unit),
        answers=answers,
        item_errors=item_errors,
        previous=previous,
        own=services.current_check(unit, Tier.SELF) if tier is not Tier.SELF else None,
        answer_labels=[(a.value, a.label) for a in Answer],
        criterion_labels=CRITERION_LABELS,
    )


@bp.get("/checks/<id:check_id>/files/<id:file_id>")
@permission_required(permissions.can_list_campaigns)
def check_file(check_id, file_id):
    record = db.session.get(Check, check_id)
    if record is None:
        abort(404)
    _unit, _draw, assigned = _unit_or_404(record.unit_id)
    if not permissions.can_read_check(current_user, record, assigned):
        abort(403)
    attached = next((f for f in record.files if f.file_id == file_id), None)
    if attached is None:
        abort(404)
    return send_stored(attached.file)


@bp.get("/checks/<id:check_id>.pdf")
@permission_required(permissions.can_list_campaigns)
def check_pdf(check_id):
    from flask import make_response

    from marketplace.inspections import documents

    record = db.session.get(Check, check_id)
    if record is None:
        abort(404)
    _unit, _draw, assigned = _unit_or_404(record.unit_id)
    if record.tier is Tier.SELF or not permissions.can_read_check(current_user, record, assigned):
        abort(403)
    response = make_response(documents.check_record_pdf(record))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="inspection-record-{record.id}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- findings and rectification ------------------------------------------------------------------


@bp.route("/checks/<id:check_id>/findings/new", methods=["GET", "POST"])
@permission_required(permissions.is_regulator)
@form_view
def finding_new(check_id):
    record = db.session.get(Check, check_id)
    if record is None:
        abort(404)
    unit, _draw, _assigned = _unit_or_404(record.unit_id)
    if not permissions.can_record_finding(current_user, record):
        abort(403)
    form = FindingForm()
    violations = services.active_violations()
    form.violation_id.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(v.id, f"{v.code} {v.title}（{v.party.label}）") for v in violations
    ]
    staff = db.session.scalars(
        db.select(StaffMember)
        .where(StaffMember.provider_id == unit.provider_id, StaffMember.deleted_at.is_(None))
        .order_by(StaffMember.id)
    ).all()
    form.staff_member_id.choices = [SelectChoice("", _("Nobody in particular"))] + [
        SelectChoice(s.id, s.name) for s in staff
    ]
    if form.validate_on_submit():
        with committing(form) as saved:
            finding = services.record_finding(
                permissions.acting_user(),
                record,
                violation_id=form.violation_id.data,
                facts=form.facts.data,
                staff_member_id=form.staff_member_id.data,
                rectification_due=form.rectification_due.data,
            )
        if saved:
            flash(_("Finding %(code)s recorded.", code=finding.code), "success")
            return redirect(url_for("inspections.unit", unit_id=unit.id, _anchor="findings"))
    return render_template(
        "inspections/finding_form.html",
        form=form,
        check=record,
        unit=unit,
        findings=record.findings,
        violations={v.id: v for v in violations},
    )


@bp.get("/findings")
@permission_required(permissions.can_list_findings)
def findings():
    from marketplace.inspections import finding_queries

    overdue_only = request.args.get("overdue") == "1"
    query = finding_queries.findings_for(current_user, overdue_only=overdue_only)
    page = paginate(query.options(*finding_queries.list_options()))
    return render_template(
        "inspections/findings.html", page=page, overdue_only=overdue_only, services=services, today=local_today()
    )


@bp.route("/findings/<id:finding_id>", methods=["GET", "POST"])
@permission_required(permissions.can_list_findings)
@form_view
def finding(finding_id):
    finding = _finding_or_404(finding_id)
    rectify, decide = RectificationForm(prefix="r"), DecisionForm(prefix="d")
    actor = permissions.acting_user()
    if request.method == "POST" and request.form.get("form") == "rectify" and rectify.validate_on_submit():
        upload = rectify.file.data if getattr(rectify.file.data, "filename", "") else None
        with committing(rectify) as saved:
            services.submit_rectification(actor, finding, note=rectify.note.data, upload=upload)
        if saved:
            flash(_("Evidence submitted: the regulator will accept it or return it."), "success")
            return redirect(url_for("inspections.finding", finding_id=finding.id))
    elif request.method == "POST" and request.form.get("form") == "decide" and decide.validate_on_submit():
        with committing(decide) as saved:
            services.decide_rectification(
                actor, finding, accept=decide.decision.data == "accept", reason=decide.reason.data
            )
        if saved:
            flash(_("Decision recorded."), "success")
            return redirect(url_for("inspections.finding", finding_id=finding.id))
    elif request.method == "POST" and request.form.get("form") not in ("rectify", "decide"):
        abort(400)
    from marketplace.inspections.models import Penalty

    penalties = db.session.scalars(
        db.select(Penalty).where(Penalty.finding_id == finding.id).order_by(Penalty.id)
    ).all()
    state = services.rectification_state(finding)
    return render_template(
        "inspections/finding.html",
        finding=finding,
        state=state,
        overdue=services.is_overdue(finding),
        rectify=rectify,
        decide=decide,
        may_rectify=permissions.is_finding_party(current_user, finding) and state in ("open", "returned"),
        may_decide=permissions.can_decide_finding(current_user, finding) and state == "submitted",
        may_penalise=permissions.can_decide_finding(current_user, finding),
        penalties=penalties,
        services=services,
    )


@bp.get("/findings/<id:finding_id>/files/<id:file_id>")
@permission_required(permissions.can_list_findings)
def finding_file(finding_id, file_id):
    finding = _finding_or_404(finding_id)
    step = next((s for s in finding.steps if s.file_id == file_id), None)
    if step is None:
        abort(404)
    return send_stored(step.file)


# --- the violation catalogue ---------------------------------------------------------------------


@bp.get("/violations")
@permission_required(permissions.can_view_violations)
def violations():
    rows = db.session.scalars(db.select(Violation).order_by(Violation.sort_order, Violation.code)).all()
    return render_template("inspections/violations.html", violations=rows)


VIOLATION_FIELDS = ("code", "title", "description", "severity", "party", "legal_basis", "sort_order", "active")


def _violation_values(form):
    return dict(
        code=form.code.data,
        title=form.title.data,
        description=form.description.data or "",
        severity=Severity(form.severity.data),
        party=Party(form.party.data),
        legal_basis=form.legal_basis.data or "",
        sort_order=form.sort_order.data or 0,
        active=bool(form.active.data),
    )


@bp.route("/violations/new", methods=["GET", "POST"])
@bp.route("/violations/<id:violation_id>", methods=["GET", "POST"])
@permission_required(permissions.can_manage_campaigns)
@form_view
def violation_edit(violation_id=None):
    violation = db.session.get(Violation, violation_id) if violation_id else None
    if violation_id and violation is None:
        abort(404)
    form = ViolationForm(obj=violation if request.method == "GET" else None)
    if request.method == "GET" and violation is not None:
        form.severity.data, form.party.data = violation.severity.value, violation.party.value
    state, saved = editing.state_of(violation, VIOLATION_FIELDS), None
    if form.validate_on_submit():
        with committing(form) as saved:
            editing.check(form, violation, state)
            services.save_violation(permissions.acting_user(), violation, **_violation_values(form))
        if saved:
            flash(_("Violation catalogue saved."), "success")
            return redirect(url_for("inspections.violations"))
    editing.stamp(form, violation, state, saved)
    return render_template("inspections/violation_form.html", form=form, violation=violation)


@bp.get("/campaigns/<id:campaign_id>/dashboard.<any(pdf, xlsx):fmt>")
@permission_required(permissions.is_regulator)
def dashboard_export(campaign_id, fmt):
    from flask import make_response

    from marketplace.inspections import documents

    campaign = _campaign_or_404(campaign_id)
    county_id = current_user.county_id if permissions.is_county_regulator(current_user) else None
    rows, total = queries.dashboard(campaign, county_id=county_id)
    if fmt == "pdf":
        response = make_response(documents.dashboard_pdf(campaign, rows, total))
        response.headers["Content-Type"] = "application/pdf"
    else:
        response = make_response(documents.dashboard_xlsx(campaign, rows, total))
        response.headers["Content-Type"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"campaign-{campaign.id}-coverage-{local_today().isoformat()}.{fmt}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
