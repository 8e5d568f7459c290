"""Home page and /healthz."""

from flask import Blueprint, jsonify, render_template

from marketplace import __version__
from marketplace.common import health
from marketplace.common import reference
from marketplace.extensions import limiter

bp = Blueprint("common", __name__)


@bp.get("/")
def home():
    from marketplace.providers import directory, notices

    known = reference.snapshot()
    return render_template("common/home.html", counties=known.active_counties(), groups=known.active_groups(),
                           figures=directory.key_figures(),
                           latest=notices.latest_batch())


@bp.get("/healthz")
@limiter.exempt
def healthz():
    results, ok = health.run_checks()
    body = {"status": "ok" if ok else "unavailable", "version": __version__, "checks": results}
    return jsonify(body), 200 if ok else 503
