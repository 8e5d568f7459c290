"""Counties and categories cached per process: edits here show at once, edits by another worker
within REFERENCE_CACHE_SECONDS."""

import sqlalchemy as sa

from marketplace.auth.roles import Role
from marketplace.reference import cache
from marketplace.reference.models import County, ServiceCategory
from tests import factories


def test_renaming_a_category_shows_in_the_directory_at_once(client, db, make_user, login_as, search_index):
    factories.publish(make_user(Role.AGENCY), n=501, name="南通缓存测试安全评价有限公司", categories=("se_chemicals",))
    db.session.commit()
    category = factories.category("se_chemicals")
    login_as(make_user(Role.ADMIN))
    response = client.post(
        f"/admin/categories/{category.id}",
        data={
            "code": category.code,
            "parent_id": str(category.parent_id),
            "name_zh": "危险化学品安全评价（新名称）",
            "name_en": category.name_en,
            "sort_order": str(category.sort_order),
            "active": "y",
            "engagement_kind": category.engagement_kind,
        },
    )
    assert response.status_code == 302
    html = client.get("/providers?lang=zh").get_data(as_text=True)
    assert html.count("危险化学品安全评价（新名称）") >= 2  # the filter's option and the agency's badge


def test_an_edit_by_another_worker_shows_after_the_cache_expires(app, db, monkeypatch):
    county = db.session.scalar(sa.select(County).where(County.code == "320613"))
    cache, name = app.extensions["reference"], county.name_zh
    assert cache.get().county_by_id[county.id].name_zh == name
    # another worker's commit: this process's session never sees the object change
    db.session.execute(sa.update(County).where(County.id == county.id).values(name_zh="崇川区（改）"))
    assert cache.get().county_by_id[county.id].name_zh == name
    monkeypatch.setattr(cache, "seconds", 0)
    assert cache.get().county_by_id[county.id].name_zh == "崇川区（改）"


def test_a_reload_that_finds_the_same_data_keeps_the_generation_the_kept_pages_are_dated_by(app, db, monkeypatch):
    """The cache reloads every REFERENCE_CACHE_SECONDS; the pages kept for visitors are keyed on its
    generation, so a reload of unchanged data must not date them all (every half minute, it did)."""
    county = db.session.scalar(sa.select(County).where(County.code == "320613"))
    cache = app.extensions["reference"]
    generation = cache.generation()
    monkeypatch.setattr(cache, "seconds", 0)
    cache.get()
    assert cache.generation() == generation
    db.session.execute(sa.update(County).where(County.id == county.id).values(name_en="Chongchuan (renamed)"))
    assert cache.generation() == generation + 1


def test_the_snapshot_keeps_display_order_and_activity(app, db):
    snapshot = cache.snapshot()
    groups = db.session.scalars(
        sa.select(ServiceCategory)
        .where(ServiceCategory.parent_id.is_(None))
        .order_by(ServiceCategory.sort_order, ServiceCategory.id)
    ).all()
    assert [g.code for g in snapshot.groups] == [g.code for g in groups]
    assert [[c.code for c in g.children] for g in snapshot.groups] == [
        [c.code for c in sorted(g.children, key=lambda c: (c.sort_order, c.id))] for g in groups
    ]
    some = db.session.scalar(sa.select(County).where(County.code == "320682"))
    some.active = False
    db.session.commit()
    assert "320682" not in [c.code for c in cache.snapshot().active_counties()]
    assert "320682" in [c.code for c in cache.snapshot().counties]
