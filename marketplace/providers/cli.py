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


REASONS = {
    "missing_font": "the PDF lacked its embedded font",
    "formula_cells": "the CSV had cells a spreadsheet would run as formulas",
    "requested": "as requested",
}


@notices_cli.command("render-files")
@click.option("--all", "force", is_flag=True, help="Re-render every batch, not only those whose files need it.")
def render_files_command(force):
    """Re-render, from each batch's immutable entries, stored notice files that need it: a PDF without
    an embedded font, a CSV with cells a spreadsheet would run as formulas."""
    with acting_as(SYSTEM), committing():
        done = notices.render_files(force=force)
    if not done:
        click.echo("Every notice PDF embeds its font and no CSV holds a formula; nothing to re-render.")
    for batch, reasons in done:
        why = "; ".join(REASONS[r] for r in reasons)
        click.echo(
            f"Re-rendered the files of {batch.batch_no}: {why} (its SHA-256 {batch.content_sha256} is unchanged)."
        )
