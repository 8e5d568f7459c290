"""The spot-check draw ``nt-draw-1`` (双随机、一公开): a sample anyone can replay from public inputs.

The algorithm is fixed; a change would be ``nt-draw-2``. Its text, for the public, is in
``docs/draw-algorithm.md`` and on every draw's page; ``scripts/verify_draw.py`` repeats it with the
Python standard library only, and a test holds the two to the same answers.

1. Commit: the population file (``population_csv``) is published with its SHA-256, the quota per
   stratum, the inspector pool and the seed source, before the seed exists.
2. Reveal: the seed is the public value exactly as its source published it.
3. Score: ``u = ((first 8 bytes of HMAC-SHA256(seed, unit), big-endian) >> 11) + 0.5) / 2**53`` and
   ``score = ln(u) / weight`` (Efraimidis–Spirakis: heavier units are likelier to be drawn).
4. Select: per stratum, units by score descending then unit ascending; the first ``quota``. Strata
   in ascending order, each in rank order.
5. Inspectors: per sampled unit, in sample order, the two eligible inspectors with the highest
   ``u`` of HMAC-SHA256(seed, "<unit>|<inspector id>") (ties: id ascending). Not eligible: an
   inspector of the unit's own county (stratum), or one who declared a conflict with its agency.
"""

import csv
import hashlib
import heapq
import hmac
import io
import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

ALGORITHM = "nt-draw-1"
HEADER = ("unit", "stratum", "weight")
INSPECTORS_PER_UNIT = 2


class PopulationError(ValueError):
    """A population file that does not follow nt-draw-1."""


@dataclass(frozen=True, order=True)
class Unit:
    unit: str  # <agency credit code>/<report number>
    stratum: str  # the Chinese name of the county with jurisdiction
    weight: Decimal = Decimal(1)

    @property
    def agency(self):
        return self.unit.split("/", 1)[0]


@dataclass(frozen=True)
class Inspector:
    id: str
    county: str  # the Chinese name of the inspector's county (a stratum name)
    conflicts: frozenset = field(default_factory=frozenset)  # credit codes of agencies declared


def unit_name(agency_uscc, report_no):
    return f"{agency_uscc}/{report_no}"


def weight_text(weight):
    """A positive decimal without exponent: 1, 2.5."""
    value = Decimal(weight)
    if not value.is_finite() or value <= 0:
        raise PopulationError(f"weight must be a positive number, not {weight!r}")
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def population_csv(units):
    """The population file's exact bytes: UTF-8 without BOM, \\n line ends, RFC 4180 quoting,
    ``unit,stratum,weight``, one row per unit, sorted by unit."""
    ordered = sorted(units, key=lambda u: u.unit)
    texts = {}  # one text per distinct weight
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    previous = None
    for unit in ordered:
        if unit.unit == previous:
            raise PopulationError(f"unit {unit.unit!r} appears twice")
        previous = unit.unit
        text = texts.get(unit.weight) or texts.setdefault(unit.weight, weight_text(unit.weight))
        writer.writerow((unit.unit, unit.stratum, text))
    return out.getvalue().encode("utf-8")


def read_population(data):
    """The units of a population file (checked: header, order, positive weights)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    if not rows or tuple(rows[0]) != HEADER:
        raise PopulationError("the first line must be unit,stratum,weight")
    units = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != 3:
            raise PopulationError(f"line {number} has {len(row)} fields, not 3")
        try:
            weight = Decimal(row[2])
        except InvalidOperation:
            raise PopulationError(f"line {number}: weight {row[2]!r} is not a number") from None
        weight_text(weight)
        units.append(Unit(row[0], row[1], weight))
    if [u.unit for u in units] != sorted(u.unit for u in units):
        raise PopulationError("units must be sorted by unit")
    return units


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


class _Hmac:
    """HMAC-SHA256 under one key, with the key's inner and outer states computed once (RFC 2104):
    twice as fast as ``hmac.digest`` per message, which sets the key up again each time."""

    def __init__(self, key):
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def uniform(self, message):
        inner = self.inner.copy()
        inner.update(message.encode("utf-8"))
        outer = self.outer.copy()
        outer.update(inner.digest())
        return ((int.from_bytes(outer.digest()[:8], "big") >> 11) + 0.5) / 2**53


def uniform(seed, message):
    """A number in (0, 1) from HMAC-SHA256(key=seed, message), 53 bits of it."""
    digest = hmac.digest(seed.encode("utf-8"), message.encode("utf-8"), "sha256")
    return ((int.from_bytes(digest[:8], "big") >> 11) + 0.5) / 2**53


def score(seed, unit):
    return math.log(uniform(seed, unit.unit)) / float(unit.weight)


def select(units, seed, quotas):
    """The sample: unit names, strata ascending, each in rank order, at most ``quotas[stratum]``.
    (A million units in about a second: one HMAC each, then the best ``quota`` of each stratum.)"""
    mac, weights, strata = _Hmac(seed.encode("utf-8")), {}, {}
    for unit in units:
        weight = weights.get(unit.weight) or weights.setdefault(unit.weight, float(unit.weight))
        strata.setdefault(unit.stratum, []).append((-math.log(mac.uniform(unit.unit)) / weight, unit.unit))
    sample = []
    for stratum in sorted(strata):
        quota = max(0, int(quotas.get(stratum, 0)))
        sample += [name for _score, name in heapq.nsmallest(quota, strata[stratum])]
    return sample


def assign(sample, units, seed, pool, per_unit=INSPECTORS_PER_UNIT):
    """{unit: [inspector ids]} for the sampled units, in sample order (see the module's text)."""
    by_name = {u.unit: u for u in units}
    assigned = {}
    for name in sample:
        unit = by_name[name]
        eligible = [i for i in pool if i.county != unit.stratum and unit.agency not in i.conflicts]
        ranked = sorted(eligible, key=lambda i: (-uniform(seed, f"{name}|{i.id}"), i.id))
        assigned[name] = [i.id for i in ranked[:per_unit]]
    return assigned
