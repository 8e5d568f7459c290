"""``flask --app wsgi audit verify``: walk the hash chain (common.chain) and name the first entry
that does not fit."""

import re
import sys

import click
from flask.cli import AppGroup

from marketplace.common import chain
from marketplace.common.transaction import committing

audit_cli = AppGroup("audit", help="The audit log and the hash chain over every record that must not change.")
HEAD = re.compile(r"(\d+):([0-9a-f]{64})")


@audit_cli.command("verify")
@click.option(
    "--head",
    "heads",
    multiple=True,
    metavar="SEQ:SHA256",
    help="A chain head printed on a notice batch someone kept (repeatable): the chain must still hold it.",
)
def verify_command(heads):
    """Walk the chain and every chained record; exit 1 and name the first entry that does not fit."""
    published = []
    for text in heads:
        match = HEAD.fullmatch(text.strip().lower())
        if not match:
            raise click.BadParameter(f"{text!r}: write it as SEQ:SHA256, as printed on the batch", param_hint="--head")
        published.append((int(match.group(1)), match.group(2)))
    result = chain.verify(published=published)
    with committing():
        chain.record_check(result)
    seq, digest = result.head
    if result.ok:
        click.echo(f"The chain is intact: {result.entries} entries, head {seq}:{digest}.")
        return
    click.echo(f"The chain does not fit: {len(result.problems)} problem(s). The first: {result.first}", err=True)
    for problem in sorted(result.problems, key=lambda p: (p.seq is None, p.seq or 0))[1:20]:
        click.echo(f"  also {problem}", err=True)
    sys.exit(1)
