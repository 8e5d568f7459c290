"""Publishing a notice batch as a job: comparing every agency with the last batch, making the PDF and
the CSV and saving the batch take seconds per thousand agencies, longer than a web request should run.
The publish page checks the regulator's confirmation at once (the same checks the job repeats) and
queues the job; the job's page shows how far it is and links to the batch."""

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace import jobs
from marketplace.auth.models import User
from marketplace.extensions import db
from marketplace.providers import notices

PUBLISH = "notices.publish"


def _publish(job, progress):
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    try:
        batch = notices.publish_batch(
            actor,
            fingerprint=job.params.get("fingerprint"),
            unchanged_intended=bool(job.params.get("unchanged")),
            progress=progress,
        )
    except sa.exc.IntegrityError as exc:  # another batch took the number at the same moment
        raise notices.PublishedMeanwhile() from exc
    return batch.batch_no


def start_publishing(actor, fingerprint, unchanged):
    """Check the regulator's confirmation now (refusals go beside the form), then record the job."""
    notices.check_publishable(fingerprint, unchanged)
    return jobs.start(PUBLISH, actor, {"fingerprint": fingerprint, "unchanged": bool(unchanged)})


jobs.register(
    PUBLISH,
    jobs.Kind(
        label=_l("Publishing a notice batch"),
        run=_publish,
        result_url=lambda batch_no: url_for("notices.detail", batch_no=batch_no),
        result_text=lambda batch_no: _("Batch %(no)s is published.", no=batch_no),
        retry_url=lambda job: url_for("notices.publish"),
        steps={
            "compare": _l("Comparing every agency with the last batch"),
            "pdf": _l("Laying out the PDF's rows"),
            "save": _l("Saving the batch"),
        },
        errors={
            "PreviewOutdated": notices.PreviewOutdated.message,
            "NothingChanged": notices.NothingChanged.message,
            "PublishedMeanwhile": notices.PublishedMeanwhile.message,
            "PermissionDenied": _l("Your account may no longer publish notice batches."),
        },
    ),
)
