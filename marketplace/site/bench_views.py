"""Only with BENCH_ROUTES: the bare one-row route the benchmark compares the directory with."""

import sqlalchemy as sa
from flask import Blueprint, render_template_string

from marketplace.extensions import db
from marketplace.reference.models import County

bp = Blueprint("bench", __name__, url_prefix="/_bench")


@bp.get("/one-row")
def one_row():
    county = db.session.scalar(sa.select(County).order_by(County.id).limit(1))
    return render_template_string("<!doctype html><title>{{ c.code }}</title><p>{{ c.name_zh }}</p>", c=county)
