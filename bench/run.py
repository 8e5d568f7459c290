"""The benchmark suite: `make bench`. Generates a register of N agencies, builds the search index, then
serves the app with gunicorn (2 workers) and drives it from this machine: the search page's latency over
the whole query set of ``bench/search_backends.py`` (one client), the home page and /healthz, the first
directory page after an edit, each worker's memory, and the throughput of the directory, search, profile
and home pages (8 clients, an agency edited every second meanwhile, so that a share of the pages are the
first after a change) against a separate bare Flask app that reads one row (``bench/bare_app.py``, same
gunicorn settings). Prints every budget as met or not and writes the table to docs/benchmarks.md."""

import argparse
import http.client
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.environment import empty_schema, percentile, production_env, verdict  # noqa: E402


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(conn, path):
    conn.request("GET", path, headers={"Accept-Language": "zh-CN"})
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status}")


def timed_requests(port, paths, repeat):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    for _ in range(repeat):
        for path in paths:
            started = time.perf_counter()
            get(conn, path)
            times.append((time.perf_counter() - started) * 1000)
    conn.close()
    return times


def throughput(port, paths, clients, seconds):
    """Requests per second with ``clients`` keep-alive clients cycling through ``paths`` for a fixed time."""
    counts, stop = [0] * clients, time.perf_counter() + seconds

    def worker(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = n
        while time.perf_counter() < stop:
            get(conn, paths[i % len(paths)])
            counts[n] += 1
            i += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - started)


def worker_rss(master):
    """Resident memory (MB) of each worker of a gunicorn master."""
    sizes = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(master.pid):
            sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
    return sorted(sizes)


class Editor(threading.Thread):
    """Edits an agency every ``every`` seconds through the app (its commit drops every worker's caches),
    so that a share of the pages measured are the first after a change."""

    def __init__(self, app, every):
        super().__init__(daemon=True)
        self.app, self.every, self.stop, self.edits = app, every, threading.Event(), 0

    def run(self):
        import sqlalchemy as sa

        from marketplace.extensions import db
        from marketplace.providers.models import Provider

        with self.app.app_context():
            ids = db.session.scalars(sa.select(Provider.id).order_by(Provider.id).limit(500)).all()
            while not self.stop.wait(self.every):
                provider = db.session.get(Provider, ids[self.edits % len(ids)])
                provider.description = provider.description + "。"
                db.session.commit()
                self.edits += 1
            db.session.remove()


def serve(target, port, env):
    return subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
        + [target],
        cwd=ROOT,
        env=env,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agencies", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--edit-every", type=float, default=1.0, help="seconds between agency edits during throughput")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="marketplace-bench-"))
    env = production_env(work)
    os.environ.update(env)
    import flask_migrate
    import sqlalchemy as sa

    from bench.generate import generate
    from bench.search_backends import QUERY_SET
    from marketplace import config, create_app, search
    from marketplace.extensions import db
    from marketplace.providers.models import Provider
    from marketplace.reference import services as reference

    class Config(config.ProductionConfig):
        SEARCH_HEAL_ON_START = False

    app = create_app(Config())
    rows = []
    with app.app_context():
        engine_name = db.engine.dialect.name
        empty_schema(db)
        flask_migrate.upgrade()
        started = time.perf_counter()
        generate(args.agencies)
        db.session.commit()
        rows.append(
            ("data generation", f"{args.agencies:,} agencies ({engine_name})", f"{time.perf_counter() - started:.1f} s")
        )
        started = time.perf_counter()
        search.reindex()
        build = time.perf_counter() - started
        kind = search.backend_name(app)
        rows.append((f"index build ({kind} backend)", "budget ≤ 60 s", f"{build:.1f} s" + verdict(build <= 60)))
        provider_ids = db.session.scalars(sa.select(Provider.id).order_by(Provider.id)).all()
        categories = [c.id for g in reference.category_tree() for c in g.children]
        counties = [c.id for c in reference.list_counties()]
        db.session.remove()

    rng = __import__("random").Random(20261201)
    queries = list(QUERY_SET) + [f"9132{provider_ids[len(provider_ids) // 2]:014d}"]
    search_paths = [f"/providers?q={urllib.parse.quote(q)}" for q in queries]
    directory_paths = [
        f"/providers?category={c}&county={k}&page={p}" for c in categories for k in [""] + counties for p in (1, 2)
    ]
    rng.shuffle(directory_paths)
    profile_paths = [f"/providers/{i}" for i in rng.sample(provider_ids, min(300, len(provider_ids)))]

    port, bare_port = free_port(), free_port()
    server, bare = serve("wsgi:app", port, env), serve("bench.bare_app:app", bare_port, env)
    editor = Editor(app, args.edit_every)
    try:
        for running, at, path in ((server, port, "/healthz"), (bare, bare_port, "/one-row")):
            deadline = time.time() + 120
            while True:
                try:
                    get(http.client.HTTPConnection("127.0.0.1", at, timeout=5), path)
                    break
                except (OSError, RuntimeError):
                    if time.time() > deadline or running.poll() is not None:
                        raise RuntimeError("gunicorn did not start") from None
                    time.sleep(0.5)
        time.sleep(3)  # both workers have loaded what they keep in memory
        timed_requests(
            port, ["/", "/healthz", "/providers"] + search_paths + directory_paths[:20] + profile_paths[:20], 2
        )
        timed_requests(bare_port, ["/one-row"], 8)
        rss = worker_rss(server)
        page = timed_requests(port, search_paths, args.repeat)
        home = timed_requests(port, ["/"], 30)
        health = timed_requests(port, ["/healthz"], 30)
        after_edit = []
        with app.app_context():
            for provider_id in provider_ids[:5]:
                provider = db.session.get(Provider, provider_id)
                provider.description = provider.description + "。"
                db.session.commit()
                time.sleep(0.2)
                after_edit += timed_requests(port, ["/providers"], 1)
            db.session.remove()
        bare_rps = throughput(bare_port, ["/one-row"], args.clients, args.seconds)
        editor.start()
        pages = {
            "directory": (directory_paths, 30),
            "search": (search_paths, 15),
            "profile": (profile_paths, 40),
            "home": (["/"], 40),
        }
        rates = {name: throughput(port, paths, args.clients, args.seconds) for name, (paths, _b) in pages.items()}
        editor.stop.set()
        editor.join(10)
    finally:
        for running in (server, bare):
            running.terminate()
            running.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)

    page50, page95, worst = statistics.median(page), percentile(page, 95), max(page)
    rows += [
        (
            "search page (HTTP, 1 client)",
            f"{len(queries)} queries × {args.repeat}; budget p95 ≤ 60 ms, none over 150 ms",
            f"p50 {page50:.1f} ms, p95 {page95:.1f} ms{verdict(page95 <= 60)}, max {worst:.1f} ms{verdict(worst <= 150)}",
        ),
        ("home page (HTTP, 1 client)", "30 requests", f"p50 {statistics.median(home):.1f} ms"),
        ("/healthz (HTTP, 1 client)", "30 requests", f"p50 {statistics.median(health):.1f} ms"),
        (
            "first directory page after an edit",
            "5 edits; budget ≤ 100 ms",
            f"median {statistics.median(after_edit):.1f} ms, max {max(after_edit):.1f} ms"
            + verdict(max(after_edit) <= 100),
        ),
        (
            "worker memory after start-up (RSS)",
            "budget ≤ 250 MB",
            ", ".join(f"{size:.0f} MB" for size in rss) + verdict(bool(rss) and max(rss) <= 250),
        ),
        (f"bare Flask app, one row ({args.clients} clients)", "same run, a separate app", f"{bare_rps:.0f} req/s"),
    ]
    for name, (_paths, budget) in pages.items():
        share = 100 * rates[name] / bare_rps
        rows.append(
            (
                f"{name} pages ({args.clients} clients, an agency edited every {args.edit_every:g} s)",
                f"budget ≥ {budget} % of the bare app",
                f"{rates[name]:.0f} req/s, {share:.0f} %" + verdict(share >= budget),
            )
        )
    table = ["| measure | conditions | result |", "|---|---|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    load = os.getloadavg()
    machine = (
        f"{platform.machine()} {cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
    )
    print("\n".join(table))
    print(machine)
    if not args.no_write:
        write_docs(table, machine, args)


def write_docs(table, machine, args):
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8")
    marker = "## Search and directory (`make bench`)"
    section = "\n".join(
        [
            marker,
            "",
            f"Date: {date.today().isoformat()}. Machine: {machine}. gunicorn 2 workers and the load generator on the same "
            f"machine, {args.agencies:,} generated agencies, {args.seconds:.0f} s per throughput run. "
            "Medians and ratios from one run.",
            "",
            f"Command: `make bench` (or `.venv/bin/python bench/run.py --agencies {args.agencies}`).",
            "",
            *table,
            "",
        ]
    )
    if marker in text:
        start = text.index(marker)
        end = text.find("\n## ", start + len(marker))
        text = text[:start] + section + ("" if end == -1 else text[end:])
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
