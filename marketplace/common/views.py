"""Home page and /healthz."""

import sqlalchemy as sa
from flask import Blueprint, jsonify, render_template
from sqlalchemy.orm import selectinload

from marketplace import __version__
from marketplace.common import health
from marketplace.common.models import County, ServiceCategory
from marketplace.extensions import db, limiter

bp = Blueprint("common", __name__)


@bp.get("/")
def home():
    counties = db.session.scalars(
        sa.select(County).where(County.active).order_by(County.sort_order, County.id)
    ).all()
    groups = db.session.scalars(
        sa.select(ServiceCategory)
        .where(ServiceCategory.parent_id.is_(None), ServiceCategory.active)
        .order_by(ServiceCategory.sort_order)
        .options(selectinload(ServiceCategory.children))
    ).all()
    return render_template("common/home.html", counties=counties, groups=groups)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    results, ok = health.run_checks()
    body = {"status": "ok" if ok else "unavailable", "version": __version__, "checks": results}
    return jsonify(body), 200 if ok else 503
