"""Administrative penalties: recorded from a finding by the regulators with jurisdiction, public at
``/penalties`` (and on the agency's profile) during their publicity period, a person's name masked."""

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload
from wtforms.fields.choices import SelectChoice

from marketplace.auth import permissions
from marketplace.auth.permissions import permission_required
from marketplace.common.exports import csv_bytes
from marketplace.common.forms import form_view, optional_int
from marketplace.common.pagination import paginate
from marketplace.common.time import local_today
from marketplace.common.transaction import committing
from marketplace.extensions import db
from marketplace.inspections import queries, services
from marketplace.inspections.forms import PenaltyCorrectionForm, PenaltyFilterForm, PenaltyForm
from marketplace.inspections.models import LABELS, Finding, Party, Penalty, PenaltyKind
from marketplace.providers import signals
from marketplace.providers.models import Provider
from marketplace.reference import cache

bp = Blueprint("penalties", __name__)


def public_penalties(today=None):
    """Penalties inside their publicity period, never set aside."""
    today = today or local_today()
    return sa.select(Penalty).where(
        queries.in_force(Penalty), Penalty.publicity_start <= today, Penalty.publicity_end >= today
    )


def _filtered(form, everything):
    query = sa.select(Penalty) if everything else public_penalties()
    county = optional_int(request.args.get("county"))
    if county:
        query = query.where(Penalty.county_id == county)
    kind = request.args.get("kind", "")
    if kind in {k.value for k in PenaltyKind}:
        query = query.where(Penalty.kind == PenaltyKind(kind))
    year = optional_int(request.args.get("year"))
    if year and 2000 <= year <= 2100:
        query = query.where(Penalty.decided_on.between(date(year, 1, 1), date(year, 12, 31)))
    agency = (form.agency.data or "").strip() if not form.agency.errors else ""
    if agency:
        like = f"%{agency.replace('%', '').replace('_', '')}%"
        query = query.where(
            Penalty.provider_id.in_(
                sa.select(Provider.id).where(sa.or_(Provider.name.ilike(like), Provider.uscc == agency))
            )
        )
    return query.order_by(Penalty.decided_on.desc(), Penalty.id.desc())


@bp.get("/penalties")
def index():
    form = PenaltyFilterForm(request.args)
    form.county.choices = [SelectChoice("", _("All"))] + [
        SelectChoice(c.id, c.name_zh) for c in cache.snapshot().active_counties()
    ]
    form.kind.choices = [SelectChoice("", _("All"))] + [SelectChoice(k.value, LABELS[k]) for k in PenaltyKind]
    this_year = local_today().year
    form.year.choices = [SelectChoice("", _("All"))] + [
        SelectChoice(y, str(y)) for y in range(this_year, this_year - 6, -1)
    ]
    form.validate()
    everything = permissions.can_see_every_penalty(current_user) and request.args.get("all") == "1"
    query = _filtered(form, everything)
    if request.args.get("format") == "csv":
        return _csv(db.session.scalars(query.limit(50000)).all())
    page = paginate(query.options(joinedload(Penalty.county)))
    return render_template(
        "inspections/penalties.html",
        page=page,
        form=form,
        everything=everything,
        services=services,
        today=local_today(),
    )


def _csv(penalties):
    header = [
        "决定书文号",
        "处罚对象",
        "对象类型",
        "处罚种类",
        "罚款（元）",
        "没收违法所得（元）",
        "决定日期",
        "公示起",
        "公示止",
        "属地",
        "违法事实",
        "处罚依据",
    ]
    rows = [
        [
            p.decision_no,
            services.public_name(p),
            LABELS[p.target],
            LABELS[p.kind],
            p.fine_amount if p.fine_amount is not None else "",
            p.confiscated_amount if p.confiscated_amount is not None else "",
            p.decided_on.isoformat(),
            p.publicity_start.isoformat(),
            p.publicity_end.isoformat(),
            p.county.name_zh,
            p.facts,
            p.legal_basis,
        ]
        for p in penalties
    ]
    return Response(
        csv_bytes([str(h) for h in header], [[str(c) for c in row] for row in rows]),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="penalties-{local_today().isoformat()}.csv"'},
    )


@bp.get("/penalties/<id:penalty_id>")
def detail(penalty_id):
    penalty = db.session.get(Penalty, penalty_id)
    if penalty is None:
        abort(404)
    public = db.session.scalar(public_penalties().where(Penalty.id == penalty.id).with_only_columns(Penalty.id))
    if not public and not permissions.can_see_every_penalty(current_user):
        abort(404)
    newer = db.session.scalar(sa.select(Penalty).where(Penalty.supersedes_id == penalty.id))
    return render_template(
        "inspections/penalty.html",
        penalty=penalty,
        newer=newer,
        older=db.session.get(Penalty, penalty.supersedes_id) if penalty.supersedes_id else None,
        may_correct=newer is None and permissions.can_decide_finding(current_user, penalty.finding),
        public=bool(public),
        services=services,
        deadline=services.publication_deadline(penalty.decided_on),
        late=services.published_late(penalty),
    )


def _penalty_page(finding, form, corrects=None):
    """The penalty form, for a new decision or a correction of ``corrects``; records it when valid."""
    form.target.choices = [
        SelectChoice(party.value, f"{LABELS[party]}：{name}") for party, name in services.penalty_targets(finding)
    ]
    if request.method == "GET" and corrects is None:
        form.legal_basis.data = finding.legal_basis
        form.facts.data = finding.facts
        form.target.data = Party.PERSON.value if finding.party is Party.PERSON else finding.party.value
    if request.method == "GET" and corrects is not None:
        form.process(obj=corrects)
        form.target.data, form.kind.data = corrects.target.value, corrects.kind.value
    if form.validate_on_submit():
        correction = {}
        if corrects is not None:
            correction = dict(corrects=corrects, withdrawn=bool(form.withdraw.data), reason=form.reason.data)
        with committing(form) as saved:
            penalty = services.record_penalty(
                permissions.acting_user(),
                finding,
                target=Party(form.target.data),
                decision_no=form.decision_no.data,
                kind=PenaltyKind(form.kind.data),
                facts=form.facts.data,
                legal_basis=form.legal_basis.data,
                decided_on=form.decided_on.data,
                publicity_start=form.publicity_start.data,
                publicity_end=form.publicity_end.data,
                fine_amount=form.fine_amount.data,
                confiscated_amount=form.confiscated_amount.data,
                **correction,
            )
        if saved:
            if penalty.withdrawn:
                flash(_("The decision is set aside: it has left public view; both records stay."), "success")
            elif services.published_late(penalty):
                flash(
                    _(
                        "Recorded. Publication starts later than 7 working days after the decision: "
                        "it is flagged as late."
                    ),
                    "warning",
                )
            else:
                flash(_("Penalty recorded and published for its publicity period."), "success")
            return redirect(url_for("penalties.detail", penalty_id=penalty.id))
    return render_template("inspections/penalty_form.html", form=form, finding=finding, corrects=corrects)


@bp.route("/inspections/findings/<id:finding_id>/penalty", methods=["GET", "POST"])
@permission_required(permissions.is_regulator)
@form_view
def new(finding_id):
    finding = db.session.get(Finding, finding_id)
    if finding is None:
        abort(404)
    if not permissions.can_decide_finding(current_user, finding):
        abort(403)
    return _penalty_page(finding, PenaltyForm())


@bp.route("/penalties/<id:penalty_id>/correct", methods=["GET", "POST"])
@permission_required(permissions.is_regulator)
@form_view
def correct(penalty_id):
    """A correction is a new record that names the decision it replaces; the old one is never changed."""
    penalty = db.session.get(Penalty, penalty_id)
    if penalty is None:
        abort(404)
    if not permissions.can_decide_finding(current_user, penalty.finding):
        abort(403)
    if services.is_superseded(penalty):
        flash(_("This decision has already been corrected: correct the record in force."), "warning")
        return redirect(url_for("penalties.detail", penalty_id=penalty.id))
    return _penalty_page(penalty.finding, PenaltyCorrectionForm(), corrects=penalty)


@signals.profile_shown.connect
def _profile_penalties(provider):
    """An agency's profile shows its penalties (and its staff's, names masked) in their publicity period."""
    penalties = db.session.scalars(
        public_penalties().where(Penalty.provider_id == provider.id).order_by(Penalty.decided_on.desc()).limit(50)
    ).all()
    return {"penalties": penalties, "public_name": services.public_name}
