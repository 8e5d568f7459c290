"""Spot-check draws: committed and revealed by the city, public to everyone (page, JSON, population
file), and inspectors' declared conflicts."""

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from marketplace.auth import permissions
from marketplace.auth.permissions import permission_required
from marketplace.common.forms import form_view
from marketplace.common.pagination import paginate
from marketplace.common.transaction import committing
from marketplace.extensions import db
from marketplace.inspections import draw as nt_draw
from marketplace.inspections import draws
from marketplace.inspections.forms import ConflictForm, DrawForm, RevealForm
from marketplace.inspections.models import Campaign, CampaignStatus, CampaignUnit, ConflictDeclaration, Draw
from marketplace.providers.models import Provider

bp = Blueprint("draws", __name__, url_prefix="/inspections")


def _draw_or_404(draw_id):
    record = db.session.get(Draw, draw_id)
    if record is None:
        abort(404)
    return record


@bp.get("/draws")
def index():
    page = paginate(db.select(Draw).order_by(Draw.committed_at.desc(), Draw.id.desc()))
    return render_template("inspections/draws.html", page=page)


@bp.route("/draws/<id:draw_id>", methods=["GET", "POST"])
@form_view
def detail(draw_id):
    record = _draw_or_404(draw_id)
    form = RevealForm()
    may_reveal = permissions.can_manage_campaigns(current_user) and record.revealed_at is None
    if form.is_submitted() and not may_reveal:
        abort(403 if not permissions.can_manage_campaigns(current_user) else 409)
    if may_reveal and form.validate_on_submit():
        with committing(form) as saved:
            draws.reveal_draw(permissions.acting_user(), record, form.seed.data)
        if saved:
            flash(_("The seed is entered and the sample drawn: it can never change."), "success")
            return redirect(url_for("draws.detail", draw_id=record.id))
    units = {}
    if record.sample:
        rows = db.session.scalars(
            db.select(CampaignUnit).where(
                CampaignUnit.campaign_id == record.campaign_id, CampaignUnit.unit.in_(record.sample)
            )
        ).all()
        units = {u.unit: u for u in rows}
    return render_template(
        "inspections/draw.html",
        draw=record,
        form=form,
        may_reveal=may_reveal,
        data=draws.as_json(record),
        units=units,
        pool={i["id"]: i for i in record.inspector_pool},
        algorithm_steps=nt_draw.__doc__,
    )


@bp.get("/draws/<id:draw_id>.json")
def detail_json(draw_id):
    response = jsonify(draws.as_json(_draw_or_404(draw_id)))
    response.headers["Access-Control-Allow-Origin"] = "*"  # public data: anyone's verifier may read it
    return response


@bp.get("/draws/<id:draw_id>/population.csv")
def population(draw_id):
    record = _draw_or_404(draw_id)
    return Response(
        record.population,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="draw-{record.id}-population.csv"',
            "Access-Control-Allow-Origin": "*",
            "X-Content-Type-Options": "nosniff",
        },
    )


@bp.route("/campaigns/<id:campaign_id>/draws/new", methods=["GET", "POST"])
@permission_required(permissions.can_manage_campaigns)
@form_view
def new(campaign_id):
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    if campaign.status is not CampaignStatus.OPEN:
        flash(_("Only an open campaign's population can be drawn from."), "warning")
        return redirect(url_for("inspections.campaign", campaign_id=campaign.id))
    form = DrawForm()
    candidates = draws.candidates()
    form.inspectors.choices = [
        SelectChoice(
            u.id, f"{permissions.inspector_id(u)} {u.display_name}（{u.county.name_zh if u.county else draws.CITY}）"
        )
        for u in candidates
    ]
    if not form.is_submitted():
        form.inspectors.data = [u.id for u in candidates]
    if form.validate_on_submit():
        with committing(form) as saved:
            record = draws.commit_draw(
                permissions.acting_user(),
                campaign,
                seed_source=form.seed_source.data,
                inspector_ids=form.inspectors.data,
            )
        if saved:
            flash(_("The draw is committed and public. Enter the seed once its source publishes it."), "success")
            return redirect(url_for("draws.detail", draw_id=record.id))
    sizes = dict(
        db.session.execute(
            db.select(CampaignUnit.stratum, db.func.count())
            .where(CampaignUnit.campaign_id == campaign.id)
            .group_by(CampaignUnit.stratum)
        ).all()
    )
    from marketplace.inspections import services

    return render_template(
        "inspections/draw_new.html",
        campaign=campaign,
        form=form,
        quotas=sorted(services.quotas(campaign, sizes).items()),
        sizes=sizes,
        pending=draws.pending_draw(campaign),
        conflicts=draws.declared_conflicts(u.id for u in candidates),
    )


@bp.route("/conflicts", methods=["GET", "POST"])
@permission_required(permissions.can_declare_conflict)
@form_view
def conflicts():
    form = ConflictForm()
    if form.validate_on_submit():
        from marketplace.common.identifiers import clean_uscc

        provider = db.session.scalar(db.select(Provider).where(Provider.uscc == clean_uscc(form.uscc.data)))
        if provider is None:
            form.uscc.errors = [_("No agency has this credit code.")]
        else:
            with committing(form) as saved:
                draws.declare_conflict(permissions.acting_user(), provider, form.reason.data)
            if saved:
                flash(_("Declared: draws committed from now on never assign you to this agency's units."), "success")
                return redirect(url_for("draws.conflicts"))
    mine = db.session.scalars(
        db.select(ConflictDeclaration)
        .where(ConflictDeclaration.inspector_id == current_user.id)
        .order_by(ConflictDeclaration.id.desc())
    ).all()
    return render_template("inspections/conflicts.html", form=form, mine=mine)
