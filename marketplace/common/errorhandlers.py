"""Friendly error pages in the user's language; CSRF failures re-show the form that was sent."""

from flask import current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from marketplace.extensions import db


def _wants_json():
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def _page(code, description=None):
    if _wants_json():
        return jsonify({"error": code, "message": description or ""}), code
    return render_template("errors/error.html", code=code, description=description), code


def register(app):
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        view = current_app.view_functions.get(request.endpoint)
        if view is not None and getattr(view, "rerender_on_csrf_error", False):
            # Run the view again only to show its form: with g.csrf_failed set, every BaseForm
            # refuses to validate, so nothing is written; what was typed stays on the page.
            g.csrf_failed = True
            try:
                response = current_app.make_response(view(**(request.view_args or {})))
            except HTTPException as exc:  # e.g. the rate limiter, which also wraps the view
                return http_error(exc)
            response.status_code = 400
            return response
        return _page(400, "csrf")

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
