"""``flask --app wsgi inspections verify-draw <id>``: replay a spot-check draw from its published
inputs (population file, quotas, inspector pool, seed) and say whether the sample and inspectors match."""

import sys

import click
from flask.cli import AppGroup

from marketplace.extensions import db
from marketplace.inspections import draws
from marketplace.inspections.models import Draw

inspections_cli = AppGroup("inspections", help="Supervision: campaigns and spot-check draws.")


@inspections_cli.command("verify-draw")
@click.argument("draw_id", type=int)
def verify_draw_command(draw_id):
    """Recompute draw DRAW_ID with nt-draw-1; exit 1 when anything differs from what was published."""
    record = db.session.get(Draw, draw_id) if 0 < draw_id < 2**31 else None
    if record is None:
        raise click.ClickException(f"There is no draw {draw_id}.")
    ok, problems = draws.verify(record)
    click.echo(
        f"Draw {record.id} ({record.algorithm}), population {record.population_size}, SHA-256 {record.population_sha256}"
    )
    if ok:
        click.echo(f"The sample ({len(record.sample)} units) and its inspectors match: the draw replays exactly.")
        return
    for problem in problems:
        click.echo(f"MISMATCH: {problem}", err=True)
    sys.exit(1)
