"""Public report verification: anyone checks a report number; the QR code printed on a report leads
to the report's own public page, named by an unguessable id (the code itself is for the parties and
regulators, on the engagement's page)."""

import io
import re

import segno
import sqlalchemy as sa
from flask import Blueprint, abort, current_app, render_template, request, send_file

from marketplace.common import chain, uploads
from marketplace.common.urls import public_url
from marketplace.engagements import queries, services
from marketplace.engagements.models import Report
from marketplace.extensions import db, limiter

bp = Blueprint("reports", __name__, url_prefix="/reports")
PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{16,32}")


@bp.get("/verify")
@limiter.limit(lambda: current_app.config["REPORT_VERIFY_RATE_LIMIT"], exempt_when=lambda: not request.args.get("no"))
def verify():
    """Anyone checks whether a report number is genuine: which agency issued it, when, and for a
    client whose name is shown in part; in full with the issuer's credit code (printed on the report)
    or from the report's QR code. Report numbers are easy to guess; the pair is not."""
    raw = request.args.get("no", "")[:100]
    number = services.normalise_report_number(raw)
    issuer = request.args.get("issuer", "").strip().upper()[:18]
    found = queries.find_reports(number, issuer) if number else []
    return render_template(
        "reports/verify.html",
        raw=raw,
        issuer=issuer,
        number=number,
        found=found,
        searched=bool(number),
        evidence=_evidence(found),
        reveal=bool(issuer),
    )


def masked_name(name):
    """A client's name in part: 南通恒力铝业有限公司 → 南通＊＊＊＊有限公司."""
    name = name or ""
    if len(name) <= 4:
        return name[:1] + "＊" * (len(name) - 1)
    keep_end = 4 if len(name) >= 8 else 1
    return name[:2] + "＊" * (len(name) - 2 - keep_end) + name[-keep_end:]


def _evidence(reports):
    """Per report: whether it, and its file on disk, are as recorded (the file's SHA-256 computed now)."""
    evidence = {}
    for report in reports:
        item = {"record": chain.matches(Report.__tablename__, [report.id]), "file": None}
        if report.file is not None:
            item["file"] = {
                "recorded": report.file.sha256,
                "now": uploads.sha256_now(report.file),
                "record": chain.matches(report.file.__tablename__, [report.file.id]),
            }
        evidence[report.id] = item
    return evidence


@bp.get("/r/<public_id>")
def public(public_id):
    """The page a report's QR code leads to: the same answer as verifying its number."""
    report = None
    if PUBLIC_ID.fullmatch(public_id):
        report = db.session.scalar(sa.select(Report).where(Report.public_id == public_id))
    if report is None:
        abort(404)
    return render_template(
        "reports/verify.html",
        raw=report.report_no,
        number=report.report_no,
        found=[report],
        searched=True,
        evidence=_evidence([report]),
        reveal=True,
    )


def verification_url(report):
    """The report's public address, from PUBLIC_BASE_URL (never from the Host a request named)."""
    return public_url("reports.public", public_id=report.public_id)


def qr_svg(report):
    """The report's public address as a QR code, for its parties and regulators to print."""
    out = io.BytesIO()
    segno.make(verification_url(report), error="m").save(out, kind="svg", scale=4, border=2)
    response = send_file(io.BytesIO(out.getvalue()), mimetype="image/svg+xml", max_age=3600)
    response.cache_control.public = False
    response.cache_control.private = True
    return response


@bp.app_context_processor
def report_helpers():
    return {"verification_url": verification_url, "public_url": public_url, "masked_name": masked_name}
