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
