"""Notice batches (公示名单): the public list of batches, one batch with its diff, its files."""

from urllib.parse import quote

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from marketplace import jobs
from marketplace.auth import permissions
from marketplace.common.forms import form_view
from marketplace.common.pagination import paginate
from marketplace.common.transaction import committing
from marketplace.providers import notice_jobs, notices
from marketplace.providers.forms import PublishForm

bp = Blueprint("notices", __name__, url_prefix="/notices")

CHANGE_VIEWS = ("all", "changes", "added", "changed", "withdrawn")


@bp.get("")
def index():
    return render_template(
        "notices/index.html",
        page=paginate(notices.list_batches()),
        can_publish=permissions.can_publish_notices(current_user),
    )


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
    fields = notices.changed_fields(batch, [e.provider_id for e in page.items if e.change == "changed"])
    return render_template(
        "notices/detail.html",
        batch=batch,
        page=page,
        show=show,
        fields=fields,
        field_labels=FIELD_LABELS,
        recomputed=notices.recompute_hash(batch),
        evidence=notices.evidence(batch),
        rendering=notices.latest_rendering(batch),
    )


@bp.get("/<batch_no>.pdf")
def pdf(batch_no):
    batch = _batch_or_404(batch_no)
    # Not "immutable": a PDF made without its font is re-rendered from the batch's entries.
    return _file(notices.pdf_file(batch), "application/pdf", batch, "pdf", max_age=3600, immutable=False)


@bp.get("/<batch_no>.json")
def canonical(batch_no):
    """The exact content whose SHA-256 was published: anyone can hash these bytes and compare."""
    batch = _batch_or_404(batch_no)
    return _file(batch.canonical.encode("utf-8"), "application/json", batch, "json")


@bp.get("/<batch_no>.csv")
def csv(batch_no):
    batch = _batch_or_404(batch_no)
    # Not "immutable" either: a CSV made before formulas were neutralised is re-rendered.
    return _file(notices.csv_file(batch), "text/csv; charset=utf-8", batch, "csv", max_age=3600, immutable=False)


def _file(data, content_type, batch, ext, max_age=86400, immutable=True):
    name = f"notice-{batch.year}-{batch.sequence}.{ext}"
    disposition = (
        f'{"attachment" if ext == "csv" else "inline"}; filename="{name}"; '
        f"filename*=UTF-8''{quote(batch.batch_no + '.' + ext)}"
    )
    response = Response(data, content_type=content_type, headers={"Content-Disposition": disposition})
    response.cache_control.public, response.cache_control.max_age = True, max_age
    response.cache_control.immutable = immutable  # a batch's hashed content never changes
    response.add_etag()
    return response.make_conditional(request)


FIELD_LABELS = {
    "name": _l("Agency name"),
    "uscc": _l("Unified social credit code"),
    "legal_representative": _l("Legal representative"),
    "county": _l("Registered county"),
    "address": _l("Address"),
    "phone": _l("Phone"),
    "categories": _l("Service categories"),
    "regions": _l("Counties served"),
    "pledge_version": _l("Pledge version"),
    "pledge_signed_on": _l("Pledge signed"),
}


@bp.route("/publish", methods=["GET", "POST"])
@permissions.permission_required(permissions.can_publish_notices)
@form_view
def publish():
    """The next batch previewed (what it adds, changes and withdraws), then published on confirmation."""
    form = PublishForm()
    if form.validate_on_submit():
        with committing(form) as started:
            job = notice_jobs.start_publishing(
                permissions.acting_user(),
                # A page publishes only the batch it previewed: a post without its preview publishes nothing.
                form.fingerprint.data or "",
                form.unchanged.data,
            )
        if started:  # the job runs outside this request; its page shows how far it is
            jobs.queue(job)
            return redirect(url_for("jobs.detail", job_id=job.id))
    draft = notices.draft_batch()
    form.fingerprint.data = draft.fingerprint
    return render_template(
        "notices/publish.html", form=form, draft=draft, latest=notices.latest_batch(), field_labels=FIELD_LABELS
    )
