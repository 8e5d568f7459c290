"""Addresses that leave the site (links in mail today; QR codes and open data next) are built from
the configured ``PUBLIC_BASE_URL``, never from the ``Host`` a request named: a forged host would
otherwise put an attacker's address in front of a password-reset token."""

from urllib.parse import urlsplit

from flask import current_app, url_for


def public_url(endpoint, **values):
    """The absolute address of ``endpoint`` as the public reaches it. Without ``PUBLIC_BASE_URL``
    (development and tests only: production refuses to start without it) the request's host is used."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        return url_for(endpoint, _external=True, **values)
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)
