"""Journeys through the real UI in chromium. Later issues add theirs here."""

import re

import pytest
from playwright.sync_api import expect

from marketplace.common.cli import DEMO_DOMAIN, DEMO_PASSWORD

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
    shot(page, "declaration-form")
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"/providers/me$"))
    expect(page.locator("#missing-items")).to_have_count(0)

    page.get_by_role("link", name="新增资质证书").click()
    page.get_by_label("证书编号").fill("APJ-（苏）-888")
    page.get_by_label("发证机关").fill("江苏省应急管理厅")
    page.get_by_label("有效期起").fill("2024-01-01")
    page.get_by_label("有效期至").fill("2028-12-31")
    scan = tmp_path / "certificate.pdf"
    scan.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.get_by_label("证书扫描件").set_input_files(str(scan))
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("cell", name="APJ-（苏）-888", exact=True)).to_be_visible()

    page.get_by_role("link", name="签署诚信承诺书").click()
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
        page.evaluate("url => { const a = document.createElement('a'); a.href = url; a.download = 'c.pdf'; "
                      "document.body.appendChild(a); a.click(); }",
                      page.get_by_role("link", name=re.compile("PDF")).get_attribute("href"))
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
