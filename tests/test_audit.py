"""Every state change is recorded; the log can only grow."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from marketplace.auth.roles import Role
from marketplace.common.actors import acting_as
from marketplace.common.audit import MASK, AuditLogIsAppendOnly
from marketplace.common.models import AuditLog
from marketplace.reference.models import County


def entries(db, **filters):
    query = sa.select(AuditLog).order_by(AuditLog.id)
    for key, value in filters.items():
        query = query.where(getattr(AuditLog, key) == value)
    return db.session.scalars(query).all()


def test_a_change_records_who_what_and_the_values(db, make_user):
    admin = make_user(Role.ADMIN)
    county = db.session.scalar(sa.select(County).where(County.code == "320613"))
    with acting_as(admin):
        county.name_en = "Chongchuan"
        db.session.flush()
    entry = entries(db, object_type="County", action="update")[-1]
    assert entry.actor_id == admin.id and entry.actor_label == admin.email
    assert entry.object_id == str(county.id)
    assert entry.changes == {"name_en": ["Chongchuan District", "Chongchuan"]}
    assert entry.created_at is not None


def test_creating_an_account_is_recorded_with_the_password_masked(db, make_user):
    user = make_user(email="new@example.cn")
    entry = entries(db, object_type="User", object_id=str(user.id), action="create")[0]
    assert entry.changes["email"] == [None, "new@example.cn"]
    assert entry.changes["password_hash"] == [None, MASK]


def test_entries_cannot_be_changed_or_deleted_through_the_orm(db, make_user):
    make_user()
    entry = entries(db)[-1]
    entry.action = "forged"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    entry = entries(db)[-1] if entries(db) else None
    if entry is not None:
        db.session.delete(entry)
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.flush()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET action = 'forged'",
        "DELETE FROM audit_log",
    ],
)
def test_the_database_itself_refuses_to_change_entries(db, make_user, statement):
    make_user()
    db.session.flush()
    with pytest.raises(DatabaseError, match="append-only"):
        with db.session.begin_nested():
            db.session.execute(sa.text(statement))


def test_views_record_the_acting_user_and_address(client, db, make_user, login_as):
    admin = make_user(Role.ADMIN)
    login_as(admin)
    county = db.session.scalar(sa.select(County).where(County.code == "320681"))
    response = client.post(
        f"/admin/counties/{county.id}",
        data={"code": "320681", "name_zh": "启东市", "name_en": "Qidong", "sort_order": "50", "active": "y"},
    )
    assert response.status_code == 302
    entry = entries(db, object_type="County", object_id=str(county.id))[-1]
    assert entry.actor_label == admin.email
    assert entry.ip_address == "127.0.0.1"
    assert entry.changes == {"name_en": ["Qidong City", "Qidong"]}


def test_logins_and_logouts_are_recorded(client, db, make_user, login_as):
    user = make_user()
    login_as(user)
    client.post("/auth/logout")
    actions = [e.action for e in entries(db, object_type="User", object_id=str(user.id))]
    assert actions[0] == "create" and "login" in actions and actions[-1] == "logout"


def test_city_regulator_reads_the_log_and_can_filter_it(client, db, make_user, login_as):
    city = make_user(Role.CITY_REGULATOR)
    make_user(email="someone@example.cn")
    login_as(city)
    html = client.get("/admin/audit?type=User&action=create&lang=en").get_data(as_text=True)
    assert "someone@example.cn" in html
    html = client.get("/admin/audit?type=County&lang=en").get_data(as_text=True)
    assert "someone@example.cn" not in html
    assert client.get("/admin/audit?page=abc").status_code == 200
    assert client.get("/admin/audit?page=99999").status_code == 200


def test_logging_in_is_one_login_entry_not_a_field_change(client, db, make_user, login_as):
    user = make_user()
    login_as(user)
    actions = [e.action for e in entries(db, object_type="User", object_id=str(user.id))]
    assert actions == ["create", "login"]


def test_the_log_reads_in_the_users_language_with_names_and_local_time(client, db, make_user, login_as):
    """The log showed raw model and field names in Chinese mode, UTC times and "Provider #40"."""
    from datetime import datetime, timezone

    from marketplace.providers import services as providers
    from tests import factories

    agency = make_user(Role.AGENCY)
    provider, _ = factories.publish(agency, n=90, name="南通江海安全评价有限公司")
    providers.suspend(make_user(Role.CITY_REGULATOR), provider, "报告数据失实，暂停整改")
    db.session.add(
        AuditLog(
            created_at=datetime(2026, 1, 1, 0, 30, tzinfo=timezone.utc),
            action="update",
            object_type="Provider",
            object_id=str(provider.id),
            changes={"county_id": [factories.county("320613").id, factories.county("320612").id]},
        )
    )
    db.session.commit()
    login_as(make_user(Role.CITY_REGULATOR))
    html = client.get(f"/admin/audit?type=Provider&id={provider.id}&lang=zh").get_data(as_text=True)
    table = html[html.index('id="audit-table"') :]
    assert "南通江海安全评价有限公司" in table and f"Provider #{provider.id}" not in table
    assert "机构" in table and "已暂停" in table and "法定代表人" in table
    for raw in ("legal_representative", "status_reason", "Provider", "suspended", "county_id"):
        assert raw not in table.replace("type=Provider", ""), raw
    assert "2026-01-01 08:30:00" in table  # midnight-thirty UTC is half past eight in Nantong
    assert "崇川区 → 通州区" in table  # a county by its name, not its number
    english = client.get(f"/admin/audit?type=Provider&id={provider.id}&lang=en").get_data(as_text=True)
    assert "Agency" in english and "Suspended" in english and "Legal representative" in english
