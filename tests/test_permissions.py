"""Route × role → expected status. Every route the app serves must appear here: later issues
extend ROUTES with theirs, and ``test_every_route_is_in_the_table`` fails until they do."""

import pytest

from tests.conftest import PASSWORD

ROLES = ["anonymous", "agency", "enterprise", "county_regulator", "city_regulator", "admin"]
LOGIN = "login"  # anonymous users are sent to the login page

# (method, path, {role: status}); roles not named get `default`.
ROUTES = [
    ("GET", "/", {}, 200),
    ("GET", "/healthz", {}, 200),
    ("GET", "/auth/login", {"anonymous": 200}, 302),
    ("POST", "/auth/login", {"anonymous": 200}, 302),  # an empty form comes back with its errors
    ("GET", "/auth/register", {"anonymous": 200}, 302),
    ("POST", "/auth/register", {"anonymous": 200}, 302),
    ("POST", "/auth/logout", {}, 302),
    ("GET", "/auth/account", {"anonymous": LOGIN}, 200),
    ("GET", "/auth/password", {"anonymous": LOGIN}, 200),
    ("POST", "/auth/password", {"anonymous": LOGIN}, 200),
    ("GET", "/admin/users", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/admin/users/new", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/admin/users/new", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/admin/users/{other_user}/active", {"anonymous": LOGIN, "admin": 302}, 403),
    ("GET", "/admin/reference", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/admin/counties/new", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/admin/counties/new", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/admin/counties/{county}", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/admin/counties/{county}", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/admin/categories/new", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/admin/categories/new", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/admin/categories/{category}", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/admin/categories/{category}", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/admin/audit", {"anonymous": LOGIN, "admin": 200, "city_regulator": 200}, 403),
]

CASES = [
    pytest.param(method, path, role, expected.get(role, default), id=f"{method} {path} as {role}")
    for method, path, expected, default in ROUTES
    for role in ROLES
]


@pytest.mark.parametrize("method, path, role, expected", CASES)
def test_route_permissions(client, users, make_user, method, path, role, expected):
    from tests.factories import county
    from marketplace.common.models import ServiceCategory
    from marketplace.extensions import db
    import sqlalchemy as sa

    other = make_user("agency", email="other-agency@example.cn")
    category = db.session.scalar(sa.select(ServiceCategory.id).where(ServiceCategory.code == "consulting"))
    url = path.format(other_user=other.id, county=county().id, category=category)
    if role != "anonymous":
        client.post("/auth/login", data={"email": users[role].email, "password": PASSWORD})
    data = {"active": "0", "sort_order": "x"} if method == "POST" else None
    response = client.open(url, method=method, data=data)
    if expected == LOGIN:
        assert response.status_code == 302
        assert "/auth/login" in response.headers["Location"]
    else:
        assert response.status_code == expected


def test_every_route_is_in_the_table(app):
    covered = {(method, path.split("{")[0]) for method, path, _, _ in ROUTES}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "bootstrap.static"):
            continue
        prefix = rule.rule.split("<")[0]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (method, prefix) not in covered:
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"routes without a permission row: {missing}"


def test_county_regulator_jurisdiction_is_its_own_county(users):
    from marketplace.auth import permissions
    from tests.factories import county

    regulator = users["county_regulator"]
    assert permissions.in_jurisdiction(regulator, county("320613").id)
    assert not permissions.in_jurisdiction(regulator, county("320612").id)
    assert not permissions.in_jurisdiction(regulator, None)
    assert permissions.in_jurisdiction(users["city_regulator"], county("320612").id)
    assert not permissions.in_jurisdiction(users["agency"], county("320613").id)
