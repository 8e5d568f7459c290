"""Heavy work out of the web workers, on Huey: a view records a ``Job`` and queues it; the consumer
(``huey_consumer jobs_runner.huey``, started by ``make run`` beside the web server) runs it
with the job's runner, in a transaction of its own, and the job's page shows its progress until it ends.

The queue's store is ``JOBS_URL``: a SQLite file under the instance folder by default, Redis
(``redis://…``) with several servers, ``memory://`` for tests, which also run every job at once, in the
request that queues it (``JOBS_IMMEDIATE``). A package registers what its jobs do with ``register``;
this one knows no domain."""

import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import has_app_context
from flask_babel import lazy_gettext as _l

from marketplace.common.errors import DomainError
from marketplace.common.time import utcnow
from marketplace.extensions import db
from marketplace.jobs.models import Job

log = logging.getLogger(__name__)


def _make_queue():
    # huey (with the redis and psycopg clients its stores import) is 17 MB of each web worker: loaded when
    # a worker first queues a job or reads one's progress, not at start-up
    from huey import MemoryHuey, RedisHuey, SqliteHuey

    url = os.environ.get("JOBS_URL", "")
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("marketplace", url=url)
    if url == "memory://":
        return MemoryHuey("marketplace")
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
    else:
        from marketplace.config import INSTANCE_DIR

        path = INSTANCE_DIR / "jobs.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("marketplace", filename=str(path))


_queue = None  # made on first use (``queue_store``)
_immediate = False


def queue_store():
    """The Huey instance jobs go through (``jobs_runner.huey`` for the consumer), made on first use."""
    global _queue, run_job
    if _queue is None:
        made = _make_queue()
        made.immediate = _immediate
        run_job = made.task(name="run_job")(_run_job)  # the name queued messages carry
        _queue = made
    return _queue


def __getattr__(name):
    if name == "huey":
        return queue_store()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class Kind:
    """What a kind of job does: ``run(job, progress)`` does the work in the session's transaction (the
    caller commits) and returns what it made; ``progress(step, done, total)`` reports how far it is."""

    label: object  # a lazy translated string
    run: object
    result_url: object  # result -> the page to go to
    result_text: object = None  # result -> what the link to it says
    retry_url: object = None  # job -> where to start again after a failure
    steps: dict = field(default_factory=dict)  # step -> label
    errors: dict = field(default_factory=dict)  # the name of a DomainError -> what the page says


KINDS = {}


def register(name, kind):
    KINDS[name] = kind


_consumer_app = None  # the application jobs run in when a consumer picks them up


def init_app(app):
    """Run jobs at once with ``JOBS_IMMEDIATE`` (tests); otherwise the consumer runs them, in the context
    of the application built last in its process (``jobs_runner`` builds one)."""
    global _consumer_app, _immediate
    _immediate = bool(app.config.get("JOBS_IMMEDIATE"))
    if _queue is not None:
        _queue.immediate = _immediate
    if not _immediate:
        _consumer_app = app


def start(kind, actor, params):
    """Record a job (in the caller's transaction); ``queue`` it once that commits."""
    if kind not in KINDS:
        raise ValueError(f"no runner for job kind {kind!r}")
    job = Job(kind=kind, params=params, created_by_id=getattr(actor, "id", None))
    db.session.add(job)
    db.session.flush()
    return job


def queue(job):
    """Hand a committed job to the runner; a queue that cannot take it (Redis down) fails the job at once
    rather than leaving it waiting for ever."""
    try:
        if run_job is None:
            queue_store()
        run_job(job.id)
    except Exception:
        log.exception("job %s could not be queued", job.id)
        db.session.rollback()
        _failed(job.id, "Unqueued")


# Why a job failed, for every kind: the runner lost it, or the queue could not take it.
GENERIC_ERRORS = {
    "Interrupted": _l("The job runner stopped while this job was running."),
    "Unqueued": _l("The job could not be handed to the job runner."),
}
INTERRUPTED_AFTER = timedelta(minutes=30)  # longer than any job runs


def interrupted(job):
    """Mark a job failed that has been running for longer than any job runs: the runner stopped under it
    (a deploy, a crash) and its transaction was rolled back. Returns whether it did."""
    if job.state != "running" or job.started_at is None or utcnow() - job.started_at < INTERRUPTED_AFTER:
        return False
    claimed = db.session.execute(
        sa.update(Job)
        .where(Job.id == job.id, Job.state == "running")
        .values(state="failed", error="Interrupted", finished_at=utcnow())
    ).rowcount
    db.session.commit()
    db.session.refresh(job)
    return bool(claimed)


run_job = None  # the queued task, once the store is made


def _run_job(job_id):
    if has_app_context():  # run at once, in the request that queued it (JOBS_IMMEDIATE)
        return execute(job_id)
    app = _consumer_app
    if app is None:
        raise RuntimeError("no application to run jobs in: start the runner with `huey_consumer jobs_runner.huey`")
    with app.app_context():
        try:
            return execute(job_id)
        finally:
            db.session.remove()


def execute(job_id):
    """Run a queued job to its end: done with its result, or failed with the reason, never half done."""
    # Claimed in one statement: a job delivered twice (a runner restarted mid-way) runs once.
    claimed = db.session.execute(
        sa.update(Job).where(Job.id == job_id, Job.state == "queued").values(state="running", started_at=utcnow())
    ).rowcount
    db.session.commit()
    if not claimed:
        return None
    job = db.session.get(Job, job_id)
    kind = KINDS[job.kind]
    try:
        result = kind.run(job, lambda step, done=0, total=0: report(job_id, step, done, total))
        job.state, job.result, job.finished_at = "done", str(result or ""), utcnow()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        _failed(job_id, type(exc).__name__)
    except Exception:
        log.exception("job %s (%s) failed", job_id, kind)
        db.session.rollback()
        _failed(job_id, "unexpected")
    finally:
        queue_store().delete(_progress_key(job_id))
    return job_id


def _failed(job_id, reason):
    job = db.session.get(Job, job_id)
    job.state, job.error, job.finished_at = "failed", reason[:60], utcnow()
    db.session.commit()


def _progress_key(job_id):
    return f"progress:{job_id}"


def report(job_id, step, done=0, total=0):
    """How far a running job is, kept in the queue's store: written at once, whatever the job's own
    transaction is doing."""
    queue_store().put(_progress_key(job_id), (step, done, total))


def progress(job):
    """(step, done, total) of a running job, or None."""
    return queue_store().get(_progress_key(job.id), peek=True)


def kind_of(job):
    return KINDS.get(job.kind)
