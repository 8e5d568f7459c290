"""The benchmark suite: `make bench`. Generates national-scale data, builds the index, times raw
index queries, then serves the app with gunicorn (2 workers) and drives it from this machine:
search page latency (one client) and directory throughput against a separate bare Flask app that reads
one row (``bench/bare_app.py``, same gunicorn settings; 8 clients).
Prints a table and writes it to docs/benchmarks.md. Budgets: ../shared/DESIGN.md."""

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

QUERIES = [
    "安全评价",
    "危化 检测",
    "应急预案",
    "南通 安全",
    "nantong anquan",
    "ntaq",
    "职业卫生",
    "消防技术服务",
    "隐患排查治理",
    "如皋 检测",
]


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def verdict(met):
    return " (met)" if met else " (**not met**)"


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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agencies", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="marketplace-bench-"))
    env = dict(
        os.environ,
        MARKETPLACE_ENV="production",
        SECRET_KEY="bench-secret-key-not-for-use",
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{work / 'bench.db'}"),
        INSTANCE_PATH=str(work),
        SEARCH_INDEX_DIR=str(work / "index"),
        SESSION_COOKIE_SECURE="0",
        UPLOAD_FOLDER=str(work / "uploads"),
        PUBLIC_BASE_URL="https://aq.nantong.gov.cn",  # production refuses to start without it
    )
    os.environ.update(env)
    import flask_migrate

    from bench.generate import generate
    from marketplace import config, create_app, search
    from marketplace.reference import services as reference

    app = create_app(config.ProductionConfig())
    rows = []
    with app.app_context():
        flask_migrate.upgrade()
        started = time.perf_counter()
        generate(args.agencies)
        rows.append(("data generation", f"{args.agencies:,} agencies", f"{time.perf_counter() - started:.1f} s"))
        started = time.perf_counter()
        search.reindex()
        build = time.perf_counter() - started
        kind = search.backend_name(app)
        size = sum(f.stat().st_size for f in (work / "index").glob("*")) / 1024 / 1024
        built = f"{build:.1f} s" + (f", {size:.1f} MB" if kind == "whoosh" else "")
        rows.append((f"index build (reindex, {kind} backend)", "budget ≤ 60 s", built + verdict(build <= 60)))
        engine = search.backend()
        raw = []
        for q in QUERIES:
            engine.search(search.SearchQuery(text=q))  # warm
        for _ in range(args.repeat):
            for q in QUERIES:
                started = time.perf_counter()
                engine.search(search.SearchQuery(text=q))
                raw.append((time.perf_counter() - started) * 1000)
        categories = [c.id for g in reference.category_tree() for c in g.children]
        counties = [c.id for c in reference.list_counties()]
        engine.close()

    port = free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    bare_port = free_port()
    bare = subprocess.Popen(  # the baseline: a separate minimal Flask app, same gunicorn settings
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{bare_port}",
            "--log-level",
            "warning",
            "bench.bare_app:app",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for running, at, path in ((server, port, "/healthz"), (bare, bare_port, "/one-row")):
            deadline = time.time() + 60
            while True:
                try:
                    get(http.client.HTTPConnection("127.0.0.1", at, timeout=5), path)
                    break
                except (OSError, RuntimeError):
                    if time.time() > deadline or running.poll() is not None:
                        raise RuntimeError("gunicorn did not start") from None
                    time.sleep(0.5)
        search_paths = [f"/providers?q={urllib.parse.quote(q)}" for q in QUERIES]
        directory_paths = [
            f"/providers?category={c}&county={k}&page={p}" for c in categories[:6] for k in counties[:4] for p in (1, 2)
        ]
        timed_requests(port, search_paths + directory_paths, 2)  # warm both workers
        timed_requests(bare_port, ["/one-row"], 8)
        page = timed_requests(port, search_paths, args.repeat)
        directory_rps = throughput(port, directory_paths, args.clients, args.seconds)
        bare_rps = throughput(bare_port, ["/one-row"], args.clients, args.seconds)
    finally:
        for running in (server, bare):
            running.terminate()
            running.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)

    raw50, raw95 = statistics.median(raw), percentile(raw, 95)
    page50, page95 = statistics.median(page), percentile(page, 95)
    share = 100 * directory_rps / bare_rps
    rows += [
        (
            "raw index query (in process)",
            f"{len(QUERIES)} queries × {args.repeat}",
            f"p50 {raw50:.1f} ms, p95 {raw95:.1f} ms",
        ),
        (
            "search page (HTTP, 1 client)",
            "budget p95 ≤ 60 ms",
            f"p50 {page50:.1f} ms, p95 {page95:.1f} ms" + verdict(page95 <= 60),
        ),
        ("search page ÷ raw query (p50)", "budget ≤ 1.5×", f"{page50 / raw50:.2f}×" + verdict(page50 / raw50 <= 1.5)),
        (f"directory page ({args.clients} clients)", "filters, no text query", f"{directory_rps:.0f} req/s"),
        (f"bare Flask app, one row ({args.clients} clients)", "same run, a separate app", f"{bare_rps:.0f} req/s"),
        ("directory ÷ bare app", "budget ≥ 30 %", f"{share:.0f} %" + verdict(share >= 30)),
    ]
    table = ["| measure | conditions | result |", "|---|---|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    machine = f"{platform.machine()} {cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print("\n".join(table))
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
            f"machine, {args.agencies:,} generated agencies (SQLite), {args.seconds:.0f} s per throughput run. "
            "Medians and ratios from one run.",
            "",
            "Command: `make bench` (or `.venv/bin/python bench/run.py --agencies 10000`).",
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
