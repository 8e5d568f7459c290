"""Supervision in three tiers, through the pages each user works with: the city opens a campaign, agencies
self-check, counties recheck and record findings with rectification, the city draws a spot-check sample
anyone can replay, inspectors record results, penalties are published and expire from public view."""

import csv
import io
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import building
from tests.forms import form_data

CHONGCHUAN, TONGZHOU, HAIMEN = "320613", "320612", "320614"


@pytest.fixture(scope="module")
def world(app, module_db):
    """Two agencies with finished engagements (reports issued today) in 崇川区 and 通州区; regulators of
    both counties and of 海门区 (inspectors from elsewhere), and the city."""
    from marketplace.auth import sessions
    from marketplace.auth.roles import Role

    with building(app):
        make = factories.UserFactory
        agency_user = make(role=Role.AGENCY, email="insp-agency@example.cn")
        other_user = make(role=Role.AGENCY, email="insp-other@example.cn")
        client = make(role=Role.ENTERPRISE, email="insp-client@example.cn")
        city = make(role=Role.CITY_REGULATOR, email="insp-city@example.cn", display_name="市局 陈建国")
        chongchuan = make(
            role=Role.COUNTY_REGULATOR,
            email="insp-cc@example.cn",
            county_id=factories.county(CHONGCHUAN).id,
            display_name="崇川 顾晓明",
        )
        tongzhou = make(
            role=Role.COUNTY_REGULATOR,
            email="insp-tz@example.cn",
            county_id=factories.county(TONGZHOU).id,
            display_name="通州 陆海燕",
        )
        haimen = make(
            role=Role.COUNTY_REGULATOR,
            email="insp-hm@example.cn",
            county_id=factories.county(HAIMEN).id,
            display_name="海门 施卫东",
        )
        provider, _ = factories.publish(agency_user, n=31)
        factories.add_staff(agency_user, provider, name="李明华")
        other, _ = factories.publish(other_user, n=32, county_code=TONGZHOU)
        factories.add_staff(other_user, other, name="赵强")
        factories.make_enterprise(client, n=31)
        done = []
        for i, county in enumerate([CHONGCHUAN] * 4 + [TONGZHOU] * 2):
            e = factories.request(client, provider, county_code=county)
            done.append(factories.advance(e, client, agency_user, report_no=f"AP-2026-{i:03d}"))
        for i in range(2):
            e = factories.request(client, other, county_code=TONGZHOU)
            done.append(factories.advance(e, client, other_user, report_no=f"TZ-2026-{i:03d}"))
        accounts = dict(
            agency=agency_user, other=other_user, client=client, city=city, cc=chongchuan, tz=tongzhou, hm=haimen
        )
        return {
            "logins": {k: sessions.open_session(u) for k, u in accounts.items()},
            "ids": {k: u.id for k, u in accounts.items()},
            "provider": provider.id,
            "other": other.id,
            "uscc": provider.uscc,
        }


class Page:
    """A page whose form is sent as a browser would: what the page holds, with some values changed."""

    def __init__(self, client, url, prefix=None):
        self.client, self.url = client, url

    def submit(self, changes=None, action=None, files=None):
        page = self.client.get(self.url)
        assert page.status_code == 200, (self.url, page.status_code)
        data = form_data(page, action or self.url)
        for key, value in (changes or {}).items():
            if isinstance(value, list):
                data.setlist(key, value)
            else:
                data[key] = value
        for key, value in (files or {}).items():
            data[key] = value
        return self.client.post(action or self.url, data=data)


@pytest.fixture()
def as_user(client, world):
    def login(who):
        with client.session_transaction() as session:
            session.clear()
            if who:
                session["_user_id"], session["_fresh"] = world["logins"][who], True
        return client

    return login


def _campaign_form(**changes):
    today = factories.soon(0)
    values = {
        "name": "2026年安全评价检测检验机构专项整治",
        "description": "两虚假、两出借",
        "period_start": (today - timedelta(days=30)).isoformat(),
        "period_end": (today + timedelta(days=1)).isoformat(),
        "category_ids": [str(factories.category("se_chemicals").id)],
        "self_check_due": (today + timedelta(days=10)).isoformat(),
        "recheck_due": (today + timedelta(days=20)).isoformat(),
        "spot_check_due": (today + timedelta(days=30)).isoformat(),
        "quota_kind": "size",
        "quota_value": "2",
    }
    values.update(changes)
    return values


def _open_campaign(as_user, **changes):
    from marketplace.inspections.models import Campaign

    city = as_user("city")
    page = Page(city, "/inspections/campaigns/new")
    response = page.submit(_campaign_form(**changes))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    campaign_id = int(response.headers["Location"].rsplit("/", 1)[1])
    opened = Page(city, f"/inspections/campaigns/{campaign_id}").submit(
        {}, action=f"/inspections/campaigns/{campaign_id}/open"
    )
    assert opened.status_code == 302
    from marketplace.extensions import db

    return db.session.get(Campaign, campaign_id)


def _answers(unit, answer="met", notes=None):
    from marketplace.inspections import services

    data = {}
    for item in services.items_for(unit):
        data[f"item-{item.id}"] = answer
        data[f"note-{item.id}"] = (notes or {}).get(item.id, "")
    return data


def _units(campaign, **where):
    from marketplace.extensions import db
    from marketplace.inspections.models import CampaignUnit

    query = sa.select(CampaignUnit).where(CampaignUnit.campaign_id == campaign.id).order_by(CampaignUnit.id)
    for key, value in where.items():
        query = query.where(getattr(CampaignUnit, key) == value)
    return db.session.scalars(query).all()


# --- campaigns -----------------------------------------------------------------------------------


def test_a_campaign_opens_with_its_checklist_drafted_and_its_population_frozen(as_user, world):
    campaign = _open_campaign(as_user)
    assert campaign.status.value == "open"
    assert campaign.population_size == 8
    units = _units(campaign)
    assert {u.unit.split("/")[1] for u in units} >= {"AP-2026-000", "TZ-2026-001"}
    assert {u.stratum for u in units} == {"崇川区", "通州区"}
    from marketplace.common.chain import ChainEntry
    from marketplace.extensions import db

    chained = db.session.scalars(
        sa.select(ChainEntry.record_id).where(ChainEntry.record_type == "campaign_units")
    ).all()
    assert {str(u.id) for u in units} <= set(chained)  # the frozen population joins the hash chain
    assert units[0].unit.startswith(world["uscc"] + "/") or units[0].unit.split("/")[0] != ""
    texts = [i.text for i in campaign.items]
    assert any("重大危险源" in t for t in texts) and any("伪造" in t for t in texts)
    page = as_user("city").get(f"/inspections/campaigns/{campaign.id}").get_data(as_text=True)
    assert "崇川区" in page and "通州区" in page and 'id="coverage"' in page
    # frozen: the checklist cannot change now
    response = Page(as_user("city"), f"/inspections/campaigns/{campaign.id}/items").submit(
        {"category_id": str(factories.category("se_chemicals").id), "text": "新增", "criterion": "other"}
    )
    assert "已冻结" in response.get_data(as_text=True)

    # the coverage table names the counties in the reader's language
    english = as_user("city").get(f"/inspections/campaigns/{campaign.id}?lang=en").get_data(as_text=True)
    assert "Chongchuan District" in english.split('id="coverage"')[1]


def test_a_campaign_with_no_report_in_its_period_does_not_open_and_says_why(as_user):
    today = factories.soon(0)
    city = as_user("city")
    response = Page(city, "/inspections/campaigns/new").submit(
        _campaign_form(
            period_start=(today - timedelta(days=90)).isoformat(), period_end=(today - timedelta(days=60)).isoformat()
        )
    )
    campaign_id = int(response.headers["Location"].rsplit("/", 1)[1])
    opened = Page(city, f"/inspections/campaigns/{campaign_id}").submit(
        {}, action=f"/inspections/campaigns/{campaign_id}/open"
    )
    page = city.get(opened.headers["Location"]).get_data(as_text=True)
    assert "暂无可检查的项目" in page
    from marketplace.extensions import db
    from marketplace.inspections.models import Campaign

    assert db.session.get(Campaign, campaign_id).status.value == "draft"


def test_opening_a_campaign_runs_as_a_job_whose_page_links_the_campaign(as_user):
    """Freezing a city's year of engagements took 6.7-21.7 s inside the request: it is a job now."""
    from marketplace.extensions import db
    from marketplace.inspections.models import Campaign, CampaignUnit
    from marketplace.jobs.models import Job

    city = as_user("city")
    response = Page(city, "/inspections/campaigns/new").submit(_campaign_form())
    campaign_id = int(response.headers["Location"].rsplit("/", 1)[1])
    opened = Page(city, f"/inspections/campaigns/{campaign_id}").submit(
        {}, action=f"/inspections/campaigns/{campaign_id}/open"
    )
    assert opened.status_code == 302 and "/jobs/" in opened.headers["Location"]
    page = city.get(opened.headers["Location"]).get_data(as_text=True)
    campaign = db.session.get(Campaign, campaign_id)
    units = db.session.scalar(sa.select(sa.func.count(CampaignUnit.id)).where(CampaignUnit.campaign_id == campaign_id))
    assert campaign.status.value == "open" and units == campaign.population_size > 0
    assert f"专项整治已启动：检查总体为 {units} 个服务项目" in page
    assert f'href="/inspections/campaigns/{campaign_id}"' in page
    job = db.session.scalar(sa.select(Job).order_by(Job.id.desc()))
    assert (job.kind, job.state, job.result) == ("inspections.open", "done", str(campaign_id))


def test_bad_campaign_input_is_shown_beside_its_field_and_nothing_is_saved(as_user):
    from marketplace.extensions import db
    from marketplace.inspections.models import Campaign

    before = db.session.scalar(sa.select(sa.func.count(Campaign.id)))
    response = Page(as_user("city"), "/inspections/campaigns/new").submit(
        _campaign_form(category_ids=[], quota_kind="rate", quota_value="150", name="保留的名字")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "请至少选择一个服务类别。" in page and "比例最高为 100%" in page
    assert "保留的名字" in page
    assert db.session.scalar(sa.select(sa.func.count(Campaign.id))) == before


# --- the three tiers -----------------------------------------------------------------------------


def test_an_agency_self_checks_its_own_units_only_and_every_item_must_be_answered(as_user, world):
    from marketplace.inspections.models import Check

    campaign = _open_campaign(as_user)
    mine = _units(campaign, provider_id=world["provider"])[0]
    theirs = _units(campaign, provider_id=world["other"])[0]
    agency = as_user("agency")
    listing = agency.get(f"/inspections/campaigns/{campaign.id}").get_data(as_text=True)
    assert "AP-2026-000" in listing and "TZ-2026-000" not in listing
    assert agency.get(f"/inspections/units/{theirs.id}/self-check").status_code == 403

    form = Page(agency, f"/inspections/units/{mine.id}/self-check")
    data = _answers(mine)
    first = next(iter(data))
    data[first] = ""  # one item left unanswered
    data["conclusion"], data["summary"] = "compliant", "自查说明保留"
    response = form.submit(data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "请回答此项。" in page and "自查说明保留" in page
    from marketplace.extensions import db

    assert not db.session.scalar(sa.select(Check.id).where(Check.unit_id == mine.id))

    data = _answers(mine, answer="not_met")
    data["conclusion"] = "compliant"
    page = form.submit(data).get_data(as_text=True)
    assert "结论不能为“合格”" in page and "请说明发现的情况。" in page

    data = _answers(mine)
    data["conclusion"] = "compliant"
    response = form.submit(data, files={"evidence": factories.upload(factories.PDF, "自查记录.pdf")})
    assert response.status_code == 302
    check = db.session.scalar(sa.select(Check).where(Check.unit_id == mine.id))
    assert check.tier.value == "self" and len(check.files) == 1
    # a second submission is a correction that names the first; the first stays
    data["conclusion"] = "minor"
    data[first], data[first.replace("item", "note")] = "not_met", "现场照片缺失"
    assert form.submit(data).status_code == 302
    checks = db.session.scalars(sa.select(Check).where(Check.unit_id == mine.id).order_by(Check.id)).all()
    assert [c.conclusion.value for c in checks] == ["compliant", "minor"] and checks[1].supersedes_id == checks[0].id


def test_a_county_regulator_sees_and_rechecks_its_own_county_only(as_user, world):
    campaign = _open_campaign(as_user)
    tongzhou_unit = _units(campaign, stratum="通州区")[0]
    chongchuan_unit = _units(campaign, stratum="崇川区")[0]
    cc = as_user("cc")
    listing = cc.get(f"/inspections/campaigns/{campaign.id}/units").get_data(as_text=True)
    assert chongchuan_unit.unit.split("/")[1] in listing and tongzhou_unit.unit.split("/")[1] not in listing
    assert cc.get(f"/inspections/units/{tongzhou_unit.id}").status_code == 403
    assert cc.get(f"/inspections/units/{tongzhou_unit.id}/recheck").status_code == 403
    assert cc.post(f"/inspections/units/{tongzhou_unit.id}/recheck", data={}).status_code in (400, 403)
    page = cc.get(f"/inspections/campaigns/{campaign.id}").get_data(as_text=True)
    assert "通州区" not in page.split('id="coverage"')[1].split("</table>")[0]


def test_a_recheck_that_disagrees_is_counted_and_its_finding_goes_through_rectification(as_user, world):
    from marketplace.extensions import db
    from marketplace.inspections import queries
    from marketplace.inspections.models import Finding, Violation

    campaign = _open_campaign(as_user)
    unit = _units(campaign, stratum="崇川区", provider_id=world["provider"])[0]
    own = _answers(unit)
    own["conclusion"] = "compliant"
    assert Page(as_user("agency"), f"/inspections/units/{unit.id}/self-check").submit(own).status_code == 302

    cc = as_user("cc")
    data = _answers(unit)
    first = next(k for k in data if k.startswith("item-"))
    data[first], data[first.replace("item", "note")] = "not_met", "报告所述工艺与现场不符"
    data.update(conclusion="non_compliant", inspectors="顾晓明、张强")
    response = Page(cc, f"/inspections/units/{unit.id}/recheck").submit(data)
    assert response.status_code == 302 and "/findings/new" in response.headers["Location"]
    rows, total = queries.dashboard(campaign)
    assert total.rechecked == 1 and total.disagreements == 1 and total.non_compliant == 1

    violation = db.session.scalar(sa.select(Violation).where(Violation.code == "SS-01"))
    due = factories.soon(15).isoformat()
    response = Page(cc, response.headers["Location"]).submit(
        {"violation_id": str(violation.id), "facts": "总平面布置与现场不一致", "rectification_due": due}
    )
    assert response.status_code == 302
    finding = db.session.scalar(sa.select(Finding).where(Finding.unit_id == unit.id))
    assert finding.code == "SS-01" and "第九十二条第一款" in finding.legal_basis

    # the agency answers with evidence; the county returns it with a reason; the agency tries again
    agency = as_user("agency")
    page = Page(agency, f"/inspections/findings/{finding.id}", prefix="r-")
    assert page.submit({"form": "rectify", "r-note": "已重新勘验并修改报告"}).status_code == 302
    decide = Page(as_user("cc"), f"/inspections/findings/{finding.id}", prefix="d-")
    refused = decide.submit({"form": "decide", "d-decision": "return", "d-reason": ""})
    assert "请说明理由" in refused.get_data(as_text=True)
    assert decide.submit({"form": "decide", "d-decision": "return", "d-reason": "缺少现场照片"}).status_code == 302
    assert "缺少现场照片" in as_user("agency").get(f"/inspections/findings/{finding.id}").get_data(as_text=True)
    page = Page(as_user("agency"), f"/inspections/findings/{finding.id}", prefix="r-")
    assert (
        page.submit(
            {"form": "rectify", "r-note": "补充照片"}, files={"r-file": factories.upload(factories.PNG, "照片.png")}
        ).status_code
        == 302
    )
    decide = Page(as_user("cc"), f"/inspections/findings/{finding.id}", prefix="d-")
    assert decide.submit({"form": "decide", "d-decision": "accept"}).status_code == 302
    db.session.expire_all()
    from marketplace.inspections import services

    assert services.rectification_state(db.session.get(Finding, finding.id)) == "accepted"
    # another agency, and another county, cannot read it
    assert as_user("other").get(f"/inspections/findings/{finding.id}").status_code == 403
    assert as_user("tz").get(f"/inspections/findings/{finding.id}").status_code == 403


def test_an_overdue_rectification_is_flagged(as_user, world, db):
    from marketplace.auth.permissions import SYSTEM  # noqa: F401
    from marketplace.inspections import queries, services
    from marketplace.inspections.models import Tier, Violation

    campaign = _open_campaign(as_user)
    unit = _units(campaign, stratum="崇川区")[0]
    city = db.session.get(factories.UserFactory._meta.model, world["ids"]["city"])
    answers = {int(k[5:]): ("met", "") for k in _answers(unit) if k.startswith("item-")}
    check = services.submit_check(
        city, unit, Tier.RECHECK, answers=answers, conclusion=services.Conclusion.MINOR, inspectors=["陈建国"]
    )
    violation = db.session.scalar(sa.select(Violation).where(Violation.code == "GK-01"))
    finding = services.record_finding(
        city, check, violation_id=violation.id, facts="报告未公开", rectification_due=factories.soon(1)
    )
    db.session.flush()
    later = factories.soon(5)
    assert services.is_overdue(finding, today=later)
    assert queries.dashboard(campaign, today=later)[1].rectifications_overdue == 1
    assert queries.dashboard(campaign)[1].rectifications_open == 1
    assert queries.dashboard(campaign)[1].rectifications_overdue == 0


# --- the draw ------------------------------------------------------------------------------------


def _commit(as_user, campaign, seed_source="福彩3D 第2026330期开奖号码"):
    from marketplace.extensions import db
    from marketplace.inspections.models import Draw

    city = as_user("city")
    form = Page(city, f"/inspections/campaigns/{campaign.id}/draws/new")
    response = form.submit({"seed_source": seed_source})  # every regulator offered is ticked
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return db.session.get(Draw, int(response.headers["Location"].rsplit("/", 1)[1]))


def test_a_draw_is_committed_in_public_revealed_once_and_replays(as_user, world, tmp_path, runner):
    from marketplace.extensions import db
    from scripts import verify_draw

    campaign = _open_campaign(as_user)
    # an inspector declares a conflict with the agency before the commit
    hm = as_user("hm")
    assert (
        Page(hm, "/inspections/conflicts").submit({"uscc": world["uscc"], "reason": "曾在该机构任职"}).status_code
        == 302
    )
    record = _commit(as_user, campaign)
    public = as_user(None)
    data = public.get(f"/inspections/draws/{record.id}.json").get_json()
    assert data["algorithm"] == "nt-draw-1" and data["seed"] is None and data["sample"] == []
    assert data["population_size"] == 8 and data["quotas"] == {"崇川区": 2, "通州区": 2}
    population = public.get(f"/inspections/draws/{record.id}/population.csv").data
    import hashlib

    assert hashlib.sha256(population).hexdigest() == data["population_sha256"]
    assert population.startswith(b"unit,stratum,weight\n") and b"\r\n" not in population
    rows = list(csv.reader(io.StringIO(population.decode("utf-8"))))[1:]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows) and {r[2] for r in rows} == {"1"}
    hm_entry = next(i for i in data["inspector_pool"] if i["name"] == "海门 施卫东")
    assert hm_entry["conflicts"] == [world["uscc"]] and hm_entry["county"] == "海门区"
    assert "福彩3D" in public.get(f"/inspections/draws/{record.id}").get_data(as_text=True)

    # the public cannot reveal; the city enters the seed once
    assert public.post(f"/inspections/draws/{record.id}", data={"seed": "123"}).status_code in (400, 403)
    city = as_user("city")
    assert Page(city, f"/inspections/draws/{record.id}").submit({"seed": " 3 7 5 "}).status_code == 302
    data = public.get(f"/inspections/draws/{record.id}.json").get_json()
    assert data["seed"] == "3 7 5" and data["revealed_at"]
    assert len(data["sample"]) == 4
    from marketplace.inspections import queries

    by_county, total = queries.dashboard(campaign)
    assert total.sampled == 4 and {r.name: r.sampled for r in by_county} == {"崇川区": 2, "通州区": 2}
    for unit, ids in data["inspectors"].items():
        stratum = next(r[1] for r in rows if r[0] == unit)
        assert len(ids) == 2
        pool = {i["id"]: i for i in data["inspector_pool"]}
        assert all(pool[i]["county"] != stratum for i in ids)  # 所所交叉
        if unit.startswith(world["uscc"]):
            assert hm_entry["id"] not in ids  # declared conflict
    # replay: the application, the CLI and the standalone script agree
    db.session.expire_all()
    result = runner.invoke(args=["inspections", "verify-draw", str(record.id)])
    assert result.exit_code == 0 and "replays exactly" in result.output
    (tmp_path / "draw.json").write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "population.csv").write_bytes(population)
    assert verify_draw.main([str(tmp_path / "draw.json"), "--population", str(tmp_path / "population.csv")]) == 0
    # never changed again: the page refuses, and so does the database
    again = Page(city, f"/inspections/draws/{record.id}")
    assert again.submit({"seed": "999"}).status_code in (403, 409)
    with pytest.raises(sa.exc.DBAPIError):
        with db.session.begin_nested():
            db.session.execute(sa.text("UPDATE draws SET seed = 'other' WHERE id = :id"), {"id": record.id})
    db.session.expire_all()
    assert public.get(f"/inspections/draws/{record.id}.json").get_json()["seed"] == "3 7 5"
    assert str(record.id) in public.get("/inspections/draws").get_data(as_text=True)


def test_a_committed_draw_cannot_change_its_published_inputs(as_user, db):
    campaign = _open_campaign(as_user)
    record = _commit(as_user, campaign)
    with pytest.raises(sa.exc.DBAPIError):
        with db.session.begin_nested():
            db.session.execute(sa.text("UPDATE draws SET seed_source = 'x' WHERE id = :id"), {"id": record.id})
    # a second draw waits until the first is revealed
    response = Page(as_user("city"), f"/inspections/campaigns/{campaign.id}/draws/new").submit(
        {"seed_source": "drand 9000000"}
    )
    assert "正在等待种子" in response.get_data(as_text=True)


def test_assigned_inspectors_record_the_spot_check_and_the_result_is_published(as_user, world):
    from marketplace.auth.permissions import inspector_id
    from marketplace.extensions import db
    from marketplace.inspections.models import CampaignUnit

    campaign = _open_campaign(as_user)
    record = _commit(as_user, campaign)
    Page(as_user("city"), f"/inspections/draws/{record.id}").submit({"seed": "drand-round-4242"})
    db.session.expire_all()
    ids = {k: f"JC{world['ids'][k]:05d}" for k in ("cc", "tz", "hm")}
    assert ids["cc"] == inspector_id(db.session.get(factories.UserFactory._meta.model, world["ids"]["cc"]))
    name, assigned = next((u, a) for u, a in record.inspectors.items() if any(i in ids.values() for i in a))
    unit = db.session.scalar(
        sa.select(CampaignUnit).where(CampaignUnit.campaign_id == campaign.id, CampaignUnit.unit == name)
    )
    who = next(k for k, v in ids.items() if v in assigned)
    outsider = next((k for k, v in ids.items() if v not in assigned and k != who), None)
    inspector = as_user(who)
    data = _answers(unit)
    data.update(conclusion="compliant", inspectors="甲、乙")
    assert Page(inspector, f"/inspections/units/{unit.id}/spot-check").submit(data).status_code == 302
    if outsider is not None:
        assert as_user(outsider).get(f"/inspections/units/{unit.id}/spot-check").status_code == 403
    result = as_user(None).get(f"/inspections/draws/{record.id}.json").get_json()["results"]
    assert result[name]["conclusion"] == "compliant"
    # a unit not drawn cannot be spot-checked
    other = db.session.scalar(
        sa.select(CampaignUnit).where(CampaignUnit.campaign_id == campaign.id, CampaignUnit.unit.not_in(record.sample))
    )
    assert as_user("city").get(f"/inspections/units/{other.id}/spot-check").status_code == 403


# --- penalties -----------------------------------------------------------------------------------


def _finding(as_user, world, code="CJ-02", staff=True):
    from marketplace.extensions import db
    from marketplace.inspections import services
    from marketplace.inspections.models import Tier, Violation
    from marketplace.providers.models import StaffMember

    campaign = _open_campaign(as_user)
    unit = _units(campaign, stratum="崇川区", provider_id=world["provider"])[0]
    city = db.session.get(factories.UserFactory._meta.model, world["ids"]["city"])
    answers = {int(k[5:]): ("met", "") for k in _answers(unit) if k.startswith("item-")}
    check = services.submit_check(
        city, unit, Tier.RECHECK, answers=answers, conclusion=services.Conclusion.NON_COMPLIANT, inspectors=["陈建国"]
    )
    violation = db.session.scalar(sa.select(Violation).where(Violation.code == code))
    person = db.session.scalar(sa.select(StaffMember.id).where(StaffMember.provider_id == world["provider"]))
    finding = services.record_finding(
        city, check, violation_id=violation.id, facts="出借证书", staff_member_id=person if staff else None
    )
    db.session.commit()
    return finding


def _penalty_form(**changes):
    today = factories.soon(0)
    values = {
        "target": "person",
        "decision_no": "（通）应急罚〔2026〕88号",
        "kind": "fine",
        "facts": "安全评价师李明华出借资格证书",
        "legal_basis": "《中华人民共和国安全生产法》第九十二条第二款",
        "fine_amount": "50000",
        "confiscated_amount": "",
        "decided_on": (today - timedelta(days=2)).isoformat(),
        "publicity_start": today.isoformat(),
        "publicity_end": (today.replace(year=today.year + 1)).isoformat(),
    }
    values.update(changes)
    return values


def test_a_penalty_is_published_with_a_person_masked_and_never_changes(as_user, world, db):
    finding = _finding(as_user, world)
    response = Page(as_user("cc"), f"/inspections/findings/{finding.id}/penalty").submit(_penalty_form())
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    public = as_user(None)
    listing = public.get("/penalties").get_data(as_text=True)
    assert "（通）应急罚〔2026〕88号" in listing and "李**" in listing and "李明华" not in listing
    profile = public.get(f"/providers/{world['provider']}").get_data(as_text=True)
    assert "（通）应急罚〔2026〕88号" in profile and "李明华" not in profile.split('id="penalties"')[1][:2000]
    exported = public.get("/penalties?format=csv")
    assert exported.mimetype == "text/csv" and "李**" in exported.data.decode("utf-8-sig")
    assert "李明华" not in exported.data.decode("utf-8-sig").split("\n", 2)[1].split(",")[1]
    from marketplace.inspections.models import Penalty

    with pytest.raises(sa.exc.DBAPIError):
        with db.session.begin_nested():
            db.session.execute(sa.text("UPDATE penalties SET fine_amount = 1"))
    from marketplace.common.audit import AuditLogIsAppendOnly

    penalty = db.session.scalar(sa.select(Penalty).where(Penalty.decision_no == "（通）应急罚〔2026〕88号"))
    penalty.fine_amount = 1
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()


def test_penalty_rules_publicity_bounds_and_late_publication(as_user, world):
    finding = _finding(as_user, world, code="XJ-01", staff=False)
    today = factories.soon(0)
    form = Page(as_user("city"), f"/inspections/findings/{finding.id}/penalty")
    page = form.submit(
        _penalty_form(
            target="agency", kind="fine", fine_amount="", publicity_end=(today + timedelta(days=100)).isoformat()
        )
    ).get_data(as_text=True)
    assert "罚款须填写金额。" in page and "公示期最短一年、最长三年" in page
    assert "（通）应急罚〔2026〕88号" in page  # what was typed stays
    late = _penalty_form(
        target="agency",
        decision_no="（通）应急罚〔2026〕99号",
        decided_on=(today - timedelta(days=40)).isoformat(),
        publicity_start=today.isoformat(),
    )
    response = Page(as_user("city"), f"/inspections/findings/{finding.id}/penalty").submit(late)
    assert response.status_code == 302
    page = as_user("city").get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="late-flag"' in page


def test_a_penalty_outside_its_publicity_period_is_for_regulators_only(as_user, world, db):
    from marketplace.inspections import services
    from marketplace.inspections.models import Party, PenaltyKind

    finding = _finding(as_user, world, code="XJ-01", staff=False)
    city = db.session.get(factories.UserFactory._meta.model, world["ids"]["city"])
    start = factories.soon(0) - timedelta(days=800)
    penalty = services.record_penalty(
        city,
        finding,
        target=Party.AGENCY,
        decision_no="（通）应急罚〔2024〕3号",
        kind=PenaltyKind.WARNING,
        facts="旧的处罚",
        legal_basis="《安全生产法》",
        decided_on=start,
        publicity_start=start,
        publicity_end=start.replace(year=start.year + 1),
    )
    db.session.commit()
    public = as_user(None)
    assert "（通）应急罚〔2024〕3号" not in public.get("/penalties").get_data(as_text=True)
    assert public.get(f"/penalties/{penalty.id}").status_code == 404
    regulator = as_user("tz")
    assert "（通）应急罚〔2024〕3号" in regulator.get("/penalties?all=1").get_data(as_text=True)
    assert regulator.get(f"/penalties/{penalty.id}").status_code == 200


def test_working_days_follow_the_official_calendar():
    from datetime import date

    from marketplace.inspections import services

    # 2026: National Day 1–7 October off, Saturday 10 October a working day
    assert services.publication_deadline(date(2026, 9, 28)).day == date(2026, 10, 13)
    assert not services.publication_deadline(date(2026, 9, 28)).estimated


# --- figures and documents -----------------------------------------------------------------------


def test_dashboard_exports_and_the_inspection_record(as_user, world):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    from marketplace.common.pdf import embeds_its_fonts

    finding = _finding(as_user, world)
    city = as_user("city")
    pdf = city.get(f"/inspections/campaigns/{finding.campaign_id}/dashboard.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and embeds_its_fonts(pdf.data)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "崇川区" in text and "CJ-02" in text
    xlsx = city.get(f"/inspections/campaigns/{finding.campaign_id}/dashboard.xlsx")
    book = load_workbook(io.BytesIO(xlsx.data))
    values = [[c.value for c in row] for row in book.active.iter_rows()]
    total = next(row for row in values if row[0] in ("Total", "合计"))
    assert total[1] == 8 and total[5] == 1 and total[9] == 1
    assert not any(isinstance(v, str) and v.startswith("=") for row in values for v in row)
    record = city.get(f"/inspections/checks/{finding.check_id}.pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(record.data)).pages)
    assert "县级复查记录" in text and "陈建国" in text and "出借证书" in text
    assert as_user("agency").get(f"/inspections/checks/{finding.check_id}.pdf").status_code == 403


def test_the_dashboard_counts_with_a_fixed_number_of_statements(as_user, world, app):
    from marketplace.extensions import db
    from marketplace.inspections import queries

    campaign = _open_campaign(as_user)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        queries.dashboard(campaign)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) <= 8


def test_a_penalty_is_corrected_or_set_aside_by_a_new_record_and_the_old_one_never_changes(as_user, world, db):
    from marketplace.inspections.models import Penalty

    finding = _finding(as_user, world, code="XJ-01", staff=False)
    form = _penalty_form(target="agency", decision_no="（通）应急罚〔2026〕120号", fine_amount="50000")
    first = Page(as_user("cc"), f"/inspections/findings/{finding.id}/penalty").submit(form)
    old_id = int(first.headers["Location"].rsplit("/", 1)[1])

    correcting = Page(as_user("cc"), f"/penalties/{old_id}/correct")
    refused = correcting.submit({"fine_amount": "40000", "reason": ""})
    assert refused.status_code == 200 and 'id="reason-error"' in refused.get_data(as_text=True)
    response = correcting.submit({"fine_amount": "40000", "reason": "罚款金额笔误更正"})
    assert response.status_code == 302
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    old, new = db.session.get(Penalty, old_id), db.session.get(Penalty, new_id)
    assert old.fine_amount == 50000 and new.fine_amount == 40000 and new.supersedes_id == old_id
    assert new.decision_no == old.decision_no

    public = as_user(None)
    listing = public.get("/penalties").get_data(as_text=True)
    assert listing.count("（通）应急罚〔2026〕120号") == 1 and "40,000" in listing and "50,000" not in listing
    assert public.get(f"/penalties/{old_id}").status_code == 404
    assert "罚款金额笔误更正" in public.get(f"/penalties/{new_id}").get_data(as_text=True)
    assert 'id="corrected-by"' in as_user("cc").get(f"/penalties/{old_id}").get_data(as_text=True)
    # the replaced record cannot be corrected again; the one in force can be set aside
    again = as_user("cc").get(f"/penalties/{old_id}/correct")
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/penalties/{old_id}")
    aside = Page(as_user("cc"), f"/penalties/{new_id}/correct").submit({"withdraw": "y", "reason": "行政复议决定撤销"})
    assert aside.status_code == 302
    assert "（通）应急罚〔2026〕120号" not in public.get("/penalties").get_data(as_text=True)
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Penalty.id)).where(Penalty.decision_no == "（通）应急罚〔2026〕120号")
        )
        == 3
    )
    # another county's regulator cannot correct it
    assert as_user("tz").get(f"/penalties/{new_id}/correct").status_code == 403


def test_a_draft_campaigns_checklist_is_edited_in_place_and_frozen_once_open(as_user):
    from marketplace.extensions import db
    from marketplace.inspections.models import Campaign, CheckItem

    city = as_user("city")
    response = Page(city, "/inspections/campaigns/new").submit(_campaign_form())
    campaign_id = int(response.headers["Location"].rsplit("/", 1)[1])
    item = db.session.get(Campaign, campaign_id).items[0]
    url = f"/inspections/campaigns/{campaign_id}/items/{item.id}"
    empty = Page(city, url).submit({"text": ""})
    assert empty.status_code == 200 and 'id="text-error"' in empty.get_data(as_text=True)
    assert Page(city, url).submit({"text": "报告所述总平面布置与现场一致（含新建装置）"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(CheckItem, item.id).text == "报告所述总平面布置与现场一致（含新建装置）"
    Page(city, f"/inspections/campaigns/{campaign_id}").submit({}, action=f"/inspections/campaigns/{campaign_id}/open")
    frozen = Page(city, url).submit({"text": "开启后再改"})
    assert "已冻结" in frozen.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CheckItem, item.id).text == "报告所述总平面布置与现场一致（含新建装置）"
