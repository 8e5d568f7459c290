"""The files of a notice batch, made from its rows: a CSV (UTF-8 with a byte-order mark, for Excel)
and a PDF with its font embedded. Rows are (provider id, position, change, digest, snapshot, changed
fields), as ``notices`` builds them at publication and rebuilds them from a batch's stored entries."""

from flask import current_app

from marketplace.common import exports

CHANGE_LABELS_ZH = {"added": "新增", "returned": "重新列入", "changed": "变更", "unchanged": "", "withdrawn": "撤出"}
WITHDRAWN_REASONS_ZH = {"suspended": "暂停", "withdrawn": "主动撤出"}
# What each snapshot field is called in the files, to say what a 变更 row changed.
FIELD_LABELS_ZH = {
    "name": "机构名称",
    "uscc": "统一社会信用代码",
    "legal_representative": "法定代表人",
    "county": "注册地",
    "address": "地址",
    "phone": "联系电话",
    "categories": "服务类别",
    "regions": "服务区域",
    "pledge_version": "承诺书版本",
    "pledge_signed_on": "承诺签署日期",
}
COLUMNS = [
    "序号",
    "机构名称",
    "统一社会信用代码",
    "法定代表人",
    "注册地",
    "服务类别",
    "服务区域",
    "承诺签署日期",
    "本期变动",
]
PDF_COLUMNS = ["序号", "机构名称", "统一社会信用代码", "注册地", "服务类别", "服务区域", "承诺签署日期"]


def change_label(change, snapshot, fields=()):
    """新增, 变更（地址、联系电话）, 撤出（暂停）… as printed in the CSV and PDF."""
    label = CHANGE_LABELS_ZH[change]
    if change == "withdrawn":
        reason = WITHDRAWN_REASONS_ZH.get(snapshot.get("reason", ""))
        return f"{label}（{reason}）" if reason else label
    if change == "changed" and fields:
        return f"{label}（{'、'.join(FIELD_LABELS_ZH.get(f, f) for f in fields)}）"
    return label


def _row(position, snap, change, fields):
    return [
        str(position),
        snap["name"],
        snap["uscc"],
        snap["legal_representative"],
        snap["county"],
        "；".join(snap["categories"]),
        "、".join(snap["regions"]),
        snap["pledge_signed_on"],
        change_label(change, snap, fields),
    ]


def chain_head_text(chain_head):
    """The chain head a batch publishes, as printed in its PDF and CSV."""
    seq, digest = chain_head
    return f"发布时历史记录链头：第 {seq} 条，SHA-256 {digest}"


def make_csv(rows, chain_head=None):
    """UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly; no cell is a formula.
    After the list, a blank row and the chain head the batch publishes (when it has one)."""
    lines = [
        _row(position if change != "withdrawn" else "", snap, change, fields)
        for _, position, change, _, snap, fields in rows
    ]
    if chain_head is not None:
        lines += [[""] * len(COLUMNS), ["历史记录链头", str(chain_head[0]), chain_head[1]] + [""] * (len(COLUMNS) - 3)]
    return exports.csv_bytes(COLUMNS, lines)


def make_pdf(batch_no, local, rows, counts, chain_head=None, progress=None):
    """The batch's PDF (landscape A4, numbered pages); ``local`` is its publication time in Beijing;
    ``progress(done, total)`` hears of each page of the list."""
    listed = [r for r in rows if r[2] != "withdrawn"]

    def pdf_row(position, snap):
        return [
            str(position),
            snap["name"],
            snap["uscc"],
            snap["county"],
            "；".join(snap["categories"]),
            "、".join(snap["regions"]),
            snap["pledge_signed_on"],
        ]

    def section(kinds, heading):
        chosen = [r for r in rows if r[2] in kinds]
        return (
            heading,
            ["机构名称", "统一社会信用代码", "注册地", "本期变动"],
            [[s["name"], s["uscc"], s["county"], change_label(c, s, f)] for _, _, c, _, s, f in chosen],
        )

    operator = current_app.config["OPERATOR_NAME_ZH"]
    from marketplace.common import pdf  # reportlab, loaded with the first PDF a worker makes

    return pdf.notice_batch_pdf(
        title=f"{operator}安全生产第三方服务机构公示名单",
        batch_no=batch_no,
        published_at_text=f"发布日期：{local:%Y年%m月%d日}",
        intro_lines=[
            f"本期公示机构 {len(listed)} 家，新增 {counts['added']} 家，信息变更 {counts['changed']} 家，"
            f"撤出 {counts['withdrawn']} 家。",
            "服务机构自主申报并签署诚信承诺，不设置准入条件；企业可公开、公平、自主选择。",
        ]
        + ([chain_head_text(chain_head)] if chain_head is not None else []),
        columns=PDF_COLUMNS,
        rows=[pdf_row(p, s) for _, p, _, _, s, _ in listed],
        sections=[
            section(("added", "returned"), "本期新增机构"),
            section(("changed",), "本期信息变更机构"),
            section(("withdrawn",), "本期撤出机构"),
        ],
        footer_text=f"{operator} · {batch_no}",
        author=operator,
        font_path=current_app.config.get("PDF_CJK_FONT"),
        progress=progress,
    )
