"""Sending mail through Flask-Mail. Without ``MAIL_SERVER`` (development, an intranet without a relay)
nothing leaves the machine: the message is written to the log and, when ``MAIL_OUTBOX`` names a
folder (development does: ``instance/outbox``), saved there as an ``.eml`` file any mail program opens,
so a developer (or a browser test) can follow its link."""

import logging
import time
from pathlib import Path

from flask import current_app
from flask_mail import Message

from marketplace.extensions import mail

log = logging.getLogger(__name__)


def send(subject, recipient, body):
    """Send one plain-text message (or log it when no mail server is configured)."""
    message = Message(
        subject=subject, recipients=[recipient], body=body, sender=current_app.config["MAIL_DEFAULT_SENDER"]
    )
    if not current_app.config.get("MAIL_SERVER"):
        log.warning(
            "No MAIL_SERVER configured; this message is not sent:\nTo: %s\nSubject: %s\n\n%s", recipient, subject, body
        )
        outbox = current_app.config.get("MAIL_OUTBOX")
        if outbox:
            folder = Path(outbox)
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{time.time_ns()}-{recipient.replace('/', '_')}.eml"
            (folder / name).write_bytes(message.as_bytes())
    mail.send(message)  # suppressed (but still recorded) without a server, see config.MAIL_SUPPRESS_SEND
