"""Admins manage pledge texts: drafts can change, issued versions never do."""

import sqlalchemy as sa

from marketplace.auth.roles import Role
from marketplace.pledges import services as pledges
from marketplace.pledges.models import PledgeText
from tests.conftest import field_error


def test_default_pledge_is_seeded_in_chinese_and_english(db):
    text = pledges.current_text()
    assert text.version == 1 and text.title_zh == "安全生产第三方服务机构诚信承诺书"
    assert len(text.clauses) == 8 and all(c["zh"] and c["en"] for c in text.clauses)


def test_admin_prepares_and_issues_a_new_version(client, db, make_user, login_as):
    login_as(make_user(Role.ADMIN))
    form = client.get("/pledges/texts/new").get_data(as_text=True)
    assert "安全生产第三方服务机构诚信承诺书" in form  # starts from the version in force
    current = pledges.current_text()
    zh = "\n".join(c["zh"] for c in current.clauses) + "\n本机构按时报送服务项目信息。"
    en = "\n".join(c["en"] for c in current.clauses) + "\nWe report our projects on time."
    response = client.post(
        "/pledges/texts/new",
        data={"title_zh": current.title_zh, "title_en": current.title_en, "clauses_zh": zh, "clauses_en": en},
    )
    assert response.status_code == 302
    draft = pledges.draft_text()
    assert draft.version == 2 and len(draft.clauses) == 9
    assert pledges.current_text().version == 1  # a draft is not in force

    client.post(f"/pledges/texts/{draft.id}/issue")
    db.session.expire_all()
    assert pledges.current_text().version == 2

    # issued: the edit form makes a new draft instead of changing version 2
    client.post(
        f"/pledges/texts/{draft.id}/edit",
        data={"title_zh": "改", "title_en": "x", "clauses_zh": "一", "clauses_en": "one"},
    )
    db.session.expire_all()
    assert db.session.get(PledgeText, draft.id).title_zh == current.title_zh
    assert pledges.draft_text().version == 3


def test_clause_counts_must_match(client, db, make_user, login_as):
    login_as(make_user(Role.ADMIN))
    html = client.post(
        "/pledges/texts/new?lang=en",
        data={"title_zh": "标题", "title_en": "Title", "clauses_zh": "一\n二", "clauses_en": "one"},
    ).get_data(as_text=True)
    assert "one English line for every Chinese clause" in field_error(html, "clauses_en")
    assert db.session.scalar(sa.select(sa.func.count(PledgeText.id))) == 1


def test_unknown_verification_code_is_reported_as_not_genuine(client):
    response = client.get("/pledges/verify/ABCD-EFGH-JKLM?lang=en")
    assert response.status_code == 404
    assert "not genuine" in response.get_data(as_text=True)
    assert client.get("/pledges/verify?code=abcd efgh").status_code == 302
