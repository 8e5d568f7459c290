"""A job's page: what it is doing, how far it is, and where its result is once it is done."""

from flask import Blueprint, abort, render_template

from marketplace import jobs
from marketplace.auth import permissions
from marketplace.common.database import writes_on_get
from marketplace.extensions import db
from marketplace.jobs.models import Job

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
REFRESH_SECONDS = 2


@bp.get("/<int:job_id>")
@writes_on_get  # a job the runner lost is marked failed when its page is read
@permissions.permission_required(permissions.can_use_account)
def detail(job_id):
    job = db.session.get(Job, job_id)
    if job is None or not permissions.can_view_job(permissions.acting_user(), job):
        abort(404)
    jobs.interrupted(job)
    kind = jobs.kind_of(job)
    step = jobs.progress(job) if job.state == "running" else None
    return render_template(
        "jobs/detail.html",
        job=job,
        kind=kind,
        step=step,
        refresh=None if job.finished else REFRESH_SECONDS,
        result_url=kind.result_url(job.result) if job.state == "done" else None,
        error=(kind.errors.get(job.error) if kind else None) or jobs.GENERIC_ERRORS.get(job.error),
    )
