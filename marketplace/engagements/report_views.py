"""Public report verification: anyone checks a report number; a QR code leads there."""

import io

import segno
from flask import Blueprint, abort, render_template, request, send_file, url_for

from marketplace.engagements import queries, services
from marketplace.engagements.models import Report
from marketplace.extensions import db

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.get("/verify")
def verify():
    """Anyone checks whether a report number is genuine: which agency issued it, for whom, when."""
    raw = request.args.get("no", "")[:100]
    number = services.normalise_report_number(raw)
    issuer = request.args.get("issuer", "").strip().upper()[:18]
    found = queries.find_reports(number, issuer) if number else []
    return render_template("reports/verify.html", raw=raw, number=number, found=found, searched=bool(number))


@bp.get("/<id:report_id>/qr.svg")
def qr(report_id):
    """The report's verification address as a QR code (public: it holds nothing but that address)."""
    report = db.session.get(Report, report_id)
    if report is None:
        abort(404)
    out = io.BytesIO()
    segno.make(verification_url(report), error="m").save(out, kind="svg", scale=4, border=2)
    return send_file(io.BytesIO(out.getvalue()), mimetype="image/svg+xml", max_age=86400)


def verification_url(report):
    return url_for("reports.verify", no=report.report_no, issuer=queries.report_issuer_uscc(report), _external=True)


@bp.app_context_processor
def report_helpers():
    return {"verification_url": verification_url}
