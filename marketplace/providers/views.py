"""Public directory and profiles; the agency's own declaration; regulators' suspensions."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice

from marketplace.auth import permissions
from marketplace.common import reference
from marketplace.common.errors import DomainError
from marketplace.common.forms import form_view, show_error
from marketplace.common.pagination import paginate
from marketplace.common.time import local_today
from marketplace.common.uploads import send_stored
from marketplace.extensions import db
from marketplace.pledges import services as pledges
from marketplace.providers import directory, services
from marketplace.providers.forms import DeclarationForm, FeeForm, QualificationForm, StaffForm, StatusForm
from marketplace.providers.models import Fee, ProviderStatus, Qualification, StaffMember

bp = Blueprint("providers", __name__, url_prefix="/providers")

declare = permissions.permission_required(permissions.can_declare)
regulate = permissions.permission_required(permissions.is_regulator)

# The three kinds of item a declaration lists: model, form, service, the fields the form edits.
ITEMS = {
    "qualifications": (Qualification, QualificationForm, services.save_qualification,
                       ("cert_number", "issuer", "scope", "valid_from", "valid_to", "category_ids")),
    "staff": (StaffMember, StaffForm, services.save_staff, ("name", "title", "cert_number", "id_number")),
    "fees": (Fee, FeeForm, services.save_fee, ("item", "unit", "price_min", "price_max", "basis")),
}
KINDS = "any(qualifications, staff, fees)"



def _int_arg(name):
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return value if 0 < value < 2**31 else None


# --- public ----------------------------------------------------------------------------------

@bp.get("")
def index():
    filters = directory.DirectoryFilters(
        q=request.args.get("q", "").strip()[:100], category_id=_int_arg("category"), county_id=_int_arg("county"),
        pledge=request.args.get("pledge", ""), sort=request.args.get("sort", "relevance"),
    )
    facets = None
    try:
        page = directory.search_directory(filters, _int_arg("page") or 1, current_app.config["PER_PAGE"])
        facets = dict(page.facets, pledge=directory.pledge_facets(page.facets["pledge"]))
    except Exception:  # the index is unavailable: the directory still works from the database
        current_app.logger.exception("search unavailable; directory served from the database")
        page = paginate(directory.directory_query(filters))
    known = reference.snapshot()
    return render_template(
        "providers/index.html", page=page, filters=filters, rows=directory.row_details(page.items),
        groups=known.active_groups(), counties=known.active_counties(),
        sorts=directory.SORTS, pledge_filters=directory.PLEDGE_FILTERS, facets=facets,
        highlights=getattr(page, "highlights", {}), suggestion=getattr(page, "suggestion", None),
    )


@bp.get("/compare")
def compare():
    """Two to four listed agencies side by side."""
    chosen = []
    for value in request.args.getlist("ids")[:10]:
        try:
            number = int(value)
        except ValueError:
            continue
        if 0 < number < 2**31 and number not in chosen:
            chosen.append(number)
    providers = directory.listed_by_ids(chosen)
    if not 2 <= len(providers) <= 4:
        flash(_("Choose two to four agencies to compare."), "warning")
        return redirect(url_for("providers.index"))
    today = local_today()
    return render_template("providers/compare.html", providers=providers, rows=directory.row_details(providers),
                           today=today)


@bp.get("/<id:provider_id>")
def detail(provider_id):
    from marketplace.enterprises import ratings

    provider = services.get_provider_or_404(provider_id, for_user=current_user)
    expired, soon = services.qualification_alerts(provider)
    return render_template(
        "providers/detail.html", provider=provider, pledge_state=pledges.pledge_state(provider),
        ratings=ratings.latest_for_provider(provider.id),
        signature=pledges.latest_signature(provider.id), expired=expired,
        can_see_private=permissions.can_view_provider_private(current_user, provider),
    )


# --- private: history, files, regulators' actions --------------------------------------------

@bp.get("/<id:provider_id>/history")
def history(provider_id):
    provider = services.get_provider_or_404(provider_id, for_user=current_user, private=True)
    return render_template("providers/history.html", provider=provider, revisions=services.revisions(provider))


@bp.get("/<id:provider_id>/files/<id:file_id>")
def qualification_file(provider_id, file_id):
    provider = services.get_provider_or_404(provider_id, for_user=current_user, private=True)
    for item in provider.qualifications:
        if item.file_id == file_id:
            return send_stored(item.file)
    abort(404)


def _status_change(provider_id, action):
    provider = services.get_provider_or_404(provider_id, for_user=current_user)
    if not permissions.can_suspend_provider(current_user, provider):
        abort(403)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            getattr(services, action)(permissions.acting_user(), provider, form.reason.data)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            db.session.commit()
            flash(_("The agency is suspended.") if action == "suspend" else _("The suspension is lifted."),
                  "success")
            return redirect(url_for("providers.detail", provider_id=provider.id))
    return render_template("providers/status.html", provider=provider, form=form, action=action)


@bp.route("/<id:provider_id>/suspend", methods=["GET", "POST"])
@regulate
@form_view
def suspend(provider_id):
    return _status_change(provider_id, "suspend")


@bp.route("/<id:provider_id>/reinstate", methods=["GET", "POST"])
@regulate
@form_view
def reinstate(provider_id):
    return _status_change(provider_id, "reinstate")


# --- the agency's own declaration ------------------------------------------------------------

def _mine():
    return services.own_provider(permissions.acting_user(), create=True)


@bp.get("/me")
@declare
def mine():
    provider = _mine()
    db.session.commit()  # the empty draft, made on first visit
    provider = services.get_provider_or_404(provider.id, for_user=current_user, private=True)
    expired, soon = services.qualification_alerts(provider)
    current = pledges.current_text()
    return render_template(
        "providers/mine.html", provider=provider, missing=services.missing_items(provider),
        pledge_state=pledges.pledge_state(provider, current), current_text=current,
        signature=pledges.latest_signature(provider.id), expired=expired, soon=soon,
    )


@bp.route("/me/declaration", methods=["GET", "POST"])
@declare
@form_view
def declaration():
    provider = _mine()
    form = DeclarationForm(obj=provider)
    known = reference.snapshot()
    counties, groups = known.active_counties(), known.active_groups()
    form.county_id.choices = [SelectChoice("", _("— choose —"))] + [SelectChoice(str(c.id), c.name) for c in counties]
    form.category_ids.choices = [SelectChoice(str(c.id), c.name) for g in groups for c in g.children if c.active]
    form.region_ids.choices = [SelectChoice(str(c.id), c.name) for c in counties]
    if request.method == "GET":
        form.category_ids.data = [c.id for c in provider.categories]
        form.region_ids.data = [c.id for c in provider.regions]
    if form.validate_on_submit():
        values = {name: form[name].data for name in (
            "uscc", "name", "former_names", "legal_representative", "county_id", "address", "contact_person",
            "phone", "email", "website", "founded_on", "description")}
        try:
            services.save_declaration(permissions.acting_user(), provider, category_ids=form.category_ids.data,
                                      region_ids=form.region_ids.data, **values)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        except IntegrityError:  # another agency took the same credit code a moment ago
            db.session.rollback()
            show_error(form, services.DuplicateUSCC())
        else:
            flash(_("The declaration is saved."), "success")
            return redirect(url_for("providers.mine"))
    return render_template("providers/declaration.html", form=form, provider=provider, groups=groups,
                           counties=counties)


@bp.route(f"/me/<{KINDS}:kind>/new", methods=["GET", "POST"])
@bp.route(f"/me/<{KINDS}:kind>/<id:item_id>", methods=["GET", "POST"])
@declare
@form_view
def item(kind, item_id=None):
    model, form_class, save, fields = ITEMS[kind]
    provider = _mine()
    item = services._own_item(model, provider, item_id) if item_id else None
    form = form_class(obj=item)
    if kind == "qualifications":
        form.category_ids.choices = [SelectChoice(c.id, c.name) for c in provider.categories]
        if request.method == "GET" and item is not None:
            form.category_ids.data = [c.id for c in item.categories]
    if kind == "staff" and request.method == "GET":
        form.id_number.data = ""  # never sent to the browser; shown masked beside the field
    if form.validate_on_submit():
        values = {name: form[name].data for name in fields}
        if kind == "qualifications":
            values["upload"] = form.file.data if getattr(form.file.data, "filename", "") else None
        try:
            save(permissions.acting_user(), provider, item, **values)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("providers.mine", _anchor=kind))
    if kind == "staff":
        form.id_number.data = form.id_number.data if item is None else ""
    return render_template("providers/item.html", form=form, kind=kind, item=item, provider=provider)


@bp.post(f"/me/<{KINDS}:kind>/<id:item_id>/delete")
@declare
def item_delete(kind, item_id):
    model = ITEMS[kind][0]
    provider = _mine()
    item = services._own_item(model, provider, item_id)
    services.remove_item(permissions.acting_user(), provider, item, kind)
    db.session.commit()
    flash(_("Removed. The earlier state stays in the history."), "success")
    return redirect(url_for("providers.mine", _anchor=kind))


@bp.post("/me/withdraw")
@declare
def withdraw():
    provider = _mine()
    try:
        services.withdraw(permissions.acting_user(), provider)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    else:
        db.session.commit()
        flash(_("Your agency is withdrawn from the directory. Sign the pledge again to return."), "success")
    return redirect(url_for("providers.mine"))


@bp.get("/me/history")
@declare
def my_history():
    provider = _mine()
    db.session.commit()
    return render_template("providers/history.html", provider=provider, revisions=services.revisions(provider))


@bp.app_context_processor
def provider_helpers():
    return {"status_labels": {status.value: status.label for status in ProviderStatus}}
