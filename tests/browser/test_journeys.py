"""Journeys through the real UI in chromium. Later issues add theirs here."""

import re

import pytest
from playwright.sync_api import expect

from marketplace.auth.demo import DEMO_DOMAIN, DEMO_PASSWORD
from tests import factories

pytestmark = pytest.mark.browser


def test_register_switch_language_log_out_and_back_in(live_server, page, shot):
    page.goto(live_server + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("link", name="注册", exact=True)).to_be_visible()
    shot(page, "home-zh")

    page.get_by_role("link", name="注册", exact=True).click()
    page.get_by_label("服务机构").check()
    page.get_by_label("联系人").fill("周婷")
    page.get_by_label("电子邮箱").fill("not-an-address")
    page.get_by_label("密码", exact=True).fill("Anquan-2026-zt")
    page.get_by_label("确认密码").fill("Anquan-2026-zt")
    page.get_by_role("button", name="创建账号").click()
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.get_by_label("联系人")).to_have_value("周婷")  # what was typed is kept
    shot(page, "register-bad-email")

    page.get_by_label("电子邮箱").fill("zhouting@example.cn")
    page.get_by_label("密码", exact=True).fill("Anquan-2026-zt")
    page.get_by_label("确认密码").fill("Anquan-2026-zt")
    page.get_by_role("button", name="创建账号").click()
    expect(page.locator("#registration-sent")).to_contain_text("zhouting@example.cn")
    shot(page, "register-sent")
    _confirm_registration(page, live_server, "zhouting@example.cn")
    expect(page).to_have_url(re.compile(r"/providers/me$"))  # an agency starts at its declaration
    page.goto(live_server + "/auth/account")
    expect(page.locator("#account-role")).to_have_text("服务机构")
    shot(page, "account-zh")

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    page.goto(live_server + "/")  # the choice is remembered without ?lang
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shot(page, "home-en")

    page.get_by_role("button", name=re.compile("周婷")).click()
    page.get_by_role("button", name="Log out").click()
    nav = page.get_by_role("navigation", name="Main navigation")
    expect(nav.get_by_role("link", name="Log in")).to_be_visible()
    expect(page.get_by_text("You have logged out.")).to_be_visible()

    nav.get_by_role("link", name="Log in").click()
    page.get_by_label("E-mail").fill("zhouting@example.cn")
    page.get_by_label("Password").fill("wrong-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#password-error")).to_contain_text("wrong")
    expect(page.get_by_label("E-mail")).to_have_value("zhouting@example.cn")
    shot(page, "login-wrong-password-en")
    page.get_by_label("Password").fill("Anquan-2026-zt")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/providers/me$"))
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("link", name="编辑申报信息")).to_be_visible()


def test_admin_creates_a_county_regulator(live_server, page, shot):
    page.goto(live_server + "/auth/login?lang=zh")
    page.get_by_label("电子邮箱").fill(f"admin@{DEMO_DOMAIN}")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    shot(page, "admin-users")

    page.get_by_role("link", name=re.compile("新建")).click()
    page.get_by_label("角色").select_option("county_regulator")
    page.get_by_label("姓名").fill("如皋市应急管理局 吴军")
    page.get_by_label("电子邮箱").fill("wujun@example.cn")
    page.get_by_label("初始密码").fill("Rugao-anquan-88")
    page.get_by_role("button", name="创建账号").click()
    expect(page.locator("#county_id-error")).to_be_visible()  # a county regulator needs a county
    shot(page, "county-required")
    page.get_by_label("县（市、区）").select_option(label="如皋市")
    page.get_by_label("初始密码").fill("Rugao-anquan-88")
    page.get_by_role("button", name="创建账号").click()
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    expect(page.get_by_role("cell", name="wujun@example.cn", exact=True)).to_be_visible()
    shot(page, "regulator-created")


def test_agency_declares_signs_and_is_listed_at_once(live_server, page, shot, tmp_path):
    page.goto(live_server + "/auth/register?lang=zh&role=agency")
    page.get_by_label("联系人").fill("陆海燕")
    page.get_by_label("电子邮箱").fill("luhaiyan@example.cn")
    page.get_by_label("密码", exact=True).fill("Anquan-2026-lh")
    page.get_by_label("确认密码").fill("Anquan-2026-lh")
    page.get_by_role("button", name="创建账号").click()
    _confirm_registration(page, live_server, "luhaiyan@example.cn")
    expect(page).to_have_url(re.compile(r"/providers/me$"))
    expect(page.locator("#missing-items")).to_be_visible()  # the checklist of what is still needed
    shot(page, "checklist")

    page.get_by_role("link", name="编辑申报信息").click()
    page.get_by_label("统一社会信用代码").fill("91320600MA1ABCDE70")  # wrong check digit
    page.get_by_label("机构名称").fill("南通江海安全技术咨询有限公司")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#uscc-error")).to_be_visible()
    expect(page.get_by_label("机构名称")).to_have_value("南通江海安全技术咨询有限公司")
    shot(page, "bad-credit-code")

    page.get_by_label("统一社会信用代码").fill("91320600MA1ABCDE7U")
    page.get_by_label("法定代表人", exact=True).fill("陆建平")
    page.get_by_label("注册地").select_option(label="通州区")
    page.get_by_label("地址").fill("南通市通州区新金西路 88 号")
    page.get_by_label("联系电话").fill("0513-86001234")
    page.get_by_label("服务简介").fill("安全咨询、隐患排查治理和应急预案编制服务。")
    page.get_by_label("安全咨询").check()
    page.get_by_label("应急预案编制").check()
    page.locator("fieldset").filter(has_text="服务区域").get_by_label("通州区").check()
    page.locator("fieldset").filter(has_text="服务区域").get_by_label("崇川区").check()
    shot(page, "declaration-form", full_page=True)
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"/providers/me$"))
    expect(page.locator("#missing-items")).to_have_count(0)

    page.get_by_role("link", name="新增资质证书").click()
    page.get_by_label("证书编号").fill("APJ-（苏）-888")
    page.get_by_label("发证机关").fill("江苏省应急管理厅")
    page.get_by_label("有效期起").fill("2024-01-01")
    page.get_by_label("有效期至").fill("2028-12-31")
    scan = tmp_path / "certificate.pdf"
    scan.write_bytes(factories.PDF)
    page.get_by_label("证书扫描件").set_input_files(str(scan))
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("cell", name="APJ-（苏）-888", exact=True)).to_be_visible()

    page.get_by_role("link", name="签署诚信承诺书").click()
    # .all() does not wait: it would find no boxes on the page still being left (seen on a loaded CI)
    expect(page).to_have_url(re.compile(r"/providers/me/pledge$"))
    expect(page.locator("input[name=clauses]").first).to_be_visible()
    for box in page.locator("input[name=clauses]").all():
        box.check()
    page.get_by_label("法定代表人姓名").fill("陆建平")
    shot(page, "pledge")
    page.get_by_role("button", name="签署并公示").click()
    expect(page).to_have_url(re.compile(r"/pledges/verify/"))
    expect(page.locator("#recorded-hash")).to_be_visible()
    recorded = page.locator("#recorded-hash").inner_text().strip()
    expect(page.locator("#computed-hash")).to_contain_text(recorded)
    shot(page, "verified")

    with page.expect_download() as download:
        page.evaluate(
            "url => { const a = document.createElement('a'); a.href = url; a.download = 'c.pdf'; "
            "document.body.appendChild(a); a.click(); }",
            page.get_by_role("link", name=re.compile("PDF")).get_attribute("href"),
        )
    assert download.value.path().read_bytes().startswith(b"%PDF")

    # Listed at once, with no regulator involved
    page.goto(live_server + "/providers?q=江海")
    expect(page.get_by_role("link", name="南通江海安全技术咨询有限公司")).to_be_visible()
    shot(page, "listed")


def test_enterprise_style_search_and_compare(live_server, page, shot):
    page.goto(live_server + "/?lang=zh")
    page.get_by_placeholder("按机构名称或统一社会信用代码查找").fill("anquan pingjia")
    page.get_by_role("button", name="查找").click()
    expect(page).to_have_url(re.compile(r"/providers\?q=anquan\+pingjia"))
    expect(page.locator("#result-count")).not_to_have_text("共0家服务机构")
    shot(page, "pinyin-results")
    boxes = page.locator("input[name=ids]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name=re.compile("对比所选机构")).click()
    expect(page.get_by_role("heading", name="机构对比")).to_be_visible()
    expect(page.locator("table.compare-table thead th")).to_have_count(3)
    shot(page, "compare")
    page.go_back()
    expect(page.get_by_label("机构名称或统一社会信用代码")).to_have_value("anquan pingjia")  # back-button safe


def _log_in(page, live_server, email, password=DEMO_PASSWORD):
    page.goto(live_server + "/auth/login?lang=zh")
    page.get_by_label("电子邮箱").fill(email)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def _confirm_registration(page, live_server, address):
    """Follow the link mailed to ``address`` and create the account."""
    link = re.search(r"https?://[^/\s]+(/auth/register/confirm/\S+)", live_server.mail_to(address)).group(1)
    page.goto(live_server + link)
    expect(page.locator("#registration-email")).to_have_text(address)
    page.get_by_role("button", name="创建账号").click()


def _log_out(page):
    page.wait_for_load_state("load")  # the menu opens once Bootstrap's script has run
    page.locator("#nav-user").click()
    expect(page.locator("#logout-button")).to_be_visible()
    page.locator("#logout-button").click()


def test_enterprise_requests_contracts_verifies_and_rates(live_server, page, shot):
    from datetime import date, timedelta

    agency_email = f"agency1@{DEMO_DOMAIN}"
    _log_in(page, live_server, agency_email)
    agency_name = page.locator("h1").first.inner_text().strip()
    _log_out(page)

    # a new enterprise registers and fills in its profile
    page.goto(live_server + "/auth/register?lang=zh")
    page.get_by_label("企业", exact=True).check()
    page.get_by_label("联系人").fill("吴敏")
    page.get_by_label("电子邮箱").fill("wumin@example.cn")
    page.get_by_label("密码", exact=True).fill("Anquan-2026-wm")
    page.get_by_label("确认密码").fill("Anquan-2026-wm")
    page.get_by_role("button", name="创建账号").click()
    _confirm_registration(page, live_server, "wumin@example.cn")
    expect(page).to_have_url(re.compile(r"/engagements/dashboard$"))
    page.get_by_role("link", name="填写企业信息").click()
    page.get_by_label("统一社会信用代码").fill("91320600MA1ABCDE7U")
    page.get_by_label("企业名称").fill("南通吴氏精细化工有限公司")
    page.get_by_label("县（市、区）").select_option(label="崇川区")
    page.get_by_label("地址").fill("南通市崇川区江海大道 18 号")
    page.get_by_label("所属行业").fill("化学原料和化学制品制造业")
    page.get_by_label("主要危险类别").select_option("hazardous_chemicals")
    page.get_by_label("联系人").fill("吴敏")
    page.get_by_label("联系电话").fill("0513-86001234")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("企业信息已保存。")).to_be_visible()

    # finds the agency in Chinese search, compares it with two others, and asks it for a service
    page.goto(live_server + "/providers?lang=zh")
    page.get_by_label("机构名称或统一社会信用代码").fill(agency_name[:6])
    page.get_by_role("button", name="查询").click()
    expect(page.locator(".provider-row").first).to_contain_text(agency_name[:6])
    page.goto(live_server + "/providers?lang=zh")
    boxes = page.locator("input[name=ids]")
    for n in range(3):
        boxes.nth(n).check()
    page.get_by_role("button", name=re.compile("对比所选机构")).click()
    expect(page.locator("table.compare-table thead th")).to_have_count(4)
    shot(page, "compare-with-request-buttons", full_page=True)
    page.goto(live_server + "/providers?lang=zh&q=" + agency_name[:6])
    page.locator(".provider-row a").first.click()
    page.get_by_role("link", name="委托服务").click()
    page.get_by_label("服务类别").select_option(index=1)
    page.get_by_label("服务内容和范围").fill("年度安全现状评价，覆盖储罐区和主装置")
    page.get_by_label("项目所在县（市、区）").select_option(index=1)
    page.get_by_label("预计开始日期").fill((date.today() + timedelta(days=5)).isoformat())
    page.get_by_label("预计结束日期").fill((date.today() + timedelta(days=20)).isoformat())
    confirm = page.get_by_label("我已阅读上述提示，仍选择该机构。")
    if confirm.count():
        confirm.check()
    shot(page, "request-form")
    page.get_by_role("button", name="提交委托").click()
    expect(page.locator("#engagement-status")).to_contain_text("已委托")
    engagement_url = page.url
    _log_out(page)

    # the agency quotes
    _log_in(page, live_server, agency_email)
    page.goto(engagement_url)
    page.locator("#step-quote").click()
    page.get_by_label("服务费用（元）").fill("18000")
    page.locator("input[name=team]").first.check()
    page.get_by_role("button", name="发送报价").click()
    expect(page.locator("#engagement-status")).to_contain_text("已报价")
    _log_out(page)

    # the enterprise contracts
    _log_in(page, live_server, "wumin@example.cn", "Anquan-2026-wm")
    page.goto(engagement_url)
    warning = page.locator("#confirm_warnings")
    if warning.count():
        warning.check()
    page.locator("#step-accept").click()
    expect(page.locator("#engagement-status")).to_contain_text("已签约")
    _log_out(page)

    # the agency files the on-site notice where needed, works, and issues the report
    _log_in(page, live_server, agency_email)
    page.goto(engagement_url)
    if page.locator("#step-site-notice").count():
        page.locator("#step-site-notice").click()
        page.get_by_role("button", name="提交告知").click()
    page.locator("#step-start").click()
    page.locator("#step-report").click()
    page.get_by_label("报告编号").fill("NT-JOURNEY-2026-001")
    page.get_by_role("button", name="出具报告").click()
    expect(page.locator("#report-number")).to_have_text("NT-JOURNEY-2026-001")
    shot(page, "report-with-qr")
    _log_out(page)

    # the enterprise confirms, verifies the number publicly, and rates
    _log_in(page, live_server, "wumin@example.cn", "Anquan-2026-wm")
    page.goto(engagement_url)
    page.locator("#step-confirm").click()
    expect(page.locator("#engagement-status")).to_contain_text("已完成")
    page.goto(live_server + "/reports/verify?lang=zh")
    page.get_by_placeholder("报告编号").fill("nt-journey-2026-001")
    page.locator("form[role=search] button[type=submit]").click()
    # by number alone the client is named in part (numbers are easy to guess) …
    expect(page.locator(".verify-result .report-client")).to_contain_text("南通＊＊＊＊＊＊有限公司")
    expect(page.locator(".verify-result")).not_to_contain_text("南通吴氏精细化工有限公司")
    shot(page, "verify-genuine")
    # … in full from the report's own address, the one its QR code carries
    page.goto(engagement_url)
    page.goto(page.locator("a[href*='/reports/r/']").first.get_attribute("href"))
    expect(page.locator(".verify-result")).to_contain_text("南通吴氏精细化工有限公司")
    page.goto(live_server + "/reports/verify?lang=zh")
    page.get_by_placeholder("报告编号").fill("NT-FORGED-999")
    page.locator("form[role=search] button[type=submit]").click()
    expect(page.locator("#unknown-report")).to_be_visible()
    page.goto(engagement_url)
    page.locator("#step-rate").click()
    page.get_by_label("★★★★★", exact=True).check()
    page.get_by_label("评价内容（选填）").fill("现场工作细致，报告按期交付。")
    page.get_by_role("button", name="发布评价").click()
    page.get_by_role("link", name=agency_name).first.click()
    expect(page.locator("#ratings")).to_contain_text("现场工作细致，报告按期交付。")
    shot(page, "profile-with-rating", full_page=True)


COUNTY_LOGINS = {
    "崇川区": "chongchuan",
    "通州区": "tongzhou",
    "海门区": "haimen",
    "如皋市": "rugao",
    "启东市": "qidong",
    "海安市": "haian",
    "如东县": "rudong",
    "南通经济技术开发区": "etdz",
}


def _answer_all(page, answer="met"):
    for radio in page.locator(f"input[type=radio][value={answer}]").all():
        radio.check()


def test_three_tiers_a_public_draw_anyone_replays_and_a_published_penalty(live_server, page, shot, tmp_path):
    """The issue's story: the city opens a campaign, an agency self-checks, the county rechecks and records
    a finding with rectification, the city commits a draw, reveals its seed, records a spot-check and a
    penalty; the public sees the draw, replays it with scripts/verify_draw.py, and sees the penalty."""
    from datetime import date, timedelta

    from scripts import verify_draw

    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations before consequential steps
    today = date.today()

    # the city opens a campaign over every category
    _log_in(page, live_server, f"city@{DEMO_DOMAIN}")
    page.get_by_role("link", name="监督检查").click()
    page.locator("#new-campaign").click()
    page.locator("#name").fill("2026年第四季度报告质量抽查专项行动")
    page.locator("#period_start").fill((today - timedelta(days=400)).isoformat())
    page.locator("#period_end").fill(today.isoformat())
    for box in page.locator("input[name=category_ids]").all():
        box.check()
    page.locator("#self_check_due").fill((today + timedelta(days=10)).isoformat())
    page.locator("#recheck_due").fill((today + timedelta(days=20)).isoformat())
    page.locator("#spot_check_due").fill((today + timedelta(days=30)).isoformat())
    page.get_by_label("每县（市、区）对象数", exact=True).check()
    page.locator("#quota_value").fill("1")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("专项整治已保存为草稿")).to_be_visible()
    campaign_url = page.url
    page.locator("#open-campaign").click()
    expect(page.get_by_text(re.compile(r"专项整治已启动：检查总体为 \d+ 个服务项目"))).to_be_visible()
    shot(page, "campaign-open")
    _log_out(page)

    # an agency self-checks one of its engagements
    _log_in(page, live_server, f"agency1@{DEMO_DOMAIN}")
    page.goto(campaign_url)
    page.locator("#my-units a", has_text="自查").first.click()
    _answer_all(page)
    page.get_by_label("合格", exact=True).check()
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("机构自查已提交。")).to_be_visible()
    unit_url = page.url
    county = page.locator("dt:has-text('属地') + dd").inner_text().strip()
    _log_out(page)

    # the county rechecks it, disagrees, and records a finding with rectification
    _log_in(page, live_server, f"{COUNTY_LOGINS[county]}@{DEMO_DOMAIN}")
    page.goto(unit_url)
    page.locator("#do-recheck").click()
    _answer_all(page)
    page.locator("input[type=radio][value=not_met]").first.check()
    page.locator("input[name^=note-]").first.fill("报告所附总平面图与现场不一致")
    page.get_by_label("不合格", exact=True).check()
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("县级复查已提交。")).to_be_visible()
    page.get_by_label("违法行为", exact=True).select_option(
        page.locator("#violation_id option", has_text="SS-01").get_attribute("value")
    )
    page.get_by_label("查明的事实").fill("总平面布置与现场不一致，甲类仓库未体现")
    page.get_by_label("整改期限（可选）").fill((today + timedelta(days=15)).isoformat())
    page.locator("#record-finding").click()
    expect(page.get_by_text("问题 SS-01 已登记。")).to_be_visible()
    expect(page.locator("#findings + p")).to_contain_text("待整改")
    shot(page, "unit-after-recheck")
    _log_out(page)

    # the city commits a draw, reveals the seed once it is public, spot-checks a drawn unit
    _log_in(page, live_server, f"city@{DEMO_DOMAIN}")
    page.goto(campaign_url)
    page.locator("#new-draw").click()
    page.get_by_label("种子来源").fill("福彩3D 第2026335期开奖号码")
    page.locator("#commit-draw").click()
    expect(page.locator("#seed-source")).to_have_text("福彩3D 第2026335期开奖号码")
    draw_url = page.url
    page.get_by_role("textbox", name="种子").fill("5 0 8")
    page.locator("#reveal").click()
    expect(page.locator("#revealed-seed")).to_have_text("5 0 8")
    shot(page, "draw-revealed", full_page=True)
    page.locator("#sample a").first.click()
    page.locator("#do-spot-check").click()
    _answer_all(page)
    page.get_by_label("合格", exact=True).check()
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("市级抽查已提交。")).to_be_visible()

    # and records a penalty from the county's finding
    page.goto(unit_url)
    page.locator("#findings + p a").first.click()
    page.locator("#record-penalty").click()
    page.get_by_label("处理对象").select_option(index=0)
    page.get_by_label("决定书文号").fill("（通）应急罚〔2026〕101号")
    page.get_by_label("种类").select_option(label="罚款")
    page.get_by_label("罚款（元）").fill("30000")
    page.get_by_label("决定日期").fill(today.isoformat())
    page.get_by_label("公示开始").fill(today.isoformat())
    page.get_by_label("公示截止").fill(today.replace(year=today.year + 1).isoformat())
    page.locator("#submit-penalty").click()
    expect(page.get_by_text("行政处罚已登记，并在公示期内公开。")).to_be_visible()
    agency_link = page.get_by_role("link", name="机构主页").get_attribute("href")
    _log_out(page)

    # the public: the draw with its result, replayed from the outside; the penalty in public
    page.goto(draw_url)
    expect(page.locator("#sample")).to_contain_text("合格")
    json_url = live_server + page.locator("#draw-facts a[href$='.json']").get_attribute("href")
    assert verify_draw.main([json_url]) == 0
    page.goto(live_server + "/penalties?lang=zh")
    expect(page.locator("#penalties")).to_contain_text("（通）应急罚〔2026〕101号")
    page.goto(live_server + agency_link)
    expect(page.locator("#penalties")).to_contain_text("（通）应急罚〔2026〕101号")
    shot(page, "profile-penalty")
