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
    expect(page).to_have_url(re.compile(r"/auth/account$"))
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
    expect(page).to_have_url(re.compile(r"/auth/account$"))
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", name="我的账号")).to_be_visible()


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
