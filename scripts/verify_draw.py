#!/usr/bin/env python3
"""Replay a published spot-check draw (algorithm nt-draw-1) without trusting the server that made it.

    python3 verify_draw.py https://…/inspections/draws/12.json
    python3 verify_draw.py draw.json --population population.csv     (files saved earlier)

It fetches the draw's JSON and its population file, checks the file's SHA-256 against the one
published at the commit, recomputes the sample and the inspectors from the revealed seed, and says
whether they match what the bureau published. It uses the Python standard library only (3.8 or newer),
so that anyone can read all of it. The algorithm is in docs/draw-algorithm.md and on the draw's page.
"""

import argparse
import csv
import hashlib
import hmac
import io
import json
import math
import sys
import urllib.request
from decimal import Decimal

ALGORITHM = "nt-draw-1"


def fetch(location):
    if location.startswith(("http://", "https://")):
        with urllib.request.urlopen(location, timeout=60) as response:
            return response.read()
    with open(location, "rb") as handle:
        return handle.read()


def population_location(draw_location):
    if draw_location.endswith(".json"):
        return draw_location[: -len(".json")] + "/population.csv"
    raise SystemExit("give the population file with --population")


def read_population(data):
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    if not rows or rows[0] != ["unit", "stratum", "weight"]:
        raise SystemExit("the population file does not start with unit,stratum,weight")
    units = [(row[0], row[1], Decimal(row[2])) for row in rows[1:]]
    if [u[0] for u in units] != sorted(u[0] for u in units):
        raise SystemExit("the population file is not sorted by unit")
    return units


def uniform(seed, message):
    digest = hmac.new(seed.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return ((int.from_bytes(digest[:8], "big") >> 11) + 0.5) / 2**53


def select(units, seed, quotas):
    strata = {}
    for name, stratum, weight in units:
        strata.setdefault(stratum, []).append((name, weight))
    sample = []
    for stratum in sorted(strata):
        ranked = sorted(strata[stratum], key=lambda u: (-(math.log(uniform(seed, u[0])) / float(u[1])), u[0]))
        sample += [name for name, _weight in ranked[: max(0, int(quotas.get(stratum, 0)))]]
    return sample


def assign(sample, units, seed, pool, per_unit=2):
    stratum_of = {name: stratum for name, stratum, _weight in units}
    assigned = {}
    for name in sample:
        agency = name.split("/", 1)[0]
        eligible = [i for i in pool if i["county"] != stratum_of[name] and agency not in i.get("conflicts", [])]
        ranked = sorted(eligible, key=lambda i: (-uniform(seed, name + "|" + str(i["id"])), str(i["id"])))
        assigned[name] = [str(i["id"]) for i in ranked[:per_unit]]
    return assigned


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("draw", help="the address (or a saved copy) of the draw's .json")
    parser.add_argument("--population", help="the population file, if not next to the .json address")
    args = parser.parse_args(argv)

    draw = json.loads(fetch(args.draw).decode("utf-8"))
    if draw.get("algorithm") != ALGORITHM:
        print(f"This script replays {ALGORITHM}; the draw uses {draw.get('algorithm')!r}.")
        return 2
    population = fetch(args.population or population_location(args.draw))
    ok = True
    digest = hashlib.sha256(population).hexdigest()
    if digest == draw["population_sha256"]:
        print(f"Population file: SHA-256 {digest} — matches the one published at the commit.")
    else:
        print(f"Population file: SHA-256 {digest} — DOES NOT MATCH the published {draw['population_sha256']}.")
        ok = False
    units = read_population(population)
    if len(units) != draw["population_size"]:
        print(f"Population size: {len(units)} units — DOES NOT MATCH the published {draw['population_size']}.")
        ok = False
    if draw.get("seed") is None:
        print("The seed has not been revealed yet: only the population can be checked now.")
        return 0 if ok else 1

    sample = select(units, draw["seed"], draw["quotas"])
    inspectors = assign(sample, units, draw["seed"], draw["inspector_pool"])
    if sample == draw["sample"]:
        print(f"Sample: {len(sample)} units drawn with seed {draw['seed']!r} — matches the published sample.")
    else:
        print("Sample: DOES NOT MATCH the published sample.")
        print("  recomputed: " + ", ".join(sample))
        print("  published:  " + ", ".join(draw["sample"]))
        ok = False
    published = {unit: [str(i) for i in ids] for unit, ids in draw["inspectors"].items()}
    if inspectors == published:
        print("Inspectors: match the published assignment.")
    else:
        print("Inspectors: DO NOT MATCH the published assignment.")
        for unit in sample:
            if inspectors.get(unit) != published.get(unit):
                print(f"  {unit}: recomputed {inspectors.get(unit)}, published {published.get(unit)}")
        ok = False
    print("The draw replays exactly." if ok else "The draw does NOT replay.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
