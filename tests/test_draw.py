"""The spot-check draw nt-draw-1: deterministic from its public inputs, quotas kept, weights as
Efraimidis–Spirakis predicts, a population file that survives any report number, and a standalone
replay script (standard library only) that agrees with the application on every answer."""

import importlib.util
import json
import math
from decimal import Decimal
from pathlib import Path

import pytest

from marketplace.inspections import draw
from marketplace.inspections.draw import Inspector, Unit

ROOT = Path(__file__).resolve().parents[1]
AGENCY, OTHER = "91320600MA1ABCDE7U", "91320612MA2XYZ0001"
STRATA = ["崇川区", "崇川区", "崇川区", "通州区", "通州区", "海门区", "海门区", "海门区"]
UNITS = [Unit(f"{AGENCY}/AP-2026-{n:03d}", s) for n, s in enumerate(STRATA, start=1)] + [
    Unit(f'{OTHER}/检,"测"-2026-9', "通州区", Decimal("2.5"))
]
POOL = [
    Inspector("I1", "崇川区"),
    Inspector("I2", "通州区"),
    Inspector("I3", "海门区"),
    Inspector("I4", "崇川区", frozenset({OTHER})),
    Inspector("I5", "如皋市"),
]
SEED = "drand round 4200000: 5b2c0b2d"
QUOTAS = {"崇川区": 2, "通州区": 1, "海门区": 5}


def test_a_known_draw_gives_the_answer_nt_draw_1_has_always_given():
    """Fixed inputs, fixed answer: a change here is a new algorithm (nt-draw-2), never an edit."""
    assert draw.sha256_hex(draw.population_csv(UNITS)) == (
        "8e566128515d0b7a37ababae6c470af2bc518bfe0e46d67060169162376273c3"
    )
    sample = draw.select(UNITS, SEED, QUOTAS)
    assert sample == [f"{AGENCY}/AP-2026-{n}" for n in ("001", "002", "008", "007", "006", "005")]
    assert draw.assign(sample, UNITS, SEED, POOL) == {
        f"{AGENCY}/AP-2026-001": ["I2", "I3"],
        f"{AGENCY}/AP-2026-002": ["I5", "I2"],
        f"{AGENCY}/AP-2026-008": ["I2", "I1"],
        f"{AGENCY}/AP-2026-007": ["I4", "I5"],
        f"{AGENCY}/AP-2026-006": ["I5", "I1"],
        f"{AGENCY}/AP-2026-005": ["I5", "I1"],
    }


def _population(size, strata=("崇川区", "通州区", "海门区", "如皋市")):
    return [Unit(f"9132{n % 97:014d}/R-{n:06d}", strata[n % len(strata)]) for n in range(size)]


def test_the_same_inputs_always_give_the_same_sample_and_another_seed_another():
    units = _population(2000)
    quotas = {s: 25 for s in ("崇川区", "通州区", "海门区", "如皋市")}
    first = draw.select(units, "福彩3D 2026320期 开奖号码 4 7 1", quotas)
    assert first == draw.select(list(reversed(units)), "福彩3D 2026320期 开奖号码 4 7 1", quotas)
    other = draw.select(units, "福彩3D 2026321期 开奖号码 0 3 9", quotas)
    assert other != first and len(set(other) & set(first)) < 20  # independent samples barely overlap


def test_quotas_are_kept_and_a_stratum_smaller_than_its_quota_gives_all_its_units():
    units = _population(103)
    counts = {}
    for unit in units:
        counts[unit.stratum] = counts.get(unit.stratum, 0) + 1
    sample = draw.select(units, "seed", {"崇川区": 5, "通州区": 1000, "海门区": 0})
    strata = {u.unit: u.stratum for u in units}
    taken = [strata[name] for name in sample]
    assert taken.count("崇川区") == 5
    assert taken.count("通州区") == counts["通州区"]  # every unit of the small stratum
    assert "海门区" not in taken and "如皋市" not in taken  # no quota, no unit
    assert taken == sorted(taken)  # strata ascending, each in rank order


@pytest.mark.parametrize("weights", [(1, 3), (1, 2, 3)])
def test_weights_shift_selection_as_efraimidis_spirakis_predicts(weights):
    """With a quota of one, unit i is drawn with probability w_i / Σw. 6,000 fixed seeds; each
    frequency lies within four standard errors of its prediction."""
    units = [Unit(f"A/{i}", "崇川区", Decimal(w)) for i, w in enumerate(weights)]
    trials = 6000
    picked = [draw.select(units, f"seed {k}", {"崇川区": 1})[0] for k in range(trials)]
    total = sum(weights)
    for i, weight in enumerate(weights):
        p = weight / total
        frequency = picked.count(f"A/{i}") / trials
        assert abs(frequency - p) < 4 * math.sqrt(p * (1 - p) / trials), (weights, i, frequency, p)


def test_a_report_number_with_commas_and_quotes_survives_the_population_file():
    data = draw.population_csv(UNITS)
    assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
    assert data.splitlines()[0] == b"unit,stratum,weight"
    assert b'"91320612MA2XYZ0001/\xe6\xa3\x80,""\xe6\xb5\x8b""-2026-9",' in data  # RFC 4180 quoting
    assert draw.read_population(data) == sorted(UNITS, key=lambda u: u.unit)
    with pytest.raises(draw.PopulationError):
        draw.population_csv(UNITS + UNITS[:1])  # a unit twice
    with pytest.raises(draw.PopulationError):
        draw.population_csv([Unit("A/1", "崇川区", Decimal(0))])


def test_inspectors_never_check_their_own_county_or_an_agency_they_declared():
    units = _population(400)
    pool = [Inspector(f"P{n}", ("崇川区", "通州区", "海门区", "如皋市")[n % 4]) for n in range(12)]
    pool.append(Inspector("CONFLICTED", "启东市", frozenset(u.agency for u in units)))
    sample = draw.select(units, "seed", {"崇川区": 10, "通州区": 10})
    assigned = draw.assign(sample, units, "seed", pool)
    county = {i.id: i.county for i in pool}
    strata = {u.unit: u.stratum for u in units}
    for unit, ids in assigned.items():
        assert len(ids) == 2 and len(set(ids)) == 2
        assert all(county[i] != strata[unit] for i in ids)
        assert "CONFLICTED" not in ids


def _replay_script():
    spec = importlib.util.spec_from_file_location("verify_draw", ROOT / "scripts" / "verify_draw.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _published(tmp_path, units, seed, quotas, pool):
    population = draw.population_csv(units)
    sample = draw.select(units, seed, quotas)
    document = {
        "algorithm": draw.ALGORITHM,
        "population_sha256": draw.sha256_hex(population),
        "population_size": len(units),
        "seed": seed,
        "quotas": quotas,
        "sample": sample,
        "inspector_pool": [{"id": i.id, "county": i.county, "conflicts": sorted(i.conflicts)} for i in pool],
        "inspectors": draw.assign(sample, units, seed, pool),
    }
    (tmp_path / "draw").mkdir()
    (tmp_path / "draw" / "population.csv").write_bytes(population)
    (tmp_path / "draw.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return tmp_path / "draw.json", document


def test_the_standalone_script_replays_a_draw_and_catches_any_change(tmp_path, capsys):
    units = _population(3000) + [Unit(f'{OTHER}/a,"b"', "海门区", Decimal("3.5"))]
    pool = POOL + [Inspector(f"X{n}", "海安市") for n in range(5)]
    location, document = _published(tmp_path, units, "drand 4211234", {"崇川区": 7, "海门区": 9, "如皋市": 2}, pool)
    script = _replay_script()
    assert script.main([str(location)]) == 0
    assert "The draw replays exactly." in capsys.readouterr().out

    document["sample"][0], document["sample"][1] = document["sample"][1], document["sample"][0]
    location.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    assert script.main([str(location)]) == 1
    assert "Sample: DOES NOT MATCH" in capsys.readouterr().out

    population = tmp_path / "draw" / "population.csv"
    population.write_bytes(population.read_bytes().replace(b"\n", b"\r\n"))
    assert script.main([str(location)]) == 1
    assert "DOES NOT MATCH the published" in capsys.readouterr().out


def test_the_script_and_the_application_agree_on_many_seeds():
    script = _replay_script()
    units = _population(500) + [Unit(f"{OTHER}/W{n}", "崇川区", Decimal(n % 5 + 1)) for n in range(50)]
    rows = [(u.unit, u.stratum, u.weight) for u in units]
    pool = [{"id": i.id, "county": i.county, "conflicts": sorted(i.conflicts)} for i in POOL]
    quotas = {"崇川区": 11, "通州区": 3, "海门区": 4, "如皋市": 1}
    seeds = [f"seed {k}" for k in range(38)] + ["长" * 40, "drand " + "f" * 120]  # keys past HMAC's 64 bytes too
    for seed in seeds:
        sample = draw.select(units, seed, quotas)
        assert script.select(rows, seed, quotas) == sample
        assert script.assign(sample, rows, seed, pool) == draw.assign(sample, units, seed, POOL)
