"""Notice batches (公示名单): an immutable snapshot of the published directory, what changed since
the previous batch (which fields, for a change), the SHA-256 of the canonical content, and a CSV and a
PDF made once. A regulator sees what a batch would add, change and withdraw before publishing it; a
batch with no change is refused unless the regulator says an unchanged list is intended."""

import hashlib
import json
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from marketplace.auth import permissions
from marketplace.common import audit, chain, database, exports
from marketplace.common.errors import DomainError, PermissionDenied
from marketplace.common.time import LOCAL_ZONE, local_date, utcnow
from marketplace.extensions import db
from marketplace.providers.models import NoticeBatch, NoticeEntry, NoticeRendering, Provider, ProviderStatus
from marketplace.providers.notice_files import make_csv, make_pdf
from marketplace.reference.models import County, ServiceCategory


class PublishedMeanwhile(DomainError):
    message = _l("Another batch was published at the same moment. Look at it before publishing again.")


class NothingChanged(DomainError):
    message = _l("Nothing has changed since the last batch. Confirm that an unchanged list is to be published.")
    field = "unchanged"


class PreviewOutdated(DomainError):
    message = _l("The directory changed while you were reviewing the batch: check the new preview and publish again.")


def _ambiguous_names():
    """Category names that occur under more than one group (金属冶炼 is both evaluated and tested):
    those are printed with their group, the others alone."""
    names = db.session.execute(
        sa.select(ServiceCategory.name_zh)
        .where(ServiceCategory.parent_id.is_not(None))
        .group_by(ServiceCategory.name_zh)
        .having(sa.func.count() > 1)
    ).scalars()
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
        "pledge_signed_on": local_date(provider.pledge_signed_at).isoformat() if provider.pledge_signed_at else "",
    }


def canonical_json(value):
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest(value):
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def latest_batch():
    return db.session.scalar(
        sa.select(NoticeBatch).order_by(NoticeBatch.published_at.desc(), NoticeBatch.id.desc()).limit(1)
    )


def latest_batch_id():
    """The latest batch's id (None before the first): read raw, on every home page."""
    rows = database.fetch_all("SELECT id FROM notice_batches ORDER BY published_at DESC, id DESC LIMIT 1")
    return rows[0][0] if rows else None


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


@dataclass
class Draft:
    """What the next batch would be: its rows (provider id, position, change, digest, snapshot, changed
    fields), counts and the fingerprint of its content (to check that what is published is what was seen)."""

    rows: list
    counts: dict
    total: int
    fingerprint: str

    @property
    def has_changes(self):
        return any(self.counts.values())

    def of(self, *changes):
        return [row for row in self.rows if row[2] in changes]


def _fields(old, new):
    return [key for key in new if key != "reason" and old.get(key) != new[key]]


def draft_batch():
    """The next batch as it would be published now (nothing is written)."""
    providers = db.session.scalars(
        sa.select(Provider)
        .where(Provider.status == ProviderStatus.PUBLISHED)
        .outerjoin(County, Provider.county_id == County.id)
        .order_by(County.sort_order, Provider.name, Provider.id)
        .options(selectinload(Provider.categories), selectinload(Provider.regions))
    ).all()
    previous = latest_batch()
    before = {}
    if previous is not None:
        before = {
            e.provider_id: e
            for e in db.session.scalars(
                sa.select(NoticeEntry).where(NoticeEntry.batch_id == previous.id, NoticeEntry.change != "withdrawn")
            )
        }
    listed_before = set(db.session.scalars(sa.select(NoticeEntry.provider_id).distinct()))
    rows, seen, ambiguous = [], set(), _ambiguous_names()
    for position, provider in enumerate(providers, start=1):
        snap = entry_snapshot(provider, ambiguous)
        snap_digest = digest(snap)
        old = before.get(provider.id)
        fields = []
        if old is None:  # new to the list, or back after a withdrawal or a suspension
            change = "returned" if provider.id in listed_before else "added"
        elif old.digest != snap_digest:
            change, fields = "changed", _fields(old.snapshot, snap)
        else:
            change = "unchanged"
        rows.append((provider.id, position, change, snap_digest, snap, fields))
        seen.add(provider.id)
    gone = [e for pid, e in sorted(before.items()) if pid not in seen]
    statuses = dict(
        db.session.execute(
            sa.select(Provider.id, Provider.status).where(Provider.id.in_([e.provider_id for e in gone]))
        ).all()
    )
    for entry in gone:
        snap = dict(entry.snapshot, reason=statuses.get(entry.provider_id, ProviderStatus.WITHDRAWN).value)
        rows.append((entry.provider_id, 0, "withdrawn", digest(snap), snap, []))
    return Draft(rows, _counts(rows), len(providers), digest([[r[0], r[2], r[3]] for r in rows]))


def _counts(rows):
    counts = {kind: sum(1 for r in rows if r[2] == kind) for kind in ("added", "changed", "withdrawn")}
    counts["added"] += sum(1 for r in rows if r[2] == "returned")
    return counts


def check_publishable(fingerprint=None, unchanged_intended=False):
    """The draft of the next batch, when the regulator's confirmation still holds: ``fingerprint`` is the
    preview they confirmed (refused when the directory changed since), and an unchanged list needs
    ``unchanged_intended``."""
    draft = draft_batch()
    if fingerprint is not None and fingerprint != draft.fingerprint:
        raise PreviewOutdated()
    if latest_batch() is not None and not draft.has_changes and not unchanged_intended:
        raise NothingChanged()
    return draft


def publish_batch(actor, now=None, *, unchanged_intended=False, fingerprint=None, progress=None):
    """Publish the next batch: snapshot every published agency and compare with the last batch.
    ``fingerprint``: the preview the regulator confirmed; refused when the directory changed since.
    ``progress(step, done, total)`` hears how far it is (a job's page shows it)."""
    if actor is not permissions.SYSTEM and not permissions.can_publish_notices(actor):
        raise PermissionDenied()
    progress = progress or (lambda step, done=0, total=0: None)
    now = now or utcnow()
    local = now.astimezone(LOCAL_ZONE)
    if db.session.get_bind().dialect.name == "postgresql":
        # One publisher at a time across workers: batch numbers and diffs follow one another.
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('notice_batches'))"))
    progress("compare")
    draft = check_publishable(fingerprint, unchanged_intended)
    rows, counts = draft.rows, draft.counts
    year = local.year
    sequence = (
        db.session.scalar(sa.select(sa.func.max(NoticeBatch.sequence)).where(NoticeBatch.year == year)) or 0
    ) + 1
    batch_no = f"{year}年第{sequence}期"
    # The history so far, as this batch publishes it: anyone who keeps a copy can later prove it.
    chain_seq, chain_sha256 = chain.head_now()
    content = {
        "batch_no": batch_no,
        "published_on": local.date().isoformat(),
        "chain_head": {"seq": chain_seq, "sha256": chain_sha256},
        "entries": [{"position": p, "change": c, "snapshot": s} for _, p, c, _, s, _ in rows if c != "withdrawn"],
        "withdrawn": [s for _, _, c, _, s, _ in rows if c == "withdrawn"],
    }
    canonical = canonical_json(content)
    batch = NoticeBatch(
        year=year,
        sequence=sequence,
        batch_no=batch_no,
        published_at=now,
        published_by_id=getattr(actor, "id", None),
        total=draft.total,
        canonical=canonical,
        content_sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        pdf=make_pdf(
            batch_no,
            local,
            rows,
            counts,
            (chain_seq, chain_sha256),
            progress=lambda done, total: progress("pdf", done, total),
        ),
        csv=make_csv(rows, (chain_seq, chain_sha256)),
        chain_seq=chain_seq,
        chain_sha256=chain_sha256,
        **counts,
    )
    db.session.add(batch)
    db.session.flush()
    db.session.add_all(
        NoticeEntry(batch_id=batch.id, provider_id=pid, position=p, change=c, digest=d, snapshot=s)
        for pid, p, c, d, s, _ in rows
    )
    audit.record(
        "publish",
        batch,
        actor=actor if actor is not permissions.SYSTEM else None,
        changes={"batch_no": [None, batch_no], "total": [None, batch.total], "sha256": [None, batch.content_sha256]},
    )
    progress("save")
    db.session.flush()
    return batch


# --- a published batch: its rows, what changed, its files -------------------------------------------


def previous_batch(batch):
    return db.session.scalar(
        sa.select(NoticeBatch)
        .where(
            sa.or_(
                NoticeBatch.published_at < batch.published_at,
                sa.and_(NoticeBatch.published_at == batch.published_at, NoticeBatch.id < batch.id),
            )
        )
        .order_by(NoticeBatch.published_at.desc(), NoticeBatch.id.desc())
        .limit(1)
    )


def changed_fields(batch, provider_ids):
    """{provider id: [fields]} for the given agencies marked changed in ``batch``, compared with the
    previous batch's entries (both immutable)."""
    previous = previous_batch(batch)
    if previous is None or not provider_ids:
        return {}
    before = dict(
        db.session.execute(
            sa.select(NoticeEntry.provider_id, NoticeEntry.snapshot).where(
                NoticeEntry.batch_id == previous.id,
                NoticeEntry.provider_id.in_(provider_ids),
                NoticeEntry.change != "withdrawn",
            )
        ).all()
    )
    now = dict(
        db.session.execute(
            sa.select(NoticeEntry.provider_id, NoticeEntry.snapshot).where(
                NoticeEntry.batch_id == batch.id,
                NoticeEntry.provider_id.in_(provider_ids),
                NoticeEntry.change == "changed",
            )
        ).all()
    )
    return {pid: _fields(before.get(pid, {}), snap) for pid, snap in now.items()}


def stored_rows(batch):
    """The batch's rows rebuilt from its stored entries, in publication order."""
    entries_ = db.session.scalars(
        sa.select(NoticeEntry).where(NoticeEntry.batch_id == batch.id).order_by(NoticeEntry.id)
    ).all()
    fields = changed_fields(batch, [e.provider_id for e in entries_ if e.change == "changed"])
    return [
        (e.provider_id, e.position, e.change, e.digest, e.snapshot, fields.get(e.provider_id, [])) for e in entries_
    ]


def latest_rendering(batch):
    return db.session.scalar(
        sa.select(NoticeRendering)
        .where(NoticeRendering.batch_id == batch.id)
        .order_by(NoticeRendering.id.desc())
        .limit(1)
    )


def pdf_file(batch):
    """The PDF served for a batch: its newest rendering, else the one made at publication."""
    rendering = latest_rendering(batch)
    return rendering.pdf if rendering is not None else batch.pdf


def csv_file(batch):
    """The CSV served for a batch: its newest rendering's, else the one made at publication."""
    rendering = latest_rendering(batch)
    return rendering.csv if rendering is not None and rendering.csv is not None else batch.csv


def rendering_reasons(batch):
    """Why a batch's served files must be made again: the PDF lacks its font, the CSV has cells a
    spreadsheet would run as formulas."""
    reasons = []
    from marketplace.common import pdf  # reportlab, loaded with the first PDF a worker makes

    if not pdf.embeds_its_fonts(pdf_file(batch)):
        reasons.append("missing_font")
    if exports.live_formula_cells(csv_file(batch)):
        reasons.append("formula_cells")
    return reasons


def render_files(force=False):
    """Re-render, from their immutable entries, the files of batches whose served PDF lacks its font or
    whose served CSV holds formulas (every batch with ``force``). The batch, its hash and its original
    files stay as they are; the new files are kept beside them. Returns [(batch, reasons)]."""
    done = []
    for batch in db.session.scalars(sa.select(NoticeBatch).order_by(NoticeBatch.published_at, NoticeBatch.id)):
        reasons = rendering_reasons(batch) or (["requested"] if force else [])
        if not reasons:
            continue
        local = batch.published_at.astimezone(LOCAL_ZONE)
        counts = {"added": batch.added, "changed": batch.changed, "withdrawn": batch.withdrawn}
        rows = stored_rows(batch)
        head = (batch.chain_seq, batch.chain_sha256) if batch.chain_sha256 else None
        db.session.add(
            NoticeRendering(
                batch_id=batch.id,
                rendered_at=utcnow(),
                pdf=make_pdf(batch.batch_no, local, rows, counts, head),
                csv=make_csv(rows, head),
                reason=",".join(reasons),
            )
        )
        done.append((batch, reasons))
    db.session.flush()
    return done


def evidence(batch):
    """What the notice page recomputes besides the entries: the SHA-256 of the JSON file as served,
    and whether the batch, its entries and its renderings are as the hash chain recorded them."""
    entry_ids = db.session.scalars(sa.select(NoticeEntry.id).where(NoticeEntry.batch_id == batch.id)).all()
    rendering_ids = db.session.scalars(sa.select(NoticeRendering.id).where(NoticeRendering.batch_id == batch.id)).all()
    return {
        "json_sha256": hashlib.sha256(batch.canonical.encode("utf-8")).hexdigest(),
        "batch": chain.matches(NoticeBatch.__tablename__, [batch.id]),
        "entries": chain.matches(NoticeEntry.__tablename__, entry_ids),
        "renderings": chain.matches(NoticeRendering.__tablename__, rendering_ids) if rendering_ids else None,
    }


def recompute_hash(batch):
    """The SHA-256 of the canonical content rebuilt now from the batch's entries (equals the published
    value unless a stored entry was altered); the same bytes are served at /notices/<no>.json."""
    entries_ = db.session.scalars(
        sa.select(NoticeEntry).where(NoticeEntry.batch_id == batch.id).order_by(NoticeEntry.id)
    ).all()
    content = json.loads(batch.canonical)
    content["entries"] = [
        {"position": e.position, "change": e.change, "snapshot": e.snapshot}
        for e in entries_
        if e.change != "withdrawn"
    ]
    content["withdrawn"] = [e.snapshot for e in entries_ if e.change == "withdrawn"]
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()
