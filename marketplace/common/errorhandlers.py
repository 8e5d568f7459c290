"""Friendly error pages in the user's language; CSRF failures re-show the form that was sent."""

from flask import current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from marketplace.common import database
from marketplace.extensions import db

BUSY_RETRY_SECONDS = 3


def _wants_json():
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def _page(code, description=None):
    if _wants_json():
        return jsonify({"error": code, "message": description or ""}), code
    return render_template("errors/error.html", code=code, description=description), code


def _show_form_again(status):
    """The view run again only to show its form (what was typed, and why nothing was saved): with
    ``g.csrf_failed`` or ``g.database_busy`` set, every BaseForm refuses to validate, so nothing is
    written. None when the view has no such form."""
    view = current_app.view_functions.get(request.endpoint)
    if view is None or not getattr(view, "rerender_on_csrf_error", False) or request.method in database.READING_METHODS:
        return None
    response = current_app.make_response(view(**(request.view_args or {})))
    response.status_code = status
    return response


def register(app):
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        g.csrf_failed = True
        try:
            response = _show_form_again(400)
        except HTTPException as exc:  # e.g. the rate limiter, which also wraps the view
            return http_error(exc)
        return response if response is not None else _page(400, "csrf")

    @app.errorhandler(DBAPIError)
    def database_error(error):
        """Another worker held the database for longer than the busy timeout: nothing was saved, and
        the user is asked to send the same again in a moment (a 503, never a 500)."""
        db.session.rollback()
        if not database.is_busy(error):
            raise error
        current_app.logger.warning("database busy, %s %s answered 503: %s", request.method, request.path, error)
        g.database_busy = True
        try:
            response = _show_form_again(503)
        except HTTPException as exc:
            return http_error(exc)
        except DBAPIError:  # still busy even for reading: the plain page
            db.session.rollback()
            response = None
        if response is None:
            body, code = _page(503, "busy")
            response = current_app.make_response((body, code))
        response.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code is None or error.code < 400:
            return error
        if error.response is not None:  # a ready response, e.g. the rate limiter's form page
            return error.response
        response = error.get_response()
        body, code = _page(error.code)
        response = current_app.make_response((body, code, dict(response.headers)))
        response.headers.pop("Content-Length", None)
        return response

    @app.errorhandler(500)
    def internal_error(error):
        db.session.rollback()
        return _page(500)
