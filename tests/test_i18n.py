"""Chinese by default, English on request; both catalogues complete."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def i18n():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import i18n
    finally:
        sys.path.pop(0)
    return i18n


def test_catalogues_are_complete_and_cover_every_string_in_the_code(i18n, tmp_path, monkeypatch):
    fresh = tmp_path / "messages.pot"
    monkeypatch.setattr(i18n, "POT", fresh)
    i18n.extract()  # what the code asks for now, not what was extracted last time
    assert fresh.exists()
    assert i18n.problems() == []


def test_catalogue_checker_notices_a_missing_string(i18n, tmp_path, monkeypatch):
    pot = tmp_path / "messages.pot"
    pot.write_text('msgid "A string nobody has translated yet"\nmsgstr ""\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "POT", pot)
    assert ("zh", "A string nobody has translated yet", "missing") in i18n.problems()


def test_chinese_is_the_default(client):
    html = client.get("/").get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "登录" in html and "南通市应急管理局" in html


def test_lang_parameter_switches_to_english_and_is_remembered(client):
    response = client.get("/?lang=en")
    html = response.get_data(as_text=True)
    assert 'lang="en"' in html and "Log in" in html
    assert "Nantong Municipal Emergency Management Bureau" in html
    assert response.headers["Content-Language"] == "en"
    # The choice sticks on the next page, and the switch in the header offers Chinese back.
    html = client.get("/auth/login").get_data(as_text=True)
    assert 'lang="en"' in html and "?lang=zh" in html
    assert 'lang="zh-CN"' in client.get("/?lang=zh").get_data(as_text=True)
    assert 'lang="zh-CN"' in client.get("/auth/login").get_data(as_text=True)


def test_accept_language_is_honoured(client):
    html = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert 'lang="en"' in html
    html = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(as_text=True)
    assert 'lang="zh-CN"' in html


def test_language_switch_keeps_the_page_and_its_arguments(client, users, login_as):
    login_as(users["admin"])
    html = client.get("/admin/users?role=agency&page=1").get_data(as_text=True)
    assert "/admin/users?role=agency&amp;page=1&amp;lang=en" in html


@pytest.mark.parametrize("lang, text", [("zh", "页面不存在"), ("en", "Page not found")])
def test_error_pages_speak_the_chosen_language(client, lang, text):
    response = client.get(f"/no-such-page?lang={lang}")
    assert response.status_code == 404
    assert text in response.get_data(as_text=True)


@pytest.mark.parametrize("lang, text", [("zh", "无权访问"), ("en", "do not have permission")])
def test_forbidden_page_in_both_languages(client, users, login_as, lang, text):
    login_as(users["agency"])
    response = client.get(f"/admin/users?lang={lang}")
    assert response.status_code == 403
    assert text in response.get_data(as_text=True)


def test_server_error_page_is_friendly(database_url, make_app):
    app = make_app(database_url, PROPAGATE_EXCEPTIONS=False)

    @app.get("/__boom")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/__boom?lang=en")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)


def test_babel_cli_compiles_the_catalogues(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "compile",
            "-d",
            str(ROOT / "marketplace" / "translations"),
            "-o",
            str(tmp_path / "zh.mo"),
            "-l",
            "zh",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr


def test_home_page_is_chinese_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    assert 'lang="zh-CN"' in response.get_data(as_text=True)


STATUS_LABELS = [
    # (status, Chinese, English): an agency's and an engagement's "withdrawn" are different things
    ("agency", "draft", "草稿", "Draft"),
    ("agency", "published", "已公示", "Published"),
    ("agency", "suspended", "已暂停", "Suspended"),
    ("agency", "withdrawn", "已撤出", "Withdrawn"),
    ("engagement", "requested", "已委托", "Requested"),
    ("engagement", "quoted", "已报价", "Quoted"),
    ("engagement", "contracted", "已签约", "Contracted"),
    ("engagement", "in_progress", "实施中", "In progress"),
    ("engagement", "completed", "已完成", "Completed"),
    ("engagement", "declined", "已婉拒", "Declined"),
    ("engagement", "withdrawn", "已撤回", "Withdrawn"),
    ("engagement", "cancelled", "已解除", "Cancelled"),
]


@pytest.mark.parametrize("kind, value, zh, en", STATUS_LABELS)
def test_status_labels_in_both_languages(app, kind, value, zh, en):
    from marketplace.engagements.models import EngagementStatus
    from marketplace.providers.models import ProviderStatus

    status = (ProviderStatus if kind == "agency" else EngagementStatus)(value)
    for lang, expected in (("zh", zh), ("en", en)):
        with app.test_request_context(f"/?lang={lang}"):
            assert str(status.label) == expected


def test_agency_history_names_the_published_status(client, db, make_user, login_as):
    """The Chinese catalogue rendered the status "Published" as 发布时间 (a date's label)."""
    from marketplace.auth.roles import Role
    from tests import factories

    user = make_user(Role.AGENCY)
    factories.publish(user, n=71)
    login_as(user)
    zh = client.get("/providers/me/history?lang=zh").get_data(as_text=True)
    assert "已公示" in zh and "发布时间" not in zh
    assert "Published" in client.get("/providers/me/history?lang=en").get_data(as_text=True)


def test_report_verification_names_the_issuing_agency(client, db, make_user):
    """Report verification labelled the agency that issued the report 发证机关 (a licensing authority)."""
    from marketplace.auth.roles import Role
    from tests import factories

    agency, client_user = make_user(Role.AGENCY), make_user(Role.ENTERPRISE)
    provider, _ = factories.publish(agency, n=72)
    factories.add_staff(agency, provider)
    factories.make_enterprise(client_user, n=72)
    factories.advance(
        factories.request(client_user, provider), client_user, agency, to="reported", report_no="AP-I18N-1"
    )
    db.session.commit()
    zh = client.get("/reports/verify?no=AP-I18N-1&lang=zh").get_data(as_text=True)
    assert "出具机构" in zh and "发证机关" not in zh
    assert "Issuing agency" in client.get("/reports/verify?no=AP-I18N-1&lang=en").get_data(as_text=True)
