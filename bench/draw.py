"""The spot-check draw nt-draw-1 over 1,000,000 units (budget: ≤ 2 s), against a bare baseline.

The population is realistic and varied: 8 Nantong counties of unequal size, credit codes of 18
characters, report numbers in several agencies' own styles (some with commas and quotes), and weights
from 1 to 5 with one decimal (as credit grades will set them). The bare baseline touches every unit
the least a draw can: one SHA-256 of its name. Seeds are ones no run tuned for (new each run,
printed). Median, min and max of 5 runs after one warm-up, and the load average."""

import os
import platform
import random
import statistics
import sys
import time
from decimal import Decimal
from hashlib import sha256
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marketplace.inspections import draw  # noqa: E402

COUNTIES = {  # share of the population
    "崇川区": 0.22,
    "通州区": 0.14,
    "海门区": 0.13,
    "如皋市": 0.12,
    "海安市": 0.11,
    "启东市": 0.11,
    "如东县": 0.10,
    "南通经济技术开发区": 0.07,
}
STYLES = ["AP-{y}-{n:05d}", "NTAQ（{y}）第{n}号", "苏安评[{y}]{n}", 'JC-{y}-{n},"复"', "{y}-{n:06d}"]


def population(size, rng):
    counties, shares = zip(*COUNTIES.items(), strict=True)
    agencies = [f"9132{rng.randrange(10**13):013d}X" for _ in range(4000)]
    units = set()
    result = []
    while len(result) < size:
        agency = rng.choice(agencies)
        report = rng.choice(STYLES).format(y=rng.choice((2024, 2025, 2026)), n=rng.randrange(1, 10**6))
        name = f"{agency}/{report}"
        if name in units:
            continue
        units.add(name)
        weight = Decimal(rng.choice((10, 10, 10, 15, 20, 30, 50))) / 10
        result.append(draw.Unit(name, rng.choices(counties, shares)[0], weight))
    return result


def timed(fn, runs=5):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main():
    rng = random.Random()
    units = population(1_000_000, rng)
    quotas = {county: rng.randrange(20, 80) for county in COUNTIES}
    seeds = [f"drand round {rng.randrange(10**7)}: {rng.getrandbits(128):032x}" for _ in range(6)]
    seed_iter = iter(seeds)
    drawn = timed(lambda: draw.select(units, next(seed_iter), quotas))
    bare = timed(lambda: [sha256(u.unit.encode("utf-8")).digest() for u in units])
    written = timed(lambda: draw.population_csv(units), runs=3)
    load = os.getloadavg()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"units: {len(units):,}; quotas {sum(quotas.values())} over {len(quotas)} strata; seeds: {seeds[0]!r} …")
    for label, times in (("draw (select)", drawn), ("bare: one SHA-256 per unit", bare), ("population file", written)):
        print(f"{label:28} median {statistics.median(times):.2f} s  min {min(times):.2f}  max {max(times):.2f}")
    ratio = statistics.median(drawn) / statistics.median(bare)
    met = statistics.median(drawn) <= 2.0
    print(f"draw ÷ bare: {ratio:.1f}×   budget ≤ 2 s: {'met' if met else 'NOT met'}   load {load[0]:.2f} {load[1]:.2f}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
