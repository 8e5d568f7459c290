"""Admin pages: accounts, reference data and the audit log (a thin layer over the services)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from marketplace.admin import audit_view
from marketplace.auth import permissions
from marketplace.auth import services as auth_services
from marketplace.auth.forms import SetPasswordForm, UserCreateForm, UserEditForm
from marketplace.auth.models import User
from marketplace.auth.roles import Role
from marketplace.common import audit, editing
from marketplace.common.forms import ConfirmForm, form_view
from marketplace.common.pagination import paginate
from marketplace.common.transaction import committing
from marketplace.extensions import db
from marketplace.reference import services as reference
from marketplace.reference.forms import CategoryForm, CountyForm
from marketplace.reference.models import County, ServiceCategory

bp = Blueprint("admin", __name__, url_prefix="/admin")

manage_users = permissions.permission_required(permissions.can_manage_users)
manage_reference = permissions.permission_required(permissions.can_manage_reference_data)
read_audit = permissions.permission_required(permissions.can_read_audit_log)


def _county_choices(blank_label):
    return [SelectChoice("", blank_label)] + [
        SelectChoice(str(c.id), c.name if c.active else f"{c.name} ({_('not in use')})")
        for c in reference.list_counties()
    ]


# --- accounts ---------------------------------------------------------------------------------


@bp.get("/users")
@manage_users
def users():
    role = request.args.get("role", "")
    q = request.args.get("q", "").strip()[:100]
    state = request.args.get("state", "")
    query = auth_services.search_users(role=role, q=q, state=state)
    page = paginate(query)
    return render_template(
        "admin/users.html", page=page, roles=list(Role), role=role, q=q, state=state, confirm_form=ConfirmForm()
    )


@bp.route("/users/new", methods=["GET", "POST"])
@manage_users
@form_view
def user_new():
    form = UserCreateForm(role=request.args.get("role", Role.COUNTY_REGULATOR.value))
    form.county_id.choices = _county_choices(_("— none —"))
    if form.validate_on_submit():
        with committing(form) as created:
            user = auth_services.create_user(
                permissions.acting_user(),
                email=form.email.data,
                password=form.password.data,
                display_name=form.display_name.data,
                role=form.role.data,
                county_id=form.county_id.data,
                phone=form.phone.data,
            )
        if created:
            flash(_("Account %(email)s created.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_new.html", form=form)


def _user_or_404(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<id:user_id>", methods=["GET", "POST"])
@manage_users
@form_view
def user_edit(user_id):
    """Correct an account: name, e-mail, phone, and for the bureau's staff their role and county."""
    user = _user_or_404(user_id)
    form = UserEditForm(obj=user)
    if request.method == "GET":
        form.role.data = user.role.value
    form.county_id.choices = _county_choices(_("— none —"))
    state, saved = editing.state_of(user, ("email", "display_name", "phone", "role", "county_id")), None
    if form.validate_on_submit():
        with committing(form, conflict=lambda: auth_services.EmailAlreadyRegistered()) as saved:
            editing.check(form, user, state)
            auth_services.update_user(
                permissions.acting_user(),
                user,
                email=form.email.data,
                display_name=form.display_name.data,
                phone=form.phone.data,
                role=form.role.data,
                county_id=form.county_id.data,
            )
        if saved:
            flash(_("The account %(email)s is saved.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    editing.stamp(form, user, state, saved)
    return render_template("admin/user_edit.html", form=form, user=user, password_form=SetPasswordForm())


@bp.route("/users/<id:user_id>/password", methods=["GET", "POST"])
@manage_users
@form_view
def user_password(user_id):
    """Give an account a new password, to hand over in person; the account's sessions end."""
    user = _user_or_404(user_id)
    form = SetPasswordForm()
    if form.validate_on_submit():
        with committing(form) as saved:
            auth_services.set_password(permissions.acting_user(), user, form.password.data)
        if saved:
            flash(
                _(
                    "A new password is set for %(email)s; its sessions have been logged out. Give it to the "
                    "user in person.",
                    email=user.email,
                ),
                "success",
            )
            return redirect(url_for("admin.users"))
    return render_template("admin/user_password.html", form=form, user=user)


@bp.post("/users/<id:user_id>/active")
@manage_users
def user_set_active(user_id):
    user = _user_or_404(user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    activate = request.form.get("active") == "1"
    with committing() as changed:
        auth_services.set_active(permissions.acting_user(), user, activate)
    if changed:
        if activate:
            flash(_("%(email)s can log in again.", email=user.email), "success")
        else:
            flash(_("%(email)s is deactivated and has been logged out everywhere.", email=user.email), "success")
    return redirect(request.referrer if _same_site(request.referrer) else url_for("admin.users"))


def _same_site(url):
    return bool(url) and url.startswith(request.host_url)


# --- reference data ---------------------------------------------------------------------------


@bp.get("/reference")
@manage_reference
def reference_data():
    return render_template("admin/reference.html", counties=reference.list_counties(), groups=reference.category_tree())


def _edit_county(county):
    form = CountyForm(obj=county)
    names = ("code", "name_zh", "name_en", "sort_order", "active")
    state, saved = editing.state_of(county, names), None
    if form.validate_on_submit():
        values = {k: form[k].data for k in names}
        with committing(form) as saved:
            editing.check(form, county, state)
            county = reference.save_county(county, **values)
        if saved:
            flash(_("County %(name)s saved.", name=county.name_zh), "success")
            return redirect(url_for("admin.reference_data"))
    editing.stamp(form, county, state, saved)
    return render_template("admin/reference_edit.html", form=form, kind="county", obj=county)


@bp.route("/counties/new", methods=["GET", "POST"])
@manage_reference
@form_view
def county_new():
    return _edit_county(None)


@bp.route("/counties/<id:county_id>", methods=["GET", "POST"])
@manage_reference
@form_view
def county_edit(county_id):
    return _edit_county(db.session.get(County, county_id) or abort(404))


def _edit_category(category):
    form = CategoryForm(obj=category)
    groups = [g for g in reference.category_tree() if category is None or g.id != category.id]
    form.parent_id.choices = [SelectChoice("", _("— top-level group —"))] + [
        SelectChoice(str(g.id), g.name) for g in groups
    ]
    names = ("code", "name_zh", "name_en", "sort_order", "active", "parent_id", "engagement_kind")
    state, saved = editing.state_of(category, names), None
    if form.validate_on_submit():
        values = {k: form[k].data for k in names}
        with committing(form) as saved:
            editing.check(form, category, state)
            category = reference.save_category(category, **values)
        if saved:
            flash(_("Category %(name)s saved.", name=category.name_zh), "success")
            return redirect(url_for("admin.reference_data"))
    editing.stamp(form, category, state, saved)
    return render_template("admin/reference_edit.html", form=form, kind="category", obj=category)


@bp.route("/categories/new", methods=["GET", "POST"])
@manage_reference
@form_view
def category_new():
    return _edit_category(None)


@bp.route("/categories/<id:category_id>", methods=["GET", "POST"])
@manage_reference
@form_view
def category_edit(category_id):
    return _edit_category(db.session.get(ServiceCategory, category_id) or abort(404))


# --- audit log --------------------------------------------------------------------------------


@bp.get("/audit")
@read_audit
def audit_log():
    filters = {
        key: request.args.get(arg, "").strip()
        for key, arg in (("object_type", "type"), ("object_id", "id"), ("actor", "actor"), ("action", "action"))
    }
    page = paginate(audit.search_log(**filters))
    return render_template(
        "admin/audit.html",
        page=page,
        rows=audit_view.describe(page.items),
        types=audit_view.record_types(),
        actions=audit_view.ACTIONS,
        **filters,
    )
