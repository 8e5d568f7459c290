"""Notice batches (公示名单): the public list of batches, one batch with its diff, its files."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from marketplace.auth import permissions
from marketplace.common.errors import DomainError
from marketplace.common.forms import ConfirmForm
from marketplace.common.pagination import paginate
from marketplace.extensions import db
from marketplace.providers import notices

bp = Blueprint("notices", __name__, url_prefix="/notices")

CHANGE_VIEWS = ("all", "changes", "added", "changed", "withdrawn")


@bp.get("")
def index():
    return render_template("notices/index.html", page=paginate(notices.list_batches()),
                           can_publish=permissions.can_publish_notices(current_user))


def _batch_or_404(batch_no):
    batch = notices.get_batch(batch_no)
    if batch is None:
        abort(404)
    return batch


@bp.get("/<batch_no>")
def detail(batch_no):
    batch = _batch_or_404(batch_no)
    show = request.args.get("show", "all")
    show = show if show in CHANGE_VIEWS else "all"
    page = paginate(notices.entries(batch, None if show == "all" else show), per_page=50)
    return render_template("notices/detail.html", batch=batch, page=page, show=show,
                           recomputed=notices.recompute_hash(batch))


@bp.get("/<batch_no>.pdf")
def pdf(batch_no):
    batch = _batch_or_404(batch_no)
    return _file(batch.pdf, "application/pdf", batch, "pdf")


@bp.get("/<batch_no>.json")
def canonical(batch_no):
    """The exact content whose SHA-256 was published: anyone can hash these bytes and compare."""
    batch = _batch_or_404(batch_no)
    return _file(batch.canonical.encode("utf-8"), "application/json", batch, "json")


@bp.get("/<batch_no>.csv")
def csv(batch_no):
    batch = _batch_or_404(batch_no)
    return _file(batch.csv, "text/csv; charset=utf-8", batch, "csv")


def _file(data, mimetype, batch, ext):
    from urllib.parse import quote

    name = f"notice-{batch.year}-{batch.sequence}.{ext}"
    disposition = f"{'attachment' if ext == 'csv' else 'inline'}; filename=\"{name}\"; " \
                  f"filename*=UTF-8''{quote(batch.batch_no + '.' + ext)}"
    response = Response(data, mimetype=mimetype, headers={"Content-Disposition": disposition})
    response.headers["Cache-Control"] = "public, max-age=86400, immutable"  # a batch never changes
    return response


@bp.route("/publish", methods=["GET", "POST"])
@permissions.permission_required(permissions.can_publish_notices)
def publish():
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            batch = notices.publish_batch(permissions.acting_user())
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
            return redirect(url_for("notices.publish"))
        except IntegrityError:  # another batch was published at the same moment
            db.session.rollback()
            flash(_("Another batch was published at the same moment. Look at it before publishing again."), "warning")
            return redirect(url_for("notices.index"))
        flash(_("Batch %(no)s is published.", no=batch.batch_no), "success")
        return redirect(url_for("notices.detail", batch_no=batch.batch_no))
    return render_template("notices/publish.html", form=form, latest=notices.latest_batch())
