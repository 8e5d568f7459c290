"""``flask --app wsgi search reindex`` and ``search check``."""

import time

import click
from flask.cli import AppGroup

from marketplace import search

search_cli = AppGroup("search", help="The agencies' search index.")


@search_cli.command("reindex")
def reindex_command():
    """Rebuild the search index from the database, with a progress bar."""
    total = len(search.source().ids())
    started = time.perf_counter()
    with click.progressbar(length=total, label="Indexing agencies") as bar:
        count = search.reindex(progress=bar.update)
    click.echo(f"{count} agencies indexed in {time.perf_counter() - started:.1f} s.")


@search_cli.command("check")
def check_command():
    """Compare the index with the database; rebuild it when it is missing, corrupt, outdated or stale."""
    behind = search.out_of_step() if search.staleness() == "stale" else []
    reason = search.heal()
    if reason == "stale" and behind:
        click.echo(f"The index was stale: {len(behind)} agencies out of step with the database; re-indexed.")
    else:
        click.echo(f"The index was {reason}; rebuilt." if reason else "The index is in step with the database.")
