"""Request guards and response headers that hold for every page.

Flask-Talisman sets the security headers: a Content-Security-Policy that lets the pages load scripts,
styles, fonts and images from this site only (no inline script, style or event handler is left in
the templates, so none is allowed), HSTS on every HTTPS response, framing refused, no referrer
beyond the site. A stored upload is sent with a stricter policy of its own (``sandbox``), kept here
after Talisman's."""

from flask import abort, request
from flask_talisman import Talisman

talisman = Talisman()

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",  # Bootstrap draws its select arrows and close buttons as data: SVGs
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
HSTS_SECONDS = 365 * 24 * 3600
SANDBOXED = "sandbox; default-src 'none'"


def register(app):
    @app.before_request
    def refuse_nul_bytes():
        # No address or query legitimately carries a NUL; PostgreSQL cannot even compare one.
        if "\x00" in request.path or any("\x00" in v for v in request.args.values()):
            abort(400)

    # Registered before Talisman's, so that it runs after it (Flask runs them in reverse order).
    @app.after_request
    def sandbox_stored_files(response):
        if getattr(response, "sandboxed", False):
            response.headers["Content-Security-Policy"] = SANDBOXED
        return response

    talisman.init_app(
        app,
        force_https=app.config.get("FORCE_HTTPS", False),
        strict_transport_security=True,
        strict_transport_security_max_age=HSTS_SECONDS,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="same-origin",
        # the session cookie's settings are the configuration's (Secure in production), not Talisman's
        session_cookie_secure=app.config.get("SESSION_COOKIE_SECURE", False),
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
        x_xss_protection=False,  # obsolete, and harmful in old browsers; the policy above replaces it
    )
