"""Home page and /healthz."""

from flask import Blueprint, jsonify, render_template

from marketplace import __version__
from marketplace.common import health
from marketplace.common import services as reference
from marketplace.extensions import limiter

bp = Blueprint("common", __name__)


@bp.get("/")
def home():
    from marketplace.providers import directory, notices

    return render_template("common/home.html", counties=reference.list_counties(active_only=True),
                           groups=reference.category_tree(active_only=True), figures=directory.key_figures(),
                           latest=notices.latest_batch())


@bp.get("/healthz")
@limiter.exempt
def healthz():
    results, ok = health.run_checks()
    body = {"status": "ok" if ok else "unavailable", "version": __version__, "checks": results}
    return jsonify(body), 200 if ok else 503
