"""Filters and globals every template can use: dates in Beijing time, money, the language switch,
the operator's name. (Permissions and roles are added by the app factory, above this floor.)"""

from datetime import datetime
from pathlib import Path

from flask import current_app, url_for
from flask_babel import format_date as babel_format_date
from flask_babel import format_datetime

from marketplace.common import i18n


def operator_name():
    if i18n.current_language() == "en":
        return current_app.config["OPERATOR_NAME_EN"]
    return current_app.config["OPERATOR_NAME_ZH"]


def format_timestamp(value, style="medium"):
    """A point in time in Beijing time: YYYY-MM-DD HH:mm(:ss)."""
    if value is None:
        return "—"
    return format_datetime(value, "yyyy-MM-dd HH:mm" if style == "short" else "yyyy-MM-dd HH:mm:ss")


def format_date(value):
    """A date, or the local (Beijing) date of a datetime, as YYYY-MM-DD (for messages, too)."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return format_datetime(value, "yyyy-MM-dd")
    return babel_format_date(value, "yyyy-MM-dd")


def static_url(filename):
    """A file of static/ with its version in the address, so browsers may keep it (see
    SEND_FILE_MAX_AGE_DEFAULT) and still fetch it again the moment it changes."""
    path = Path(current_app.static_folder, filename)
    try:
        version = f"{path.stat().st_mtime_ns:x}"
    except OSError:
        version = None
    return url_for("static", filename=filename, v=version)


def format_money(value):
    return "—" if value is None else f"{value:,.2f}"


def register(app):
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["datetime"] = format_timestamp
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["zip"] = lambda a, b: list(zip(a, b, strict=False))
    app.jinja_env.globals.update(
        switch_language_url=i18n.switch_language_url,
        url_with=i18n.url_with,
        language_names=i18n.LANGUAGE_NAMES,
        operator_name=operator_name,
        static_url=static_url,
    )

    @app.context_processor
    def current_language():
        return {"current_language": i18n.current_language()}
