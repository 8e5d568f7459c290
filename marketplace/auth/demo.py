"""The demo accounts' shared password (``seed-demo``): one argon2 computation for every demo login."""

from flask import current_app

from marketplace.auth.passwords import hash_password

DEMO_PASSWORD = "Nantong-2026"
DEMO_DOMAIN = "demo.nt-safety.cn"


def demo_password_hash():
    """``DEMO_PASSWORD`` hashed once per application (the demo password is public anyway)."""
    cached = current_app.extensions.get("marketplace.demo_password_hash")
    if cached is None:
        cached = current_app.extensions["marketplace.demo_password_hash"] = hash_password(DEMO_PASSWORD)
    return cached
