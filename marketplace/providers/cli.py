"""``flask --app wsgi notices publish``: publish the next notice batch from the command line."""

import click
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError

from marketplace.auth.permissions import SYSTEM
from marketplace.common.audit import acting_as
from marketplace.extensions import db
from marketplace.providers import notices

notices_cli = AppGroup("notices", help="Notice batches (公示名单).")


@notices_cli.command("publish")
def publish_command():
    """Publish the next notice batch of all published agencies, with its PDF and CSV."""
    with acting_as(SYSTEM):
        batch = notices.publish_batch(SYSTEM)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise click.ClickException("another batch was published at the same moment; nothing was published") from None
    click.echo(f"Published {batch.batch_no}: {batch.total} agencies "
               f"(+{batch.added} added, {batch.changed} changed, {batch.withdrawn} withdrawn), "
               f"SHA-256 {batch.content_sha256}")
