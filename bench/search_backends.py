"""The search backends side by side on one generated register: index build, every query of a varied set
(long sentences, single two-character words, pinyin, initials, a credit code, queries with no hits and
queries most agencies match, the longest text the box takes), and the first directory page after an
agency edit (every worker's per-query caches are out of date then).

    python bench/search_backends.py --agencies 10000 [--backends database whoosh] [--repeat 15]

``BENCH_DATABASE_URL`` chooses PostgreSQL (default: a new SQLite file). Each backend is measured in this
process, one after the other, on the same data; the load average is printed beside the figures."""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.environment import analysed, empty_schema, percentile, production_env, verdict  # noqa: E402

SENTENCE = "我们是如东县的一家化工企业需要做危险化学品安全评价和应急预案"
QUERY_SET = {
    "安全评价": "a category word",
    "危化 检测": "two words, a synonym",
    "应急预案编制": "a long dictionary word",
    "南通 安全": "two words most agencies use",
    "检测": "one two-character word",
    "评价": "one two-character word",
    "安全": "a word most agencies use",
    "技术服务": "a word nearly every agency uses",
    "nantong anquan": "pinyin",
    "rugao jiance": "pinyin",
    "ntaq": "initials",
    "rgjc": "initials",
    "jiangsuhuaning": "run-together pinyin",
    "量子计算机": "no hits",
    "xyzzyq": "no hits, latin",
    SENTENCE: "the issue's sentence",
    "我公司位于海安市主要生产精细化工产品想找一家做职业病危害因素检测和安全培训的机构": "a second sentence",
    "危险化学品生产储存和使用金属冶炼安全评价检测检验职业卫生技术服务应急预案编制安全生产标准化咨询隐患排查治理": "category names run together",
    ("安全评价检测检验应急预案职业卫生培训危险化学品储存场所演练评估服务" * 5)[:100]: "the longest text the box takes",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agencies", type=int, default=10000)
    parser.add_argument("--backends", nargs="+", default=["database", "whoosh"])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--edits", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="marketplace-search-bench-"))
    os.environ.update(production_env(work))
    import flask_migrate
    import sqlalchemy as sa

    from bench.generate import generate
    from marketplace import config, create_app, search
    from marketplace.extensions import db
    from marketplace.providers.models import Provider

    class Config(config.ProductionConfig):
        SEARCH_HEAL_ON_START = False

    apps = {}
    for name in args.backends:
        Config.SEARCH_BACKEND = name
        apps[name] = create_app(Config())
    first = apps[args.backends[0]]
    with first.app_context():
        engine_name = db.engine.dialect.name
        empty_schema(db)
        flask_migrate.upgrade()
        started = time.perf_counter()
        generate(args.agencies)
        db.session.commit()
        analysed(db)
        print(f"{args.agencies:,} agencies generated in {time.perf_counter() - started:.1f} s ({engine_name})")
        code = db.session.scalar(sa.select(Provider.uscc).order_by(Provider.id).offset(args.agencies // 2).limit(1))
    queries = dict(QUERY_SET, **{code: "a credit code"})

    print(f"load average at start: {os.getloadavg()}")
    for name, app in apps.items():
        with app.app_context():
            started = time.perf_counter()
            search.reindex()
            build = time.perf_counter() - started
            analysed(db)  # the index just written, too
            backend = search.backend()
            timings, hits = {}, {}
            backend.forget()
            started = time.perf_counter()
            backend.status()  # what a worker loads once, at start-up (the database backend's per-document values)
            loaded = time.perf_counter() - started
            for text in queries:  # the first search of each, caches cold
                started = time.perf_counter()
                result = backend.search(search.SearchQuery(text=text))
                timings[text] = [(time.perf_counter() - started) * 1000]
                hits[text] = result.total
            forget_answers = getattr(backend, "forget_answers", lambda: None)
            for _ in range(args.repeat):
                for text in queries:
                    forget_answers()  # the search's work each time, not a kept answer
                    started = time.perf_counter()
                    backend.search(search.SearchQuery(text=text))
                    timings[text].append((time.perf_counter() - started) * 1000)
            every = [t for values in timings.values() for t in values]
            client = app.test_client()
            client.get("/providers")
            after_edit = []
            ids = db.session.scalars(sa.select(Provider.id).order_by(Provider.id).limit(args.edits)).all()
            for provider_id in ids:
                provider = db.session.get(Provider, provider_id)
                provider.description = provider.description + "。"
                db.session.commit()
                started = time.perf_counter()
                assert client.get("/providers").status_code == 200
                after_edit.append((time.perf_counter() - started) * 1000)
            warm = []
            for _ in range(args.edits):
                started = time.perf_counter()
                client.get("/providers")
                warm.append((time.perf_counter() - started) * 1000)
            db.session.remove()
        print(f"\n## {name} on {engine_name}, {args.agencies:,} agencies (load average {os.getloadavg()[0]:.2f})")
        print(f"index build: {build:.1f} s; a worker's start-up load: {loaded * 1000:.0f} ms")
        print("| query | kind | hits | first (cold) ms | median ms | max ms |")
        print("|---|---|---|---|---|---|")
        for text, values in timings.items():
            shown = text if len(text) <= 24 else text[:22] + "…"
            print(
                f"| {shown} | {queries[text]} | {hits[text]} | {values[0]:.1f} | "
                f"{statistics.median(values[1:]):.1f} | {max(values):.1f} |"
            )
        p95, worst = percentile(every, 95), max(every)
        print(
            f"whole set: p50 {statistics.median(every):.1f} ms, p95 {p95:.1f} ms{verdict(p95 <= 60)}, "
            f"max {worst:.1f} ms{verdict(worst <= 150)} ({len(every)} searches; budgets p95 ≤ 60 ms, max ≤ 150 ms)"
        )
        print(
            f"first /providers after an edit: median {statistics.median(after_edit):.1f} ms, max {max(after_edit):.1f} ms"
            f"{verdict(max(after_edit) <= 100)} (budget ≤ 100 ms); warm: median {statistics.median(warm):.1f} ms"
        )
        print(f"index build: {build:.1f} s{verdict(build <= 60)} (budget ≤ 60 s at 50,000 agencies)")


if __name__ == "__main__":
    main()
