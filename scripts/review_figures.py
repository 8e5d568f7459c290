"""Repeat the figures of the trust review (issue 10) on a fresh copy of the demo registry, on SQLite
(the embedded default) unless TEST_DATABASE_URL names a PostgreSQL database:

1. concurrent writers: the real server (gunicorn, two workers) while six agencies save their
   declarations, the city publishes notice batches and people log in and out, for --seconds;
2. two tabs: 4 forms (declaration, enterprise profile, staff member, county) opened twice and saved
   from both;
3. formulas: agencies named =…, +…, -…, @… published, and every CSV the registry stores scanned;
4. tampering: an audit entry rewritten, a backdated one inserted, one removed, each behind the
   database's triggers, and `audit verify` asked to name it;
5. backup → restore into an empty instance → row counts, file hashes and chain head compared.

Run with the project's virtualenv:  .venv/bin/python scripts/review_figures.py [--seconds 30]
"""

import argparse
import csv
import http.cookiejar
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ARGON2_TIME_COST", "1")
os.environ.setdefault("ARGON2_MEMORY_COST", "8")
os.environ.setdefault("ARGON2_PARALLELISM", "1")

import sqlalchemy as sa  # noqa: E402

from marketplace import create_app  # noqa: E402
from marketplace.auth.demo import DEMO_DOMAIN, DEMO_PASSWORD  # noqa: E402
from marketplace.common import chain, exports  # noqa: E402
from marketplace.extensions import db  # noqa: E402
from tests import dbutil, live  # noqa: E402
from tests.conftest import IsolatedClient, make_config  # noqa: E402
from tests.forms import PostForm, form_data  # noqa: E402
from tests.test_history_chain import behind_the_back  # noqa: E402

AGENCIES = ("agency1", "agency3", "agency04", "agency05", "agency06", "agency07")
VISITORS = ("enterprise1", "enterprise2", "chongchuan", "tongzhou", "admin", "agency08")


# --- 1. concurrent writers against the real server ------------------------------------------------


class Browser:
    """A person at a browser: cookies, and forms sent as the page holds them."""

    def __init__(self, base, log, kind):
        self.base, self.log, self.kind = base, log, kind
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def open(self, method, path, data=None):
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, method=method)
        try:
            with self.opener.open(request, timeout=60) as response:
                status, text = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode("utf-8", "replace")
        self.log.append((self.kind, method, path.split("?")[0], status))
        return status, text

    def send_form(self, path, action=None, **changes):
        status, page = self.open("GET", path)
        if status != 200:
            return status
        parser = PostForm(("", path) if action is None else (action,))
        parser.feed(page)
        fields = [(k, v) for k, v in parser.values if k not in changes] + list(changes.items())
        return self.open("POST", action or path, fields)[0]

    def log_in(self, local):
        return self.send_form("/auth/login", email=f"{local}@{DEMO_DOMAIN}", password=DEMO_PASSWORD) == 302


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def concurrent_writers(seconds):
    copy = live.DemoCopy()
    port = _free_port()
    env = dict(
        os.environ,
        **live.BASE_ENV,
        DATABASE_URL=copy.url,
        INSTANCE_PATH=str(copy.folder),
        SEARCH_INDEX_DIR=str(copy.folder / "search-index"),
        LOGIN_RATE_LIMIT="100000 per minute",  # every client comes from 127.0.0.1
        LOGIN_PAIR_RATE_LIMIT="100000 per minute",
        LOGIN_FREE_FAILURES="100000",
    )
    server_log = (copy.folder / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    base, log = f"http://127.0.0.1:{port}", []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start: see " + str(copy.folder / "gunicorn.log")) from None
                time.sleep(0.2)
        end = time.monotonic() + seconds

        def agency(local):
            browser = Browser(base, log, "save")
            while not browser.log_in(local) and time.monotonic() < end:
                pass
            n = 0
            while time.monotonic() < end:
                n += 1
                browser.send_form("/providers/me/declaration", description=f"{local} 第 {n} 次保存的机构简介。")

        def city():
            browser = Browser(base, log, "publish")
            while not browser.log_in("city") and time.monotonic() < end:
                pass
            while time.monotonic() < end:
                browser.send_form("/notices/publish")
                time.sleep(1)

        def visitor():
            n = 0
            while time.monotonic() < end:
                browser = Browser(base, log, "login")
                if browser.log_in(VISITORS[n % len(VISITORS)]):
                    browser.send_form("/auth/account", "/auth/logout")
                n += 1

        threads = [threading.Thread(target=agency, args=(a,)) for a in AGENCIES]
        threads += [threading.Thread(target=city), threading.Thread(target=visitor), threading.Thread(target=visitor)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
        server_log.close()
        copy.close()
    posts = Counter(kind for kind, method, _path, _status in log if method == "POST")
    saved = sum(1 for kind, method, path, status in log if method == "POST" and status == 302 and "declaration" in path)
    errors = Counter(kind for kind, _method, _path, status in log if status >= 500)
    statuses = Counter(status for *_rest, status in log)
    print(
        f"1. Concurrent writers, {seconds} s, gunicorn with 2 workers on {dbutil.server_url() and 'PostgreSQL' or 'SQLite'}:"
    )
    for kind in ("save", "publish", "login"):
        print(f"   {kind:8} {posts[kind]:5} posts, {errors[kind]} answered 5xx")
    print(
        f"   {saved} declaration saves acknowledged; all requests: {len(log)}; statuses {dict(sorted(statuses.items()))}"
    )
    return sum(errors.values()) == 0


# --- 2.–5. in one process, on another copy ---------------------------------------------------------


def _app(url, folder):
    app = create_app(
        make_config(url, UPLOAD_FOLDER=str(folder / "uploads"), SEARCH_INDEX_DIR=str(folder / "search-index"))
    )
    app.test_client_class = IsolatedClient
    return app


def _logged_in(app, local):
    client = app.test_client()
    page = client.get("/auth/login")
    client.post(
        "/auth/login", data=form_data(page, "/auth/login", email=f"{local}@{DEMO_DOMAIN}", password=DEMO_PASSWORD)
    )
    return client


def two_tabs(app):
    with app.app_context():
        staff_id = db.session.execute(
            sa.text(
                "SELECT s.id FROM staff_members s JOIN providers p ON p.id = s.provider_id JOIN users u ON u.id = p.account_id "
                "WHERE u.email = :e AND s.deleted_at IS NULL ORDER BY s.id"
            ),
            {"e": f"agency1@{DEMO_DOMAIN}"},
        ).scalar()
        county_id = db.session.execute(sa.text("SELECT id FROM counties WHERE code = '320613'")).scalar()
        db.session.remove()
    forms = [
        ("declaration", "agency1", "/providers/me/declaration", "address"),
        ("enterprise profile", "enterprise1", "/enterprises/me/profile", "address"),
        ("staff member", "agency1", f"/providers/me/staff/{staff_id}", "title"),
        ("county", "admin", f"/admin/counties/{county_id}", "name_en"),
    ]
    refused = 0
    print("2. Two tabs saving the same record:")
    for name, who, path, field in forms:
        client = _logged_in(app, who)
        first, second = (
            client.get(path, headers={"Accept-Language": "en"}),
            client.get(path, headers={"Accept-Language": "en"}),
        )
        client.post(path, data=form_data(first, path, **{field: "Saved in tab one"}))
        answer = client.post(
            path, data=form_data(second, path, **{field: "Typed in tab two"}), headers={"Accept-Language": "en"}
        )
        page = answer.get_data(as_text=True)
        both = "Someone else saved this record" in page and "Saved in tab one" in page and "Typed in tab two" in page
        refused += both
        print(f"   {name:19} second save refused with both versions shown: {'yes' if both else 'NO'}")
    print(f"   {refused} of {len(forms)} refused with both versions shown")
    return refused == len(forms)


def formulas(app):
    hostile = ['=HYPERLINK("http://evil.example","点击")', "+1+1", "-2+3", "@SUM(1,1)", "=cmd|' /C calc'!A0"]
    for n, name in enumerate(hostile):
        client = _logged_in(app, AGENCIES[n])
        client.post(
            "/providers/me/declaration",
            data=form_data(client.get("/providers/me/declaration"), "/providers/me/declaration", name=name),
        )
    city = _logged_in(app, "city")
    city.post("/notices/publish", data=form_data(city.get("/notices/publish"), "/notices/publish"))
    with app.app_context():
        connection = db.session.connection()
        files = [row[0] for row in connection.execute(sa.text("SELECT csv FROM notice_batches ORDER BY id"))]
        files += [
            row[0] for row in connection.execute(sa.text("SELECT csv FROM notice_renderings WHERE csv IS NOT NULL"))
        ]
        live_cells = sum(exports.live_formula_cells(bytes(data)) for data in files)
        newest = bytes(connection.execute(sa.text("SELECT csv FROM notice_batches ORDER BY id DESC")).first()[0])
        cells = {cell for row in csv.reader(io.StringIO(newest.decode("utf-8-sig"))) for cell in row}
        listed = sum("'" + name in cells for name in hostile)  # present, as text
        db.session.remove()
    print(
        f"3. Formulas: {len(hostile)} agency names beginning =, +, -, @ saved; {listed} of them in the newest batch's "
        f"CSV, as text; {len(files)} stored CSVs scanned: {live_cells} live formula cells"
    )
    return live_cells == 0 and listed >= 1


def tampering(app):
    cases = [
        (
            "rewritten",
            "UPDATE audit_log SET actor_label = 'someone@example.cn' WHERE id = (SELECT min(id) FROM audit_log)",
        ),
        (
            "inserted",
            "INSERT INTO audit_log (created_at, action, object_type, object_id) VALUES ('2020-01-01 08:00:00', 'update', 'Provider', '1')",
        ),
        ("removed", "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)"),
    ]
    named = 0
    print("4. Tampering behind the triggers, then audit verify:")
    with app.app_context():
        assert chain.verify().ok, "the copy's chain should be intact before tampering"
        for name, statement in cases:
            behind_the_back("audit_log", statement)
            result = chain.verify()
            named += not result.ok
            print(f"   audit entry {name:9}: {result.first}")
            db.session.rollback()
        db.session.remove()
    print(f"   {named} of {len(cases)} named")
    return named == len(cases)


def backup_restore(app, folder):
    target = folder / "backup"
    made = app.test_cli_runner().invoke(args=["backup", "--to", str(target)])
    with dbutil.scratch_database(folder) as url:
        restored = _app(url, folder / "restored")
        done = restored.test_cli_runner().invoke(args=["restore", str(target)])
        with restored.app_context():
            db.session.remove()
            db.engine.dispose()
    ok = made.exit_code == 0 and done.exit_code == 0
    print("5. Backup → restore into an empty instance:")
    print("   " + made.output.strip())
    print("   " + done.output.strip())
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    template = live.Template()
    try:
        results = [concurrent_writers(args.seconds)]
        copy = live.DemoCopy()
        app = _app(copy.url, copy.folder)
        work = Path(tempfile.mkdtemp(prefix="review-figures-"))
        results += [two_tabs(app), formulas(app), tampering(app), backup_restore(app, work)]
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        copy.close()
    finally:
        template.close()
    print("All figures as the issue asks." if all(results) else "SOME FIGURES ARE NOT AS THE ISSUE ASKS.")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
