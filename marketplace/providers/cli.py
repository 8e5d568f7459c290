"""``flask --app wsgi notices publish``: publish the next notice batch from the command line."""

import click
from flask.cli import AppGroup

from marketplace.auth.permissions import SYSTEM
from marketplace.common.actors import acting_as
from marketplace.common.transaction import committing
from marketplace.providers import notices

notices_cli = AppGroup("notices", help="Notice batches (公示名单).")


@notices_cli.command("publish")
@click.option("--unchanged", is_flag=True, help="Publish even when nothing changed since the last batch.")
def publish_command(unchanged):
    """Publish the next notice batch of all published agencies, with its PDF and CSV."""
    with acting_as(SYSTEM), committing(conflict=notices.PublishedMeanwhile):
        batch = notices.publish_batch(SYSTEM, unchanged_intended=unchanged)
    click.echo(
        f"Published {batch.batch_no}: {batch.total} agencies "
        f"(+{batch.added} added, {batch.changed} changed, {batch.withdrawn} withdrawn), "
        f"SHA-256 {batch.content_sha256}"
    )


@notices_cli.command("render-pdfs")
@click.option("--all", "force", is_flag=True, help="Re-render every batch, not only those without an embedded font.")
def render_pdfs_command(force):
    """Re-render stored notice PDFs that lack an embedded font, from each batch's immutable entries."""
    with acting_as(SYSTEM), committing():
        done = notices.render_missing_fonts(force=force)
    if not done:
        click.echo("Every notice PDF embeds its font; nothing to re-render.")
    for batch in done:
        click.echo(f"Re-rendered the PDF of {batch.batch_no} (its SHA-256 {batch.content_sha256} is unchanged).")
