"""App-wide commands: ``flask --app wsgi seed-demo``, idempotent demo data for trying the system out.

Each domain's seeder must be safe to run again (it finds what exists before it creates).
"""

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from marketplace.auth import services as auth_services
from marketplace.auth.demo import DEMO_DOMAIN, DEMO_PASSWORD, demo_password_hash
from marketplace.auth.models import User
from marketplace.auth.permissions import SYSTEM
from marketplace.auth.roles import Role
from marketplace.common.actors import acting_as
from marketplace.common.transaction import committing
from marketplace.engagements.seed import seed_engagements
from marketplace.extensions import db
from marketplace.inspections.seed import seed_inspections
from marketplace.providers.seed import seed_providers
from marketplace.reference.models import County

# (e-mail local part, role, name, county code, phone)
DEMO_ACCOUNTS = [
    ("admin", Role.ADMIN, "系统管理员", None, "0513-85098001"),
    ("city", Role.CITY_REGULATOR, "市应急管理局 陈建国", None, "0513-85098002"),
    ("chongchuan", Role.COUNTY_REGULATOR, "崇川区应急管理局 顾晓明", "320613", "0513-85051230"),
    ("tongzhou", Role.COUNTY_REGULATOR, "通州区应急管理局 陆海燕", "320612", "0513-86512340"),
    ("haimen", Role.COUNTY_REGULATOR, "海门区应急管理局 施卫东", "320614", "0513-82213450"),
    ("rugao", Role.COUNTY_REGULATOR, "如皋市应急管理局 冒志刚", "320682", "0513-87654320"),
    ("qidong", Role.COUNTY_REGULATOR, "启东市应急管理局 黄丽娟", "320681", "0513-83312450"),
    ("haian", Role.COUNTY_REGULATOR, "海安市应急管理局 仲建华", "320685", "0513-88812340"),
    ("rudong", Role.COUNTY_REGULATOR, "如东县应急管理局 缪晓燕", "320623", "0513-84512300"),
    ("etdz", Role.COUNTY_REGULATOR, "南通经济技术开发区安监局 范志强", "320671", "0513-85921200"),
    ("agency1", Role.AGENCY, "张伟", "320613", "13806281234"),
    ("agency2", Role.AGENCY, "王芳", "320682", "13951302345"),
    ("agency3", Role.AGENCY, "季海军", "320681", "13773623456"),
    ("enterprise1", Role.ENTERPRISE, "刘洋", "320612", "13601484567"),
    ("enterprise2", Role.ENTERPRISE, "曹静", "320623", "13862885678"),
    ("enterprise3", Role.ENTERPRISE, "邱磊", "320685", "13515136789"),
]

SEEDERS = (seed_providers, seed_engagements, seed_inspections)  # after the accounts, in this order


def seed_accounts():
    """Demo accounts for every role; returns the accounts it created."""
    counties = {c.code: c for c in db.session.scalars(sa.select(County))}
    shared_hash = demo_password_hash()
    created = []
    for local, role, name, county_code, phone in DEMO_ACCOUNTS:
        email = f"{local}@{DEMO_DOMAIN}"
        user = auth_services.get_user_by_email(email)
        if user is None:
            county = counties.get(county_code)
            user = auth_services.create_user(
                SYSTEM,
                email=email,
                password=DEMO_PASSWORD,
                display_name=name,
                role=role,
                county_id=county.id if county else None,
                phone=phone,
                password_hash=shared_hash,
            )
            created.append(user)
    return created


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when any account already exists.")
@with_appcontext
def seed_demo_command(if_empty):
    """Create realistic demo data (safe to run again: existing records are kept)."""
    if if_empty and db.session.scalar(sa.select(sa.func.count(User.id))):
        click.echo("The database already has accounts; demo data not added.")
        return
    with acting_as(SYSTEM), committing():
        created = seed_accounts()
        for seeder in SEEDERS:
            seeder()
    click.echo(f"Demo data ready ({len(created)} new accounts). Every demo login uses the password {DEMO_PASSWORD}:")
    for local, role, name, _county, _phone in DEMO_ACCOUNTS:
        click.echo(f"  {role.value:<17} {local + '@' + DEMO_DOMAIN:<32} {name}")
