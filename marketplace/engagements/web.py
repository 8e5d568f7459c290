"""What the engagement views share: the engagement the current user may see, and the way back to it."""

from flask import abort, redirect, url_for
from flask_login import current_user

from marketplace.auth import permissions
from marketplace.engagements import queries


def get_engagement_or_404(engagement_id):
    """An engagement the current user may see: 404 when it does not exist, 403 when it is someone else's."""
    engagement = queries.load_engagement(engagement_id)
    if engagement is None:
        abort(404)
    if not permissions.can_view_engagement(current_user, engagement):
        abort(403)
    return engagement


def back_to(engagement, anchor=None):
    return redirect(url_for("engagements.detail", engagement_id=engagement.id, _anchor=anchor))
