"""Public directory and profiles; the agency's own declaration and pledge; regulators' suspensions."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from marketplace.auth import permissions
from marketplace.common import editing, pagecache
from marketplace.common.database import writes_on_get
from marketplace.common.forms import form_view, show_error
from marketplace.common.pagination import paginate
from marketplace.common.time import local_today
from marketplace.common.transaction import committing
from marketplace.common.uploads import send_stored
from marketplace.pledges import services as pledges
from marketplace.pledges.forms import SignForm
from marketplace.providers import directory, public, revisions, services, signals
from marketplace.providers.forms import DeclarationForm, FeeForm, QualificationForm, StaffForm, StatusForm
from marketplace.providers.models import Fee, ProviderStatus, Qualification, StaffMember
from marketplace.reference import cache

bp = Blueprint("providers", __name__, url_prefix="/providers")


def declare(view):
    """An agency's own pages: for agencies only, and writing even on a GET (``_mine`` makes the draft
    record on the first visit)."""
    return writes_on_get(permissions.permission_required(permissions.can_declare)(view))


regulate = permissions.permission_required(permissions.is_regulator)

# The three kinds of item a declaration lists: model, form, service, the fields the form edits.
ITEMS = {
    "qualifications": (
        Qualification,
        QualificationForm,
        services.save_qualification,
        ("cert_number", "issuer", "scope", "valid_from", "valid_to", "category_ids"),
    ),
    "staff": (StaffMember, StaffForm, services.save_staff, ("name", "title", "cert_number", "id_number")),
    "fees": (Fee, FeeForm, services.save_fee, ("item", "unit", "price_min", "price_max", "basis")),
}
KINDS = "any(qualifications, staff, fees)"


def get_provider_or_404(provider_id, *, private=False):
    """A provider the current user may see: drafts and ``private`` pages need
    ``can_view_provider_private`` (404 for someone else's draft, 403 for a public agency's history)."""
    provider = services.load_provider(provider_id)
    if provider is None:
        abort(404)
    if (private or provider.status is ProviderStatus.DRAFT) and not permissions.can_view_provider_private(
        current_user, provider
    ):
        abort(404 if provider.status is ProviderStatus.DRAFT else 403)
    return provider


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
        q=request.args.get("q", "").strip()[:100],
        category_id=_int_arg("category"),
        county_id=_int_arg("county"),
        pledge=request.args.get("pledge", ""),
        sort=request.args.get("sort", "relevance"),
    )
    chosen = directory.chosen_names(directory.compare_ids(request.args.getlist("ids")))
    try:
        result = directory.search_hits(filters, _int_arg("page") or 1, current_app.config["PER_PAGE"])
    except Exception:  # the index is unavailable: the directory still works from the database
        current_app.logger.exception("search unavailable; directory served from the database")
        return _directory(filters, paginate(directory.directory_query(filters)), None, chosen)

    def depends():
        """The page as the index answers it, each agency on it at its version, the pledge in force, the
        reference data and the day: an edit re-renders the pages that show the agency, not every page."""
        hits = tuple((hit.provider_id, tuple(sorted(hit.highlights.items()))) for hit in result.hits)
        facets = tuple(sorted((name, tuple(sorted(counts.items()))) for name, counts in result.facets.items()))
        answer = (result.total, result.page, result.pages, result.suggestion, hits, facets)
        return answer, directory.page_versions(result), tuple(chosen.items()), cache.generation(), local_today()

    def render():
        page = directory.search_page(result)
        facets = dict(page.facets, pledge=directory.pledge_facets(page.facets["pledge"]))
        return _directory(filters, page, facets, chosen)

    return pagecache.kept(depends, render)


def _directory(filters, page, facets, chosen):
    known = cache.snapshot()
    return render_template(
        "providers/index.html",
        page=page,
        filters=filters,
        rows=directory.row_details(page.items),
        groups=known.active_groups(),
        counties=known.active_counties(),
        sorts=directory.SORTS,
        pledge_filters=directory.PLEDGE_FILTERS,
        facets=facets,
        highlights=getattr(page, "highlights", {}),
        suggestion=getattr(page, "suggestion", None),
        chosen=chosen,
        filter_args=directory.FILTER_ARGS,
    )


@bp.get("/compare")
def compare():
    """Two to four agencies enterprises can choose, side by side; any other number goes back to the
    directory page it came from, with the ticks kept and the reason."""
    chosen = directory.compare_ids(request.args.getlist("ids"))
    providers = directory.comparable_by_ids(chosen)
    suspended, unlisted = directory.not_comparable(chosen, providers)
    if suspended:
        flash(
            _("Suspended, so left out of the comparison: %(names)s.", names="、".join(suspended)),
            "warning",
        )
    if unlisted:
        flash(
            ngettext(
                "%(num)d agency you ticked is no longer listed and is left out.",
                "%(num)d agencies you ticked are no longer listed and are left out.",
                unlisted,
            ),
            "warning",
        )
    if not directory.COMPARE_MIN <= len(providers) <= directory.COMPARE_MAX:
        if len(providers) < directory.COMPARE_MIN:
            flash(_("Tick at least two agencies to compare (you ticked %(n)d).", n=len(providers)), "warning")
        else:
            flash(
                _("Compare at most four agencies at once (you ticked %(n)d): untick some.", n=len(providers)), "warning"
            )
        # back to the same directory page, every tick kept
        kept = {key: request.args[key] for key in directory.FILTER_ARGS if request.args.get(key)}
        return redirect(url_for("providers.index", ids=[p.id for p in providers], **kept))
    return render_template(
        "providers/compare.html", providers=providers, rows=directory.row_details(providers), today=local_today()
    )


def _profile_depends(provider_id):
    """What an agency's profile shows changes with: its own records (``providers.public``), the pledge
    in force and whether its grace period has passed, the counties and categories, and the day (a
    qualification expires, a penalty's publicity period ends)."""
    return public.version(provider_id), pledges.standing_in_force(), cache.generation(), local_today()


@bp.get("/<id:provider_id>")
@pagecache.for_visitors(_profile_depends)
def detail(provider_id):
    provider = get_provider_or_404(provider_id)
    expired, soon = services.qualification_alerts(provider)
    return render_template(
        "providers/detail.html",
        provider=provider,
        pledge_state=pledges.pledge_state(provider),
        extras=signals.profile_extras(provider),
        signature=pledges.latest_signature(provider.id),
        expired=expired,
        can_see_private=permissions.can_view_provider_private(current_user, provider),
    )


# --- private: history, files, regulators' actions --------------------------------------------


@bp.get("/<id:provider_id>/history")
def history(provider_id):
    provider = get_provider_or_404(provider_id, private=True)
    return render_template("providers/history.html", provider=provider, revisions=revisions.history(provider))


@bp.get("/<id:provider_id>/files/<id:file_id>")
def qualification_file(provider_id, file_id):
    provider = get_provider_or_404(provider_id, private=True)
    for item in provider.qualifications:
        if item.file_id == file_id:
            return send_stored(item.file)
    abort(404)


STATUS_CHANGES = {
    "suspend": (services.suspend, lambda: _("The agency is suspended.")),
    "reinstate": (services.reinstate, lambda: _("The suspension is lifted.")),
}


@bp.route("/<id:provider_id>/<any(suspend, reinstate):action>", methods=["GET", "POST"])
@regulate
@form_view
def status_change(provider_id, action):
    provider = get_provider_or_404(provider_id)
    if not permissions.can_suspend_provider(current_user, provider):
        abort(403)
    change, done = STATUS_CHANGES[action]
    form = StatusForm()
    if form.validate_on_submit():
        with committing(form) as saved:
            change(permissions.acting_user(), provider, form.reason.data)
        if saved:
            flash(done(), "success")
            return redirect(url_for("providers.detail", provider_id=provider.id))
    return render_template("providers/status.html", provider=provider, form=form, action=action)


# --- the agency's own declaration ------------------------------------------------------------


def _mine():
    """The agency's own record, made as an empty draft on first use (and committed then)."""
    with committing():
        provider = services.own_provider(permissions.acting_user(), create=True)
    return provider


@bp.get("/me")
@declare
def mine():
    provider = get_provider_or_404(_mine().id, private=True)
    expired, soon = services.qualification_alerts(provider)
    current = pledges.current_text()
    return render_template(
        "providers/mine.html",
        provider=provider,
        missing=services.missing_items(provider),
        pledge_state=pledges.pledge_state(provider, current),
        current_text=current,
        signature=pledges.latest_signature(provider.id),
        expired=expired,
        soon=soon,
    )


DECLARATION_FIELDS = (
    "uscc",
    "name",
    "former_names",
    "legal_representative",
    "county_id",
    "address",
    "contact_person",
    "phone",
    "email",
    "website",
    "founded_on",
    "description",
)


@bp.route("/me/declaration", methods=["GET", "POST"])
@declare
@form_view
def declaration():
    provider = _mine()
    form = DeclarationForm(obj=provider)
    known = cache.snapshot()
    counties, groups = known.active_counties(), known.active_groups()
    form.county_id.choices = [SelectChoice("", _("— choose —"))] + [SelectChoice(str(c.id), c.name) for c in counties]
    form.category_ids.choices = [SelectChoice(str(c.id), c.name) for g in groups for c in g.children if c.active]
    form.region_ids.choices = [SelectChoice(str(c.id), c.name) for c in counties]
    if request.method == "GET":
        form.category_ids.data = [c.id for c in provider.categories]
        form.region_ids.data = [c.id for c in provider.regions]
    state = editing.state_of(
        provider,
        DECLARATION_FIELDS,
        category_ids=lambda p: [c.id for c in p.categories],
        region_ids=lambda p: [c.id for c in p.regions],
    )
    saved = None
    if form.validate_on_submit():
        values = {name: form[name].data for name in DECLARATION_FIELDS}
        # another agency may take the same credit code a moment before this commit
        with committing(form, conflict=services.DuplicateUSCC) as saved:
            editing.check(form, provider, state)
            services.save_declaration(
                permissions.acting_user(),
                provider,
                category_ids=form.category_ids.data,
                region_ids=form.region_ids.data,
                **values,
            )
        if saved:
            flash(_("The declaration is saved."), "success")
            return redirect(url_for("providers.mine"))
    elif request.method == "POST":
        # The rules the form cannot know (a credit code already declared…) beside its own errors.
        accepted = {name: form[name].data for name in DECLARATION_FIELDS if not form[name].errors}
        for problem in services.declaration_problems(provider, **accepted):
            field = getattr(form, problem.field, None) if problem.field else None
            if field is None or not field.errors:
                show_error(form, problem)
    editing.stamp(form, provider, state, saved)
    return render_template("providers/declaration.html", form=form, provider=provider, groups=groups, counties=counties)


@bp.route(f"/me/<{KINDS}:kind>/new", methods=["GET", "POST"])
@bp.route(f"/me/<{KINDS}:kind>/<id:item_id>", methods=["GET", "POST"])
@declare
@form_view
def item(kind, item_id=None):
    model, form_class, save, fields = ITEMS[kind]
    provider = _mine()
    item = None
    if item_id:
        with committing():
            item = services.own_item(model, provider, item_id)
    form = form_class(obj=item)
    if kind == "qualifications":
        label = cache.snapshot().category_label
        form.category_ids.choices = [SelectChoice(c.id, label(c.id)) for c in provider.categories]
        if request.method == "GET" and item is not None:
            form.category_ids.data = [c.id for c in item.categories]
    if kind == "staff" and request.method == "GET":
        form.id_number.data = ""  # never sent to the browser; shown masked beside the field
    extra = {"category_ids": lambda q: [c.id for c in q.categories]} if kind == "qualifications" else {}
    state, saved = editing.state_of(item, fields, **extra), None
    if form.validate_on_submit():
        values = {name: form[name].data for name in fields}
        if kind == "qualifications":
            values["upload"] = form.file.data if getattr(form.file.data, "filename", "") else None
        with committing(form) as saved:
            editing.check(form, item, state)
            save(permissions.acting_user(), provider, item, **values)
        if saved:
            flash(_("Saved."), "success")
            return redirect(url_for("providers.mine", _anchor=kind))
    editing.stamp(form, item, state, saved)
    if kind == "staff":
        form.id_number.data = form.id_number.data if item is None else ""
    return render_template("providers/item.html", form=form, kind=kind, item=item, provider=provider)


@bp.post(f"/me/<{KINDS}:kind>/<id:item_id>/delete")
@declare
def item_delete(kind, item_id):
    provider = _mine()
    with committing() as removed:
        services.remove_item(
            permissions.acting_user(), provider, services.own_item(ITEMS[kind][0], provider, item_id), kind
        )
    if removed:
        flash(_("Removed. The earlier state stays in the history."), "success")
    return redirect(url_for("providers.mine", _anchor=kind))


@bp.post("/me/withdraw")
@declare
def withdraw():
    provider = _mine()
    with committing() as withdrawn:
        services.withdraw(permissions.acting_user(), provider)
    if withdrawn:
        flash(_("Your agency is withdrawn from the directory. Sign the pledge again to return."), "success")
    return redirect(url_for("providers.mine"))


@bp.get("/me/history")
@declare
def my_history():
    provider = _mine()
    return render_template("providers/history.html", provider=provider, revisions=revisions.history(provider))


@bp.route("/me/pledge", methods=["GET", "POST"])
@declare
@form_view
def sign_pledge():
    """The legal representative reads and signs the pledge in force; the agency is published at once."""
    provider = _mine()
    text = pledges.current_text()
    if text is None:
        abort(404)
    form = SignForm()
    form.clauses.choices = [SelectChoice(str(n), str(n)) for n in range(1, len(text.clauses) + 1)]
    if form.validate_on_submit():
        chosen = set(form.clauses.data or [])
        with committing(form) as signed:
            signature = services.sign_pledge(
                permissions.acting_user(),
                provider,
                text,
                signer_name=form.signer_name.data,
                signer_title=form.signer_title.data,
                confirmed=[n in chosen for n in range(1, len(text.clauses) + 1)],
                client_address=request.remote_addr,
            )
        if signed:
            flash(_("The pledge is signed. Your agency is now listed in the public directory."), "success")
            return redirect(url_for("pledges.verify", code=signature.verification_code))
    return render_template(
        "providers/sign_pledge.html", form=form, text=text, provider=provider, missing=services.missing_items(provider)
    )


@bp.app_context_processor
def provider_helpers():
    return {
        "status_labels": {status.value: status.label for status in ProviderStatus},
        "list_changes": revisions.list_changes,
    }
