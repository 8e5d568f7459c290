"""Benchmark: build the notice-batch PDF for 2,000 agencies (budget ≤ 2 s), then for 10,000 (the cost must grow
linearly with the rows). Run: .venv/bin/python bench/notice_pdf.py"""

import io
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pypdf import PdfReader  # noqa: E402

from marketplace.common import pdf  # noqa: E402

COLUMNS = ["序号", "机构名称", "统一社会信用代码", "注册地", "服务类别", "服务区域", "承诺签署日期"]
COUNTIES = ["崇川区", "通州区", "海门区", "如皋市", "启东市", "海安市", "如东县", "南通经济技术开发区"]
WORDS = [
    "安泰",
    "中诚",
    "华安",
    "江海",
    "通达",
    "恒信",
    "鼎盛",
    "润安",
    "苏中",
    "明德",
    "瑞源",
    "宏远",
    "正源",
    "安航",
    "海晟",
    "长安",
    "信达",
    "博安",
    "泰和",
    "众邦",
    "金盾",
    "天衡",
    "远航",
    "诚安",
]
KINDS = ["安全技术咨询", "安全技术服务", "安全评价", "检测技术", "职业卫生技术服务", "消防技术服务", "应急管理咨询"]
CATEGORIES = [
    "安全评价（石油加工业，化学原料、化学品及医药制造业）",
    "安全评价（金属非金属矿及其他矿采选业）",
    "检测检验（陆地石油和天然气开采业）",
    "检测检验（烟花爆竹制造业，金属冶炼）",
    "安全咨询",
    "安全培训",
    "隐患排查治理",
    "安全生产标准化",
    "应急预案编制",
    "安全托管",
    "职业卫生技术服务",
    "消防技术服务",
]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(rnd):
    """An 18-character unified social credit code with a valid check digit."""
    district = rnd.choice(["00", "02", "12", "14", "81", "82", "85", "23"])  # 3206xx: Nantong and its counties
    body = "913206" + district + "".join(rnd.choice(USCC_ALPHABET) for _ in range(9))
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return body + USCC_ALPHABET[(31 - total % 31) % 31]


def make_rows(n, seed=2026):
    """`n` realistic directory rows in the notice's column order."""
    rnd = random.Random(seed)
    rows = []
    for i in range(1, n + 1):
        name = f"南通{rnd.choice(WORDS)}{rnd.choice(WORDS)}{rnd.choice(KINDS)}有限公司"
        categories = "；".join(rnd.sample(CATEGORIES, rnd.choice([1, 1, 2, 2, 3])))
        regions = "南通市全域" if rnd.random() < 0.3 else "、".join(rnd.sample(COUNTIES, rnd.randint(1, 5)))
        signed = f"2026-{rnd.randint(1, 11):02d}-{rnd.randint(1, 28):02d}"
        rows.append([str(i), name, uscc(rnd), rnd.choice(COUNTIES), categories, regions, signed])
    return rows


def build(rows, font_path=None):
    changes = [r[1:4] + ["新增"] for r in rows[:30]]
    return pdf.notice_batch_pdf(
        title="南通市安全生产第三方服务机构公示名单",
        batch_no="2026年第3期",
        published_at_text="发布日期：2026年11月29日",
        intro_lines=[
            f"本期公示机构 {len(rows)} 家，新增 30 家，变更 20 家，撤出 10 家。",
            "公示机构均已签署诚信承诺书，不设置准入条件；如有异议请向南通市应急管理局反映。",
        ],
        columns=COLUMNS,
        rows=rows,
        sections=[
            ("本期新增机构", ["机构名称", "统一社会信用代码", "注册地", "变动"], changes),
            ("本期变更机构", ["机构名称", "统一社会信用代码", "注册地", "变动"], changes[:20]),
            ("本期撤出机构", ["机构名称", "统一社会信用代码", "注册地", "变动"], changes[:10]),
        ],
        footer_text="南通市应急管理局 · 安全生产第三方服务机构公示名单 2026年第3期",
        author="南通市应急管理局",
        font_path=font_path,
    )


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        return ""


def main():
    rows = make_rows(2000)
    path = os.environ.get("PDF_CJK_FONT") or pdf.packaged_font()  # as the app's PDF_CJK_FONT setting
    start = time.perf_counter()
    font = pdf.register_cjk_font(path)  # once per process, as in a worker
    build(rows, path)
    cold = time.perf_counter() - start
    times = []
    for _ in range(7):
        start = time.perf_counter()
        data = build(rows, path)
        times.append(time.perf_counter() - start)
    pages = len(PdfReader(io.BytesIO(data)).pages)
    described = f"{path} as {font} (TrueType, subset embedded)"
    print(
        f"machine: {platform.processor() or platform.machine()} {cpu_model()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print(f"font: {described}")
    print(f"rows: {len(rows)} + 60 in sections; runs: {len(times)} after one warm-up")
    print(f"median: {statistics.median(times):.3f} s  min: {min(times):.3f} s  max: {max(times):.3f} s")
    print(f"first build in a fresh process, font registration included: {cold:.3f} s")
    print(f"pages: {pages}  size: {len(data) / 1024:.0f} KB  budget: 2 s")
    # The cost must grow with the rows, not faster (a province's list; reportlab's own table splitting
    # made 5 times the rows cost 10 times the time).
    large = make_rows(10000)
    large_times = []
    for _ in range(3):
        start = time.perf_counter()
        build(large, path)
        large_times.append(time.perf_counter() - start)
    ratio = statistics.median(large_times) / statistics.median(times)
    print(
        f"10,000 rows: median {statistics.median(large_times):.2f} s of 3 (min {min(large_times):.2f}, "
        f"max {max(large_times):.2f}); ÷ 2,000 rows: {ratio:.1f}× (linear: 5×)"
        + (" (met)" if ratio <= 5.5 else " (NOT MET)")
    )
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
