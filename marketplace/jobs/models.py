"""A job: one piece of heavy work a user started (publishing a notice batch), run by the job consumer
outside the web workers. Its row says who started it, what it was asked, and how it ended; its progress
while it runs lives in the queue's own store (``jobs.progress``), so that reporting it never waits for
the transaction doing the work."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.common.models import UTCDateTime
from marketplace.common.time import utcnow
from marketplace.extensions import db

STATES = ("queued", "running", "done", "failed")


class Job(db.Model):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))  # a registered runner: "notices.publish"
    state: Mapped[str] = mapped_column(sa.String(10), default="queued")
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    result: Mapped[str] = mapped_column(sa.String(200), default="")  # what the runner made (a batch number)
    error: Mapped[str] = mapped_column(sa.String(60), default="")  # why it failed: the refusal's name
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by = relationship("User")

    @property
    def finished(self):
        return self.state in ("done", "failed")
