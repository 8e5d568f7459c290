"""Pledge rules: versions of the text, signing, the pledge status of an agency, verification."""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, has_request_context
from flask_babel import lazy_gettext as _l

from marketplace.auth import permissions
from marketplace.common import audit, database
from marketplace.common.errors import DomainError, PermissionDenied
from marketplace.common.time import utcnow
from marketplace.extensions import db
from marketplace.pledges.models import PledgeSignature, PledgeText

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and typed


class PledgeError(DomainError):
    pass


class NotAllConfirmed(PledgeError):
    message = _l("Confirm every clause of the pledge before signing.")
    field = "clauses"


class SignerMismatch(PledgeError):
    field = "signer_name"


class NotCurrentText(PledgeError):
    message = _l("A newer version of the pledge has been issued; please read and sign that one.")


class TextAlreadyIssued(PledgeError):
    message = _l("This version has been issued and can no longer be changed; create a new version instead.")


class NoClauses(PledgeError):
    message = _l("Enter at least one clause.")
    field = "clauses_zh"


class ClauseCountMismatch(PledgeError):
    message = _l("Give one English line for every Chinese clause.")
    field = "clauses_en"


# --- texts -----------------------------------------------------------------------------------


def current_text():
    """The pledge version in force: the latest issued one (read once per request)."""
    if has_request_context() and "pledge_text_in_force" in g:
        return g.pledge_text_in_force
    text = db.session.scalar(
        sa.select(PledgeText).where(PledgeText.issued_at.is_not(None)).order_by(PledgeText.version.desc()).limit(1)
    )
    if has_request_context():
        g.pledge_text_in_force = text
    return text


def draft_text():
    return db.session.scalar(sa.select(PledgeText).where(PledgeText.issued_at.is_(None)))


def list_texts():
    return db.session.scalars(sa.select(PledgeText).order_by(PledgeText.version.desc())).all()


def _clauses(zh_lines, en_lines):
    zh = [line.strip() for line in zh_lines if line.strip()]
    en = [line.strip() for line in en_lines if line.strip()]
    if not zh:
        raise NoClauses()
    if len(en) != len(zh):
        raise ClauseCountMismatch()
    return [{"zh": z, "en": e} for z, e in zip(zh, en, strict=True)]


def save_draft_text(actor, text, *, title_zh, title_en, clauses_zh, clauses_en):
    """Create the next version as a draft (``text=None``) or edit the draft."""
    if not permissions.can_manage_pledge_texts(actor):
        raise PermissionDenied()
    if text is not None and text.is_issued:
        raise TextAlreadyIssued()
    clauses = _clauses(clauses_zh, clauses_en)
    if text is None:
        text = draft_text()
    if text is None:
        latest = db.session.scalar(sa.select(sa.func.max(PledgeText.version))) or 0
        text = PledgeText(version=latest + 1)
        db.session.add(text)
    text.title_zh, text.title_en, text.clauses = title_zh.strip(), title_en.strip(), clauses
    db.session.flush()
    return text


def issue_text(actor, text):
    """Put a draft in force: from now on every agency is asked to sign it."""
    if not permissions.can_manage_pledge_texts(actor):
        raise PermissionDenied()
    if text.is_issued:
        raise TextAlreadyIssued()
    text.issued_at = utcnow()
    text.issued_by_id = actor.id
    db.session.flush()
    if has_request_context():
        g.pop("pledge_text_in_force", None)
    return text


# --- the pledge status of an agency ----------------------------------------------------------


def resign_deadline(text):
    """Until when agencies that signed an older version still count as up to date."""
    return grace_ends(text.issued_at)


def standing_in_force():
    """(the version in force, whether its grace period has passed), or None: what every agency's pledge
    state on a public page changes with besides its own signature. Read raw, on every such page."""
    rows = database.fetch_all(
        "SELECT version, issued_at FROM pledge_texts WHERE issued_at IS NOT NULL ORDER BY version DESC LIMIT 1"
    )
    if not rows:
        return None
    version, issued_at = rows[0]
    return version, utcnow() > grace_ends(database.moment(issued_at))


def grace_ends(issued_at):
    """The end of the grace period of a version issued at ``issued_at``."""
    return issued_at + timedelta(days=current_app.config["PLEDGE_GRACE_DAYS"])


def pledge_state(provider, current=None, now=None):
    """("none" | "current" | "resign" | "outdated", since): the agency's standing on the pledge in force.

    "resign": an older version is signed and the grace period is running (since = its deadline);
    "outdated": the grace period has passed (since = when it did)."""
    current = current or current_text()
    if provider.pledge_version is None or current is None:
        return "none", None
    if provider.pledge_version >= current.version:
        return "current", provider.pledge_signed_at
    deadline = resign_deadline(current)
    if (now or utcnow()) <= deadline:
        return "resign", deadline
    return "outdated", deadline


# --- signing ---------------------------------------------------------------------------------


def signed_text(text, provider):
    """The exact text an agency signs; its SHA-256 is kept with the signature."""
    lines = [
        text.title_zh,
        f"（第{text.version}版）",
        f"承诺单位：{provider.name}",
        f"统一社会信用代码：{provider.uscc}",
        f"法定代表人：{provider.legal_representative}",
        "",
    ]
    lines += [f"{n}. {clause['zh']}" for n, clause in enumerate(text.clauses, start=1)]
    return "\n".join(lines) + "\n"


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _new_code():
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
        exists = db.session.scalar(sa.select(PledgeSignature.id).where(PledgeSignature.verification_code == code))
        if not exists:
            return code


def normalise_code(code):
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:20]


def format_code(code):
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def sign(actor, provider, text, *, signer_name, signer_title, confirmed, client_address=None, now=None):
    """The legal representative signs the pledge in force for ``provider``: every clause confirmed,
    the name typed as declared. Returns the immutable signature; publishing the agency is the
    providers' business (``providers.services.sign_pledge``, which calls this)."""
    if not permissions.can_edit_provider(actor, provider):
        raise PermissionDenied()
    current = current_text()
    if current is None or text.id != current.id:
        raise NotCurrentText()
    if len(confirmed) != len(text.clauses) or not all(confirmed):
        raise NotAllConfirmed()
    name = (signer_name or "").strip()
    if name != provider.legal_representative.strip():
        raise SignerMismatch(
            _l(
                "Type the name of the legal representative exactly as declared: %(name)s.",
                name=provider.legal_representative,
            )
        )
    body = signed_text(text, provider)
    signature = PledgeSignature(
        provider_id=provider.id,
        pledge_text_id=text.id,
        version=text.version,
        provider_name=provider.name,
        provider_uscc=provider.uscc,
        signer_name=name,
        signer_title=(signer_title or "").strip(),
        signed_at=now or utcnow(),
        client_address=client_address,
        signed_text=body,
        text_sha256=sha256_hex(body),
        verification_code=_new_code(),
        signed_by_id=actor.id,
    )
    db.session.add(signature)
    db.session.flush()
    audit.record(
        "sign",
        signature,
        changes={
            "provider_id": [None, provider.id],
            "version": [None, text.version],
            "sha256": [None, signature.text_sha256],
        },
    )
    return signature


def latest_signature(provider_id):
    return db.session.scalar(
        sa.select(PledgeSignature)
        .where(PledgeSignature.provider_id == provider_id)
        .order_by(PledgeSignature.signed_at.desc(), PledgeSignature.id.desc())
        .limit(1)
    )


def find_signature(code):
    code = normalise_code(code)
    if not code:
        return None
    return db.session.scalar(sa.select(PledgeSignature).where(PledgeSignature.verification_code == code))
