"""Rating the agency once the work is done, the agency's reply and the regulator's moderation.
The rules are in ``engagements.ratings``; the addresses stay under the engagement."""

from flask import Blueprint, abort, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.auth import permissions
from marketplace.auth.permissions import permission_required
from marketplace.common.forms import form_view
from marketplace.common.transaction import committing
from marketplace.engagements import ratings, steps
from marketplace.engagements.forms import HideForm, RatingForm, ReplyForm
from marketplace.engagements.web import back_to, get_engagement_or_404

bp = Blueprint("ratings", __name__, url_prefix="/engagements")


@bp.route("/<id:engagement_id>/rate", methods=["GET", "POST"])
@permission_required(permissions.is_enterprise)
@form_view
def rate(engagement_id):
    engagement = get_engagement_or_404(engagement_id)
    form = RatingForm()
    if form.validate_on_submit():
        with committing(form) as rated:
            ratings.rate(permissions.acting_user(), engagement, score=int(form.score.data), text=form.text.data)
        if rated:
            flash(_("Thank you: your rating is published on the agency's profile."), "success")
            return back_to(engagement)
    elif request.method == "GET":
        reason = ratings.rating_refusal(current_user, engagement)
        if reason is not None:
            if steps.side_of(current_user, engagement) is None:
                abort(403)
            flash(str(reason.message), "danger")
            return back_to(engagement)
    return render_template("engagements/rate.html", form=form, engagement=engagement)


@bp.post("/<id:engagement_id>/rating/<any(reply, hide):action>")
@permission_required(permissions.can_list_engagements)
def rating_action(engagement_id, action):
    engagement = get_engagement_or_404(engagement_id)
    if engagement.rating is None:
        abort(404)
    allowed = permissions.is_engagement_agency if action == "reply" else permissions.can_moderate_rating
    if not allowed(current_user, engagement):
        abort(403)
    form = ReplyForm() if action == "reply" else HideForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(" ".join(str(e) for e in errors), "danger")
        return back_to(engagement, "rating")
    with committing() as done:
        if action == "reply":
            ratings.reply(permissions.acting_user(), engagement.rating, form.reply.data)
        else:
            ratings.hide(permissions.acting_user(), engagement.rating, form.reason.data)
    if done:
        flash(
            _("Your reply is published.")
            if action == "reply"
            else _("The rating is hidden; the reason is shown in its place."),
            "success",
        )
    return back_to(engagement, "rating")
