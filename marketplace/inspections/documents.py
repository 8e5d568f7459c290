"""Documents of supervision: the inspection record of a recheck or spot-check (PDF) and the coverage
dashboard (PDF with a bar chart, and XLSX). Every spreadsheet cell goes through
``common.exports.spreadsheet_cell``, so a name typed as a formula stays text."""

import io

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _

from marketplace.common.exports import spreadsheet_cell
from marketplace.common.time import local_today
from marketplace.inspections.models import Answer, Tier
from marketplace.reference import cache

ANSWER_ZH = {Answer.MET.value: "符合", Answer.NOT_MET.value: "不符合", Answer.NOT_APPLICABLE.value: "不适用"}
CONCLUSION_ZH = {"compliant": "合格", "minor": "基本合格（存在一般问题）", "non_compliant": "不合格"}
TIER_ZH = {Tier.SELF: "机构自查", Tier.RECHECK: "县级复查", Tier.SPOT: "市级抽查"}


def check_record_pdf(check):
    """检查记录: the checklist with answers, findings, the inspectors' signatures by name and time."""
    unit = check.unit
    when = format_datetime(check.submitted_at, "yyyy-MM-dd HH:mm", rebase=True)
    agrees = {True: "一致", False: "不一致", None: "无自查结论"}[check.agrees_with_self_check]
    fields = [
        ("专项整治", unit.campaign.name),
        ("检查层级", TIER_ZH[check.tier]),
        ("检查对象", f"{unit.provider.name}（{unit.provider.uscc}）"),
        ("报告编号", unit.unit.split("/", 1)[1]),
        ("委托单位", unit.enterprise.name),
        ("服务类别", cache.snapshot().category_label(unit.category_id, language="zh")),
        ("属地", unit.stratum),
        ("检查结论", CONCLUSION_ZH[check.conclusion.value]),
        ("与机构自查结论", agrees),
        ("检查情况", check.summary or "—"),
    ]
    answers = [
        (i + 1, a["text"], ANSWER_ZH.get(a["answer"], a["answer"]), a.get("note", ""))
        for i, a in enumerate(check.answers)
    ]
    findings = [(f.code, f.title, f.person_name or "—", f.facts, f.rectification_due or "—") for f in check.findings]
    signatures = [("检查人员", name, when) for name in check.inspectors]
    from marketplace.common import pdf  # reportlab, loaded with the first PDF a worker makes

    return pdf.record_pdf(
        title=f"{TIER_ZH[check.tier]}记录",
        subtitle=f"记录编号 JC-{check.id:06d}　　提交时间 {when}",
        fields=fields,
        sections=[
            ("检查清单", ["序号", "检查内容", "结果", "说明"], answers),
            ("发现的问题", ["代码", "问题", "责任人", "事实", "整改期限"], findings),
        ],
        signatures=signatures,
        footer_text=f"南通市第三方安全生产服务机构监管平台 · JC-{check.id:06d}",
        author="南通市应急管理局",
        font_path=current_app.config.get("PDF_CJK_FONT"),
    )


def dashboard_columns():
    return [
        _("County"),
        _("Population"),
        _("Self-checked"),
        _("Self-checked %"),
        _("Self-checks overdue"),
        _("Rechecked"),
        _("Rechecked %"),
        _("Drawn"),
        _("Spot-checked"),
        _("Non-compliant"),
        _("Tier disagreements"),
        _("Findings"),
        _("Rectifications open"),
        _("Rectifications overdue"),
        _("Penalties"),
    ]


def _dashboard_row(row, name):
    return [
        name,
        row.population,
        row.self_checked,
        row.share(row.self_checked),
        row.self_overdue,
        row.rechecked,
        row.share(row.rechecked),
        row.sampled,
        row.spot_checked,
        row.non_compliant,
        row.disagreements,
        row.findings,
        row.rectifications_open,
        row.rectifications_overdue,
        row.penalties,
    ]


def dashboard_rows(rows, total):
    return [_dashboard_row(r, r.name) for r in rows] + [_dashboard_row(total, _("Total"))]


def _codes(rows, total):
    codes = sorted(total.findings_by_code)
    return [_("County")] + codes, [[r.name] + [r.findings_by_code.get(c, 0) for c in codes] for r in rows] + [
        [_("Total")] + [total.findings_by_code.get(c, 0) for c in codes]
    ]


def dashboard_pdf(campaign, rows, total):
    columns, by_code = _codes(rows, total)
    chart = (
        [r.name for r in rows],
        [
            (_("Self-checked %"), [r.share(r.self_checked) for r in rows]),
            (_("Rechecked %"), [r.share(r.rechecked) for r in rows]),
            (_("Spot-checked %"), [r.share(r.spot_checked) for r in rows]),
        ],
    )
    from marketplace.common import pdf  # reportlab, loaded with the first PDF a worker makes

    return pdf.report_with_chart_pdf(
        title=_("Coverage: %(name)s", name=campaign.name),
        subtitle=_("As of %(day)s · population %(n)d", day=local_today().isoformat(), n=total.population),
        chart=chart,
        columns=dashboard_columns(),
        rows=dashboard_rows(rows, total),
        sections=[(_("Findings by violation code"), columns, by_code[:-1] and by_code)],
        footer_text=f"南通市第三方安全生产服务机构监管平台 · {campaign.name}",
        author="南通市应急管理局",
        font_path=current_app.config.get("PDF_CJK_FONT"),
    )


def dashboard_xlsx(campaign, rows, total):
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = _("Coverage")[:31]
    sheet.append([spreadsheet_cell(campaign.name)])
    sheet.append([spreadsheet_cell(_("As of %(day)s", day=local_today().isoformat()))])
    sheet.append([spreadsheet_cell(c) for c in dashboard_columns()])
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for values in dashboard_rows(rows, total):
        sheet.append([spreadsheet_cell(v) if isinstance(v, str) else v for v in values])
    columns, by_code = _codes(rows, total)
    codes = book.create_sheet(_("Findings by code")[:31])
    codes.append([spreadsheet_cell(c) for c in columns])
    for values in by_code:
        codes.append([spreadsheet_cell(v) if isinstance(v, str) else v for v in values])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
