"""factory_boy factories; objects are flushed into the per-test transaction."""

import factory
import pytest
import sqlalchemy as sa
from factory.alchemy import SQLAlchemyModelFactory

from marketplace.auth.models import User
from marketplace.auth.passwords import hash_password
from marketplace.auth.roles import Role
from marketplace.common.models import County
from marketplace.extensions import db


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


def county(code="320613"):
    """A county loaded by the first migration (崇川区 by default)."""
    return db.session.scalar(sa.select(County).where(County.code == code))


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.cn")
    password_hash = factory.LazyFunction(lambda: hash_password("Safe-Passw0rd-2026"))
    display_name = factory.Sequence(lambda n: f"测试用户{n}")
    role = Role.AGENCY
    active = True

    class Params:
        county_code = None

    @factory.lazy_attribute
    def county_id(self):
        if self.county_code:
            return county(self.county_code).id
        if self.role is Role.COUNTY_REGULATOR:
            return county().id
        return None


@pytest.fixture()
def make_user(db):
    def make(role=Role.AGENCY, **kwargs):
        return UserFactory(role=Role(role), **kwargs)

    return make


@pytest.fixture()
def users(make_user):
    """One account of every role (the county regulator is bound to 崇川区)."""
    return {role.value: make_user(role) for role in Role}
