"""The browser journeys' live server, in two stages.

1. ``Template``: a database migrated and seeded with the demo data (seconds of work), prepared once
   per run in a background process from the moment the run starts: by pytest-xdist's controller, or
   by the single pytest process. Its location reaches the workers through ``LIVE_TEMPLATE``.
2. ``LiveServer``: each process that runs browser tests copies the template (a file copy on SQLite,
   ``CREATE DATABASE … TEMPLATE`` on PostgreSQL) and serves it with ``flask run``, so the browser
   tests can be spread over several workers without seeding twice.
"""

import email
import email.policy
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import sqlalchemy as sa

from tests import dbutil

ROOT = Path(__file__).resolve().parents[1]
ENV_VAR = "LIVE_TEMPLATE"
BASE_ENV = {
    "MARKETPLACE_ENV": "development",
    "SECRET_KEY": "live-server-test-key",
    "FLASK_APP": "wsgi",
    "PYTHONWARNINGS": "ignore",
    # cheap password hashes: the journeys log in dozens of times; the hashing itself is tested elsewhere
    "ARGON2_TIME_COST": "1",
    "ARGON2_MEMORY_COST": "8",
    "ARGON2_PARALLELISM": "1",
}

# `flask db upgrade`, `seed-demo` and `search check` in one process: one start-up instead of three.
PREPARE = """
import os, pathlib, traceback
folder = pathlib.Path(os.environ["INSTANCE_PATH"])
try:
    import flask_migrate
    from marketplace import create_app, search
    app = create_app()
    with app.app_context():
        flask_migrate.upgrade()
        result = app.test_cli_runner().invoke(args=["seed-demo"])
        (folder / "seed-output.txt").write_text(result.output)
        assert result.exit_code == 0, result.output
        search.heal()
except BaseException:
    (folder / "failed").write_text(traceback.format_exc())
    raise
(folder / "ready").write_text("ok")
"""


class Template:
    """The demo database being prepared in the background (see the module's text)."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="marketplace-live-template-"))
        server = dbutil.server_url()
        if server is None:
            self.url = f"sqlite:///{self.folder / 'demo.db'}"
        else:
            self.url = _create_database(server, "live_template_" + uuid.uuid4().hex[:10])
        env = dict(os.environ, **BASE_ENV, DATABASE_URL=self.url, INSTANCE_PATH=str(self.folder))
        self.log = (self.folder / "prepare.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-c", PREPARE], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        os.environ[ENV_VAR] = json.dumps({"folder": str(self.folder), "url": self.url})

    def close(self):
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()
        os.environ.pop(ENV_VAR, None)
        if dbutil.server_url() is not None:
            _drop_database(self.url)
        shutil.rmtree(self.folder, ignore_errors=True)


def _create_database(server_url, name, template=None):
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        for attempt in range(50):  # a template can be copied by one session at a time
            try:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
                break
            except sa.exc.OperationalError:
                if template is None or attempt == 49:
                    raise
                time.sleep(0.2)
    finally:
        admin.dispose()
    return sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(url):
    url = sa.engine.make_url(url)
    admin = sa.create_engine(
        url.set(database=sa.engine.make_url(dbutil.server_url()).database), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    admin.dispose()


def _wait_for_template():
    """The prepared template, once its process wrote "ready" (or the reason it could not)."""
    spec = json.loads(os.environ[ENV_VAR])
    folder = Path(spec["folder"])
    deadline = time.monotonic() + 300
    while not (folder / "ready").exists():
        if (folder / "failed").exists():
            raise RuntimeError("preparing the live server's demo data failed:\n" + (folder / "failed").read_text())
        if time.monotonic() > deadline:
            raise RuntimeError("the live server's demo data took more than five minutes to prepare")
        time.sleep(0.1)
    return spec


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DemoCopy:
    """This process's own copy of the run's demo database and instance folder (it waits until the
    template is ready; a run that did not prepare one makes one now)."""

    def __init__(self):
        self.template = Template() if ENV_VAR not in os.environ else None
        spec = _wait_for_template()
        self.folder = Path(tempfile.mkdtemp(prefix="marketplace-live-"))
        ignored = shutil.ignore_patterns("*.log", "*.lock", "ready")
        shutil.copytree(spec["folder"], self.folder, dirs_exist_ok=True, ignore=ignored)
        server = dbutil.server_url()
        if server is None:
            self.url = f"sqlite:///{self.folder / 'demo.db'}"
        else:
            template = sa.engine.make_url(spec["url"]).database
            self.url = _create_database(server, "live_" + uuid.uuid4().hex[:10], template=template)
        self.seed_output = (self.folder / "seed-output.txt").read_text()

    def close(self):
        if dbutil.server_url() is not None:
            _drop_database(self.url)
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.template is not None:
            self.template.close()


class Site(str):
    """The live server's address (``site + "/path"`` as with any string) and what it mailed."""

    def __new__(cls, base, outbox):
        site = super().__new__(cls, base)
        site.outbox = outbox
        return site

    def mail_to(self, recipient):
        """The text of the newest message sent to ``recipient`` (kept as .eml files without a mail server)."""
        files = sorted(self.outbox.glob(f"*-{recipient}.eml")) if self.outbox.exists() else []
        if not files:
            raise AssertionError(f"no mail to {recipient} in {self.outbox}")
        message = email.message_from_bytes(files[-1].read_bytes(), policy=email.policy.default)
        return message.get_body(preferencelist=("plain",)).get_content()


class LiveServer(DemoCopy):
    """A copy of the demo database, served by ``flask run`` on a free port, with the job runner beside it
    (as ``make run`` starts them), sharing a job queue in a SQLite file."""

    def __init__(self):
        super().__init__()
        env = dict(
            os.environ,
            **BASE_ENV,
            DATABASE_URL=self.url,
            INSTANCE_PATH=str(self.folder),
            SEARCH_INDEX_DIR=str(self.folder / "search-index"),
            JOBS_URL=f"sqlite:///{self.folder / 'jobs.sqlite'}",
        )
        port = _free_port()
        self.log = (self.folder / "server.log").open("w")
        self.server = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.runner = subprocess.Popen(  # polls the queue every 0.1-0.5 s: a journey waits for its jobs
            [
                str(Path(sys.executable).parent / "huey_consumer"),
                "jobs_runner.huey",
                "-w",
                "1",
                "-d",
                "0.1",
                "-m",
                "0.5",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.base = Site(f"http://127.0.0.1:{port}", self.folder / "outbox")
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("live server did not start:\n" + (self.folder / "server.log").read_text())
            time.sleep(0.1)

    def close(self):
        for process in (self.runner, self.server):
            process.terminate()
            process.wait(timeout=10)
        self.log.close()
        super().close()
