"""The home page, /healthz and the favicon."""

from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template

from marketplace.common import counters, health, pagecache
from marketplace.extensions import limiter
from marketplace.providers import directory, notices
from marketplace.reference import cache
from marketplace.version import __version__

bp = Blueprint("site", __name__)


def _home_depends():
    """What the home page shows changes with: the register (its figures), the latest notice batch, and
    the counties and categories."""
    return counters.value("providers"), notices.latest_batch_id(), cache.generation()


@bp.get("/")
@pagecache.for_visitors(_home_depends)
def home():
    known = cache.snapshot()
    return render_template(
        "site/home.html",
        counties=known.active_counties(),
        groups=known.active_groups(),
        figures=directory.key_figures(),
        latest=notices.latest_batch(),
    )


@bp.get("/healthz")
@limiter.exempt
def healthz():
    results, ok = health.run_checks()
    body = {"status": "ok" if ok else "unavailable", "version": __version__, "checks": results}
    return jsonify(body), 200 if ok else 503


@bp.get("/favicon.ico")
@limiter.exempt
def favicon():
    """Browsers ask for /favicon.ico on every site, whatever the page links to."""
    icon = Path(current_app.static_folder, "favicon.ico").read_bytes()  # 4 kB, read whole: no open handle
    response = Response(icon, mimetype="image/vnd.microsoft.icon")
    response.cache_control.public, response.cache_control.max_age = True, 7 * 24 * 3600
    return response
