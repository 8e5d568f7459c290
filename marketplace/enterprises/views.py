"""The enterprise's own profile."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from marketplace.auth import permissions
from marketplace.common import editing
from marketplace.common.forms import form_view
from marketplace.common.transaction import committing
from marketplace.enterprises import services
from marketplace.enterprises.forms import ProfileForm
from marketplace.reference import cache

PROFILE_FIELDS = ("uscc", "name", "county_id", "address", "industry", "hazard_class", "contact_person", "phone")

bp = Blueprint("enterprises", __name__, url_prefix="/enterprises")


@bp.route("/me/profile", methods=["GET", "POST"])
@permissions.permission_required(permissions.can_keep_enterprise_profile)
@form_view
def profile():
    actor = permissions.acting_user()
    enterprise = services.own_enterprise(actor)
    form = ProfileForm(obj=enterprise)
    if request.method == "GET" and enterprise is not None:
        form.hazard_class.data = enterprise.hazard_class.value
    form.county_id.choices = [SelectChoice("", _("— choose —"))] + [
        SelectChoice(str(c.id), c.name) for c in cache.snapshot().active_counties()
    ]
    state, saved = editing.state_of(enterprise, PROFILE_FIELDS), None
    if form.validate_on_submit():
        values = {name: form[name].data for name in PROFILE_FIELDS}
        # the same credit code may be saved a moment before by another account
        with committing(form, conflict=services.DuplicateEnterpriseUSCC) as saved:
            editing.check(form, enterprise, state)
            services.save_profile(actor, enterprise, **values)
        if saved:
            flash(_("Your enterprise's profile is saved."), "success")
            next_provider = request.args.get("next_provider", type=int)
            if next_provider and 0 < next_provider < 2**31:
                return redirect(url_for("engagements.new", provider=next_provider))
            return redirect(url_for("engagements.dashboard"))
    editing.stamp(form, enterprise, state, saved)
    return render_template("enterprises/profile.html", form=form, enterprise=enterprise)
