"""Notice batches (公示名单): an immutable snapshot of the published directory, what changed
since the previous batch, the SHA-256 of the canonical content, and a PDF and CSV made once."""

import csv
import hashlib
import io
import json
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from marketplace.auth import permissions
from marketplace.common import audit, pdf
from marketplace.common.errors import PermissionDenied
from marketplace.common.models import County, ServiceCategory
from marketplace.common.time import as_utc, utcnow
from marketplace.extensions import db
from marketplace.providers.models import NoticeBatch, NoticeEntry, Provider, ProviderStatus

LOCAL = ZoneInfo("Asia/Shanghai")
CHANGE_LABELS_ZH = {"added": "新增", "returned": "重新列入", "changed": "变更", "unchanged": "", "withdrawn": "撤出"}
WITHDRAWN_REASONS_ZH = {"suspended": "暂停", "withdrawn": "主动撤出"}


def change_label(change, snapshot):
    """新增, 变更, 撤出（暂停）… as printed in the CSV and PDF."""
    label = CHANGE_LABELS_ZH[change]
    reason = WITHDRAWN_REASONS_ZH.get(snapshot.get("reason", ""))
    return f"{label}（{reason}）" if change == "withdrawn" and reason else label
COLUMNS = ["序号", "机构名称", "统一社会信用代码", "法定代表人", "注册地", "服务类别", "服务区域", "承诺签署日期", "本期变动"]
PDF_COLUMNS = ["序号", "机构名称", "统一社会信用代码", "注册地", "服务类别", "服务区域", "承诺签署日期"]


def _ambiguous_names():
    """Category names that occur under more than one group (金属冶炼 is both evaluated and tested):
    those are printed with their group, the others alone."""
    names = db.session.execute(sa.select(ServiceCategory.name_zh).where(ServiceCategory.parent_id.is_not(None))
                               .group_by(ServiceCategory.name_zh).having(sa.func.count() > 1)).scalars()
    return set(names)


def _category_label(category, ambiguous):
    if category.parent is not None and category.name_zh in ambiguous:
        return f"{category.parent.name_zh}（{category.name_zh}）"
    return category.name_zh


def entry_snapshot(provider, ambiguous=None):
    """What the notice list says about one agency."""
    ambiguous = _ambiguous_names() if ambiguous is None else ambiguous
    return {
        "name": provider.name,
        "uscc": provider.uscc,
        "legal_representative": provider.legal_representative,
        "county": provider.county.name_zh if provider.county else "",
        "address": provider.address,
        "phone": provider.phone,
        "categories": [_category_label(c, ambiguous) for c in provider.categories],
        "regions": [c.name_zh for c in provider.regions],
        "pledge_version": provider.pledge_version,
        "pledge_signed_on": as_utc(provider.pledge_signed_at).astimezone(LOCAL).date().isoformat()
        if provider.pledge_signed_at else "",
    }


def canonical_json(value):
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest(value):
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def latest_batch():
    return db.session.scalar(sa.select(NoticeBatch).order_by(NoticeBatch.published_at.desc(),
                                                             NoticeBatch.id.desc()).limit(1))


def list_batches():
    return sa.select(NoticeBatch).order_by(NoticeBatch.published_at.desc(), NoticeBatch.id.desc())


def get_batch(batch_no):
    return db.session.scalar(sa.select(NoticeBatch).where(NoticeBatch.batch_no == batch_no[:20]))


def entries(batch, change=None):
    query = sa.select(NoticeEntry).where(NoticeEntry.batch_id == batch.id)
    if change == "changes":
        query = query.where(NoticeEntry.change != "unchanged")
    elif change:
        query = query.where(NoticeEntry.change == change)
    return query.order_by(NoticeEntry.change == "withdrawn", NoticeEntry.position, NoticeEntry.id)


def publish_batch(actor, now=None):
    """Publish the next batch: snapshot every published agency and compare with the last batch."""
    if actor is not permissions.SYSTEM and not permissions.can_publish_notices(actor):
        raise PermissionDenied()
    now = now or utcnow()
    local = as_utc(now).astimezone(LOCAL)
    if db.session.get_bind().dialect.name == "postgresql":
        # One publisher at a time across workers: batch numbers and diffs follow one another.
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('notice_batches'))"))
    providers = db.session.scalars(
        sa.select(Provider).where(Provider.status == ProviderStatus.PUBLISHED)
        .outerjoin(County, Provider.county_id == County.id)
        .order_by(County.sort_order, Provider.name, Provider.id)
        .options(selectinload(Provider.categories), selectinload(Provider.regions))
    ).all()
    previous = latest_batch()
    before = {}
    if previous is not None:
        before = {e.provider_id: e for e in db.session.scalars(
            sa.select(NoticeEntry).where(NoticeEntry.batch_id == previous.id, NoticeEntry.change != "withdrawn"))}

    listed_before = set(db.session.scalars(sa.select(NoticeEntry.provider_id).distinct()))
    rows, seen, ambiguous = [], set(), _ambiguous_names()
    for position, provider in enumerate(providers, start=1):
        snap = entry_snapshot(provider, ambiguous)
        snap_digest = digest(snap)
        old = before.get(provider.id)
        if old is None:  # new to the list, or back after a withdrawal or a suspension
            change = "returned" if provider.id in listed_before else "added"
        else:
            change = "changed" if old.digest != snap_digest else "unchanged"
        rows.append((provider.id, position, change, snap_digest, snap))
        seen.add(provider.id)
    gone = [e for pid, e in sorted(before.items()) if pid not in seen]
    statuses = dict(db.session.execute(
        sa.select(Provider.id, Provider.status).where(Provider.id.in_([e.provider_id for e in gone]))).all())
    for entry in gone:
        snap = dict(entry.snapshot, reason=statuses.get(entry.provider_id, ProviderStatus.WITHDRAWN).value)
        rows.append((entry.provider_id, 0, "withdrawn", digest(snap), snap))

    year = local.year
    sequence = (db.session.scalar(sa.select(sa.func.max(NoticeBatch.sequence)).where(NoticeBatch.year == year)) or 0) + 1
    batch_no = f"{year}年第{sequence}期"
    counts = {kind: sum(1 for r in rows if r[2] == kind) for kind in ("added", "changed", "withdrawn")}
    counts["added"] += sum(1 for r in rows if r[2] == "returned")
    content = {
        "batch_no": batch_no,
        "published_on": local.date().isoformat(),
        "entries": [{"position": p, "change": c, "snapshot": s} for _, p, c, _, s in rows if c != "withdrawn"],
        "withdrawn": [s for _, _, c, _, s in rows if c == "withdrawn"],
    }
    canonical = canonical_json(content)
    batch = NoticeBatch(
        year=year, sequence=sequence, batch_no=batch_no, published_at=now, published_by_id=getattr(actor, "id", None),
        total=len(providers), canonical=canonical, content_sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        pdf=make_pdf(batch_no, local, rows, counts), csv=make_csv(rows), **counts,
    )
    db.session.add(batch)
    db.session.flush()
    db.session.add_all(NoticeEntry(batch_id=batch.id, provider_id=pid, position=p, change=c, digest=d, snapshot=s)
                       for pid, p, c, d, s in rows)
    audit.record("publish", batch, actor=actor if actor is not permissions.SYSTEM else None, changes={
        "batch_no": [None, batch_no], "total": [None, batch.total], "sha256": [None, batch.content_sha256]})
    db.session.flush()
    return batch


def _row(position, snap, change):
    return [str(position), snap["name"], snap["uscc"], snap["legal_representative"], snap["county"],
            "；".join(snap["categories"]), "、".join(snap["regions"]), snap["pledge_signed_on"],
            change_label(change, snap)]


def make_csv(rows):
    """UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for _, position, change, _, snap in rows:
        writer.writerow(_row(position if change != "withdrawn" else "", snap, change))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def make_pdf(batch_no, local, rows, counts):
    listed = [r for r in rows if r[2] != "withdrawn"]

    def pdf_row(position, snap):
        return [str(position), snap["name"], snap["uscc"], snap["county"], "；".join(snap["categories"]),
                "、".join(snap["regions"]), snap["pledge_signed_on"]]

    def section(kinds, heading):
        chosen = [r for r in rows if r[2] in kinds]
        return (heading, ["机构名称", "统一社会信用代码", "注册地", "本期变动"],
                [[s["name"], s["uscc"], s["county"], change_label(c, s)] for _, _, c, _, s in chosen])

    operator = current_app.config["OPERATOR_NAME_ZH"]
    return pdf.notice_batch_pdf(
        title=f"{operator}安全生产第三方服务机构公示名单",
        batch_no=batch_no,
        published_at_text=f"发布日期：{local:%Y年%m月%d日}",
        intro_lines=[
            f"本期公示机构 {len(listed)} 家，新增 {counts['added']} 家，信息变更 {counts['changed']} 家，"
            f"撤出 {counts['withdrawn']} 家。",
            "服务机构自主申报并签署诚信承诺，不设置准入条件；企业可公开、公平、自主选择。",
        ],
        columns=PDF_COLUMNS,
        rows=[pdf_row(p, s) for _, p, _, _, s in listed],
        sections=[section(("added", "returned"), "本期新增机构"), section(("changed",), "本期信息变更机构"),
                  section(("withdrawn",), "本期撤出机构")],
        footer_text=f"{operator} · {batch_no}",
        author=operator,
        font_path=current_app.config.get("PDF_CJK_FONT"),
    )


def recompute_hash(batch):
    """The SHA-256 of the canonical content rebuilt now from the batch's entries (equals the published
    value unless a stored entry was altered); the same bytes are served at /notices/<no>.json."""
    entries_ = db.session.scalars(sa.select(NoticeEntry).where(NoticeEntry.batch_id == batch.id)
                                  .order_by(NoticeEntry.id)).all()
    content = json.loads(batch.canonical)
    content["entries"] = [{"position": e.position, "change": e.change, "snapshot": e.snapshot}
                          for e in entries_ if e.change != "withdrawn"]
    content["withdrawn"] = [e.snapshot for e in entries_ if e.change == "withdrawn"]
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()
