"""``flask --app wsgi create-user``: make an account of any role from the command line."""

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from marketplace.auth import services
from marketplace.auth.permissions import SYSTEM
from marketplace.auth.roles import Role
from marketplace.common.actors import acting_as
from marketplace.common.transaction import committing
from marketplace.extensions import db
from marketplace.reference.models import County


@click.command("create-user")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", "display_name", required=True, help="The person's or unit's name.")
@click.option("--county", default=None, help="County code or Chinese name (required for county_regulator).")
@click.option("--phone", default=None)
@click.password_option("--password", help="Prompted for (hidden) when not given.")
@with_appcontext
def create_user_command(email, role, display_name, county, phone, password):
    """Create a user account (regulators and admins are made this way or by an admin in the UI)."""
    county_id = None
    if county:
        found = db.session.scalar(sa.select(County).where(sa.or_(County.code == county, County.name_zh == county)))
        if found is None:
            raise click.BadParameter(f"no county with code or name {county!r}", param_hint="--county")
        county_id = found.id
    with acting_as(SYSTEM), committing():
        user = services.create_user(
            SYSTEM,
            email=email,
            password=password,
            display_name=display_name,
            role=role,
            county_id=county_id,
            phone=phone,
        )
    click.echo(f"Created {user.role.value} account {user.email} (id {user.id}).")
