"""What every template can use: permissions, the language switch, the operator's name."""

from flask import current_app
from flask_babel import format_datetime

from marketplace import i18n
from marketplace.auth import permissions
from marketplace.auth.roles import Role


def operator_name():
    if i18n.current_language() == "en":
        return current_app.config["OPERATOR_NAME_EN"]
    return current_app.config["OPERATOR_NAME_ZH"]


def _datetime(value, style="medium"):
    from marketplace.common.time import as_utc

    if value is None:
        return "—"
    return format_datetime(as_utc(value), "yyyy-MM-dd HH:mm" if style == "short" else "yyyy-MM-dd HH:mm:ss")


def format_date(value):
    """A date, or the local (Beijing) date of a datetime, as YYYY-MM-DD (for messages, too)."""
    return _date(value)


def _date(value):
    """A date, or the local (Beijing) date of a datetime, as YYYY-MM-DD."""
    from datetime import datetime

    from flask_babel import format_date

    from marketplace.common.time import as_utc

    if value is None:
        return "—"
    if isinstance(value, datetime):
        return format_datetime(as_utc(value), "yyyy-MM-dd")
    return format_date(value, "yyyy-MM-dd")


def _money(value):
    return "—" if value is None else f"{value:,.2f}"


def register(app):
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["datetime"] = _datetime
    app.jinja_env.filters["date"] = _date
    app.jinja_env.filters["money"] = _money
    app.jinja_env.filters["zip"] = lambda a, b: list(zip(a, b, strict=False))
    app.jinja_env.globals.update(
        permissions=permissions,
        Role=Role,
        switch_language_url=i18n.switch_language_url,
        url_with=i18n.url_with,
        language_names=i18n.LANGUAGE_NAMES,
        operator_name=operator_name,
    )

    @app.context_processor
    def current_language():
        return {"current_language": i18n.current_language()}
