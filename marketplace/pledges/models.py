"""Integrity pledge texts (versioned, admin-managed) and the signatures agencies make."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.common.models import Audited, UTCDateTime
from marketplace.common.time import utcnow
from marketplace.extensions import db


class PledgeText(Audited, db.Model):
    """One version of the pledge: numbered clauses in Chinese with an English rendering.
    A draft can be edited; once issued it never changes, and every agency is asked to sign it."""

    __tablename__ = "pledge_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    title_zh: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(300))
    clauses: Mapped[list] = mapped_column(sa.JSON)  # [{"zh": "...", "en": "..."}, ...]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    @property
    def is_issued(self):
        return self.issued_at is not None


class PledgeSignature(db.Model):
    """A signed pledge: the exact text, its SHA-256, signer, time and client address. Immutable."""

    __tablename__ = "pledge_signatures"
    __append_only__ = True
    __audit_events__ = True  # signing is recorded as a named event

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    pledge_text_id: Mapped[int] = mapped_column(sa.ForeignKey("pledge_texts.id"))
    version: Mapped[int]
    # The agency as named in the signed text (it may be renamed later; the pledge stays as signed).
    provider_name: Mapped[str] = mapped_column(sa.String(200))
    provider_uscc: Mapped[str] = mapped_column(sa.String(18))
    signer_name: Mapped[str] = mapped_column(sa.String(50))
    signer_title: Mapped[str] = mapped_column(sa.String(50))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    client_address: Mapped[str | None] = mapped_column(sa.String(45))
    signed_text: Mapped[str] = mapped_column(sa.Text)
    text_sha256: Mapped[str] = mapped_column(sa.String(64))
    verification_code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    provider = relationship("Provider", lazy="joined")
    pledge_text: Mapped[PledgeText] = relationship(lazy="joined")
