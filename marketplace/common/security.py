"""Request guards and response headers that hold for every page."""

from flask import abort, request


def register(app):
    @app.before_request
    def refuse_nul_bytes():
        # No address or query legitimately carries a NUL; PostgreSQL cannot even compare one.
        if "\x00" in request.path or any("\x00" in v for v in request.args.values()):
            abort(400)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
