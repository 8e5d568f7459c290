"""UI language: ``?lang=`` switches and is remembered in a cookie; else Accept-Language; else Chinese."""

from contextvars import ContextVar
from urllib.parse import urlencode

from flask import current_app, g, has_request_context, request
from flask_babel import get_locale, get_translations
from flask_babel import lazy_gettext as _l

LANG_COOKIE = "lang"
# The request's language and catalogue, looked up once per request: templates ask for them hundreds
# of times (every translated string, every bilingual name), and each Flask-Babel lookup goes through
# context-local proxies.
_language = ContextVar("ui_language", default=None)
_translations = ContextVar("ui_translations", default=None)


def current_language():
    """ "zh" or "en" for the current request."""
    language = _language.get()
    if language is None:
        locale = get_locale()
        language = locale.language if locale is not None else "zh"
    return language


def _catalogue():
    catalogue = _translations.get()
    if catalogue is None:
        catalogue = get_translations()
        if has_request_context():
            _translations.set(catalogue)
    return catalogue


LOGIN_MESSAGE = _l("Please log in to see this page.")
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


def _supported(value):
    value = (value or "").strip().lower().replace("_", "-")
    for code in current_app.config["LANGUAGES"]:
        if value == code or value.startswith(code + "-"):
            return code
    return None


def select_locale():
    if g.get("forced_locale"):
        return g.forced_locale
    if not has_request_context():  # CLI commands: Chinese, the bureau's working language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = _supported(request.args.get("lang"))
    if chosen:
        g.lang_chosen = chosen
        return chosen
    remembered = _supported(request.cookies.get(LANG_COOKIE))
    if remembered:
        return remembered
    matched = request.accept_languages.best_match(current_app.config["LANGUAGES"])
    return matched or current_app.config["BABEL_DEFAULT_LOCALE"]


def url_with(**changes):
    """The current page with some query arguments replaced; every other argument is kept.

    Built from the path, not with url_for, so that arguments such as ``endpoint`` or ``_scheme``
    in a visitor's query string cannot collide with url_for's own parameters."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in changes]
    args += [(k, str(v)) for k, v in changes.items() if v is not None]
    return request.path + ("?" + urlencode(args) if args else "")


def switch_language_url(code):
    """The current page in another language."""
    return url_with(lang=code)


def init_app(app):
    @app.before_request
    def settle_language():
        # the catalogue is looked up when a string is first translated: a page served from memory
        # (pagecache) translates none
        _language.set(None)
        _translations.set(None)
        _language.set(current_language())

    @app.teardown_request
    def forget_language(exc=None):
        _language.set(None)
        _translations.set(None)

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _catalogue().ugettext(s),
        ngettext=lambda s, p, n: _catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: _catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalogue().unpgettext(c, s, p, n),
        newstyle=True,
    )

    @app.after_request
    def remember_language(response):
        chosen = _supported(request.args.get("lang"))
        if chosen and request.cookies.get(LANG_COOKIE) != chosen:
            response.set_cookie(
                LANG_COOKIE,
                chosen,
                max_age=365 * 24 * 3600,
                samesite="Lax",
                httponly=True,
                secure=app.config.get("SESSION_COOKIE_SECURE", False),
            )
        response.headers.setdefault("Content-Language", "zh-CN" if current_language() == "zh" else "en")
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
        return response
