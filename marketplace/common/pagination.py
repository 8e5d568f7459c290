"""Pagination of a select statement, with the page number taken from the request."""

from flask import current_app, request

from marketplace.extensions import db


def paginate(query, per_page=None):
    """A Flask-SQLAlchemy Pagination; bad or out-of-range ``page`` values fall back sensibly."""
    try:
        page = max(1, int(request.args.get("page", 1)))
    except (TypeError, ValueError):
        page = 1
    page = min(page, 100000)
    per_page = per_page or current_app.config["PER_PAGE"]
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
