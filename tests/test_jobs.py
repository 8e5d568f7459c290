"""The job queue itself: a queued job is not run by the request that queues it but by the consumer, in
another thread, in its own transaction; it reports its progress while it runs and ends done or failed,
never half done."""

import signal
import threading
import time

import flask_migrate
import pytest
import sqlalchemy as sa

from marketplace import create_app, jobs
from marketplace.common.errors import DomainError
from marketplace.extensions import db
from marketplace.jobs.models import Job
from tests import dbutil
from tests.conftest import make_config


class Refused(DomainError):
    message = "refused"


def _echo(job, progress):
    progress("echo", 1, 2)
    if job.params.get("refuse"):
        db.session.execute(sa.update(Job).where(Job.id == job.id).values(result="half done"))
        raise Refused()
    return f"{job.params['word']} in {threading.current_thread().name}"


@pytest.fixture()
def consumer_app(tmp_path):
    """An application whose jobs wait for a consumer (not JOBS_IMMEDIATE), on a database of its own."""
    jobs.register("test.echo", jobs.Kind(label="echo", run=_echo, result_url=lambda result: "/"))
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    with dbutil.scratch_database(tmp_path) as url:
        app = create_app(make_config(url, JOBS_IMMEDIATE=False))
        with app.app_context():
            flask_migrate.upgrade()
            db.session.remove()
        try:
            yield app
        finally:
            jobs.huey.immediate = True  # as the suite's own application has it
            jobs.huey.flush()
            jobs.KINDS.pop("test.echo", None)
            for sig, handler in handlers.items():  # the consumer sets its own
                signal.signal(sig, handler)
            with app.app_context():
                db.session.remove()
                for engine in db.engines.values():
                    engine.dispose()


def _state(app, job_id):
    with app.app_context():
        try:
            job = db.session.get(Job, job_id)
            return job.state, job.result, job.error
        finally:
            db.session.remove()


def _queued(app, **params):
    with app.app_context():
        job = jobs.start("test.echo", None, params)
        db.session.commit()
        jobs.queue(job)
        job_id = job.id
        db.session.remove()
    return job_id


def _wait(app, job_id, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = _state(app, job_id)
        if state[0] in ("done", "failed"):
            return state
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {_state(app, job_id)[0]} after {seconds} s")


def test_a_queued_job_waits_for_the_consumer_and_runs_in_its_thread(consumer_app):
    done_id = _queued(consumer_app, word="安全")
    refused_id = _queued(consumer_app, word="x", refuse=True)
    assert _state(consumer_app, done_id)[0] == "queued"  # the request that queued it did not run it
    consumer = jobs.huey.create_consumer(workers=1, worker_type="thread", periodic=False, check_worker_health=False)
    consumer.start()
    try:
        state, result, _error = _wait(consumer_app, done_id)
        assert state == "done" and result.startswith("安全 in ") and "MainThread" not in result
        state, result, error = _wait(consumer_app, refused_id)
        assert (state, result, error) == ("failed", "", "Refused")  # rolled back: nothing half done
    finally:
        consumer.stop(graceful=True)
    with consumer_app.app_context():
        assert jobs.progress(db.session.get(Job, done_id)) is None  # a finished job's progress is dropped
        db.session.remove()


def test_a_job_is_run_once(consumer_app):
    job_id = _queued(consumer_app, word="一次")
    with consumer_app.app_context():
        assert jobs.execute(job_id) == job_id
        assert jobs.execute(job_id) is None  # a second delivery of the same job does nothing
        db.session.remove()
    assert _state(consumer_app, job_id)[0] == "done"
