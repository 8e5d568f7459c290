"""Chinese full-text search over agencies: analysis, pinyin, facets, sync with commits, healing.

Every test runs on each backend (the database's own full-text search and Whoosh), except those marked
with the backends they are about: healing a Whoosh index that fell behind, a database index that cannot."""

import logging
import re
import shutil

import pytest
import sqlalchemy as sa

from marketplace import search
from marketplace.auth.roles import Role
from marketplace.providers import services
from marketplace.providers.models import Provider, provider_categories
from marketplace.search import SearchQuery
from tests import factories
from tests.conftest import building

BACKENDS = ("database", "whoosh")


def pytest_generate_tests(metafunc):
    if "engine" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        metafunc.parametrize("engine", marker.args if marker else BACKENDS, indirect=True, scope="module")


@pytest.fixture(scope="module", autouse=True)
def engine(request, app):
    """The backend under test, in place of the app's own for the module's tests that ask for it."""
    previous = app.extensions["search"]
    app.extensions["search"] = search.make_backend(app, request.param)
    yield request.param
    app.extensions["search"] = previous


whoosh_only = pytest.mark.backends("whoosh")
database_only = pytest.mark.backends("database")


def ids(result):
    return [hit.provider_id for hit in result.hits]


def find(text="", **kwargs):
    return search.backend().search(SearchQuery(text=text, **kwargs))


@pytest.fixture(scope="module")
def catalogue(app, module_db):
    """Four listed agencies, built once for the module: {n: id}."""
    specs = [
        (1, "南通安泰安全评价有限公司", ("se_chemicals",), ("320613",), "专业从事危险化学品企业安全评价。"),
        (2, "如皋华信检测技术有限公司", ("it_chemicals",), ("320682",), "危化品储存场所检测检验，安全评价配合服务。"),
        (
            3,
            "海门众安应急管理咨询有限公司",
            ("emergency_plans", "training"),
            ("320614", "320613"),
            "应急预案编制、演练评估与安全培训。",
        ),
        (4, "启东明德职业卫生技术服务有限公司", ("occupational_health",), ("320681",), "职业病危害因素检测。"),
    ]
    with building(app):
        made = {}
        for n, name, categories, regions, description in specs:
            user = factories.UserFactory(role=Role.AGENCY, email=f"search-{n}@example.cn")
            provider, _ = factories.publish(
                user, n=300 + n, name=name, categories=categories, regions=regions, description=description
            )
            made[n] = provider.id
    return made


@pytest.fixture()
def agencies(catalogue, db):
    """The four agencies, and an index built from the database as it stands for this test (the
    index is a folder: what an earlier test wrote there is not rolled back with the database)."""
    search.reindex()
    return {n: db.session.get(Provider, provider_id) for n, provider_id in catalogue.items()}


def test_chinese_queries_find_the_expected_agencies(agencies):
    assert set(ids(find("安全评价"))) >= {agencies[1].id}
    assert ids(find("危化 检测")) == [agencies[2].id]
    assert ids(find("应急预案")) == [agencies[3].id]


def test_name_matches_rank_above_description_matches(agencies):
    # 安全评价 is in agency 1's name and only in agency 2's description
    assert ids(find("安全评价"))[:2] == [agencies[1].id, agencies[2].id]


@pytest.mark.parametrize("text", ["nantong anquan", "ntaq", "南通 安全", "NanTong AnQuan", "nantonganquan"])
def test_pinyin_and_initials_find_the_agency(agencies, text):
    assert agencies[1].id in ids(find(text))


def test_filters_and_facets_agree_with_the_database(agencies, db):
    consulting_group = factories.category("emergency_plans").parent_id
    result = find(category_id=consulting_group)
    assert set(ids(result)) == {agencies[3].id, agencies[4].id}
    chongchuan = factories.county("320613").id
    result = find(county_id=chongchuan)
    assert set(ids(result)) == {agencies[1].id, agencies[3].id}
    everything = find()
    assert everything.total == 4
    per_category = dict(
        db.session.execute(
            sa.select(provider_categories.c.category_id, sa.func.count()).group_by(provider_categories.c.category_id)
        ).all()
    )
    for category_id, count in per_category.items():
        assert everything.facets["category"][category_id] == count
    assert everything.facets["county"][chongchuan] == 2
    combined = find("安全", county_id=chongchuan)
    assert set(ids(combined)) <= {agencies[1].id, agencies[3].id}


def test_withdrawn_or_suspended_agencies_leave_the_results_after_commit(agencies, db, make_user):
    provider = agencies[1]
    services.withdraw(provider.account, provider)
    assert agencies[1].id in ids(find("安泰"))  # not before the commit
    db.session.commit()
    assert agencies[1].id not in ids(find("安泰"))
    services.suspend(make_user(Role.CITY_REGULATOR), agencies[2], "暂停整改")
    db.session.commit()
    assert agencies[2].id in ids(find("华信"))  # suspended agencies stay listed, marked on the page


def test_a_rolled_back_change_never_reaches_the_index(agencies, db):
    provider = agencies[4]
    services.withdraw(provider.account, provider)
    db.session.rollback()
    assert agencies[4].id in ids(find("明德"))


@whoosh_only
def test_deleting_the_index_heals_from_the_database(agencies, app):
    shutil.rmtree(search.backend().path)
    search.backend().close()
    assert search.staleness() == "missing"
    assert search.heal() == "missing"
    assert ids(find("众安")) == [agencies[3].id]


@whoosh_only
def test_a_corrupt_index_heals(agencies, app):
    import glob

    search.backend().close()
    for path in glob.glob(search.backend().path + "/*"):
        with open(path, "wb") as f:
            f.write(b"garbage")
    assert search.staleness() == "corrupt"
    search.heal()
    assert ids(find("明德")) == [agencies[4].id]


def test_an_index_built_by_an_earlier_analysis_is_rebuilt(agencies, app, engine, db):
    import os

    if engine == "whoosh":
        marker = os.path.join(search.backend().path, "marketplace-format")
        with open(marker, "w", encoding="utf-8") as handle:
            handle.write("an-older-format")
    else:
        db.session.execute(sa.text("UPDATE search_settings SET value = 'an-older-format' WHERE name = 'format'"))
    assert search.staleness() == "outdated"
    assert search.heal() == "outdated"
    assert search.staleness() is None
    assert ids(find("明德")) == [agencies[4].id]


def test_a_word_inside_a_category_name_still_finds_it(agencies):
    # 职业卫生技术服务 is one dictionary word; the four-character 职业卫生 inside it is indexed too
    assert ids(find("职业卫生")) == [agencies[4].id]
    assert ids(find("职业卫生技术服务")) == [agencies[4].id]
    assert ids(find("应急预案编制")) == [agencies[3].id]


def test_a_dictionary_word_the_index_has_not_seen_is_found_by_its_parts(agencies, monkeypatch):
    # An index built before 职业卫生技术服务 joined the dictionary holds only its parts.
    import importlib

    module = importlib.import_module("marketplace.search.querying")
    covering = module._covering_words
    monkeypatch.setattr(
        module,
        "_covering_words",
        lambda text, tokens, lexicon: covering(text, tokens, _Without(lexicon, "职业卫生技术服务")),
    )
    assert ids(find("职业卫生技术服务")) == [agencies[4].id]
    assert ids(find("职业卫生飞船")) == []  # a word no agency uses still finds nothing


class _Without:
    def __init__(self, lexicon, word):
        self.lexicon, self.word = lexicon, word

    def __contains__(self, key):
        return key[1] != self.word and key in self.lexicon


@whoosh_only
def test_an_agency_committed_while_the_index_was_unavailable_is_found_after_the_heal(
    agencies, db, make_user, monkeypatch
):
    def broken(*args, **kwargs):
        raise OSError("index unavailable")

    monkeypatch.setattr(search.backend(), "index", broken)
    provider, _ = factories.publish(make_user(Role.AGENCY), n=399, name="南通博安安全科技有限公司")
    db.session.commit()  # the commit stands although the index could not be written
    monkeypatch.undo()
    assert ids(find("博安")) == []
    assert search.staleness() == "stale"
    search.heal()
    assert ids(find("博安")) == [provider.id]


@pytest.mark.parametrize(
    "text",
    [
        "name:(",
        "*",
        "安全" * 500,
        "\x00\x07控制",
        "AND OR NOT",
        "安全 AND (",
        "ñandú 南通 مرحبا",
        "'; DROP TABLE providers; --",
        "???",
        "   ",
    ],
)
def test_hostile_queries_give_results_or_none_never_an_error(agencies, text):
    result = find(text)
    assert result.total >= 0


def test_did_you_mean(agencies):
    result = find("nantomg")
    assert result.total == 0 and result.suggestion == "nantong"
    assert find(result.suggestion).total > 0


@database_only
def test_the_spelling_corrector_is_kept_while_the_names_words_are_and_learns_new_ones(
    agencies, db, make_user, monkeypatch
):
    """The corrector over every name's pinyin was built again after each edit of any agency (50-60 ms at
    50,000 agencies for the next misspelt query); it is kept until a name brings in or drops a word."""
    from marketplace.search import database

    monkeypatch.setattr(database, "RELOAD_SHARE", 1.0)  # a few agencies here: each change read as one
    assert find("nantomg").suggestion == "nantong"
    correctors = search.backend()._fresh().correctors
    assert "name_py" in correctors
    agency = agencies[1]
    factories.redeclare(agency.account, agency, description="只改了介绍。")
    db.session.commit()
    assert search.backend()._fresh().correctors.get("name_py") is correctors["name_py"]  # the same one
    factories.publish(make_user(Role.AGENCY), n=497, name="南通鑫淼安全咨询有限公司")  # 鑫淼: xin miao, new words
    db.session.commit()
    assert "name_py" not in search.backend()._fresh().correctors
    assert find("nantong xinmaio").suggestion == "nantong xinmiao"


@database_only
@pytest.mark.parametrize("patched", [100, 1])  # the words' bit sets set bit by bit, or dropped past one change
def test_a_state_changed_edit_by_edit_answers_as_one_read_afresh(agencies, db, make_user, monkeypatch, patched):
    """A refresh changes only what an edit changed (a word's documents, a facet's bits, an order's place);
    whatever the edits, every search answers as a state read whole from the index would."""
    from marketplace.search import database

    monkeypatch.setattr(database, "PATCHED_CHANGES", patched)

    monkeypatch.setattr(database, "RELOAD_SHARE", 10.0)  # a few agencies here: each change read as one
    monkeypatch.setattr(database, "SCORED_MATCHES", 1)  # ranked by bit sets: names' words' sets kept across
    queries = [
        SearchQuery(text=text, category_id=category, county_id=county, sort=sort, page=page, per_page=2)
        for text in ("", "安全", "nantong", "检测 如皋", SENTENCE)
        for category, county in (
            (None, None),
            (factories.category("se_chemicals").id, None),
            (None, factories.county("320682").id),
        )
        for sort in ("relevance", "newest", "rating")
        for page in (1, 2)
    ]

    def answers():
        search.backend().forget_answers()  # searched, not read from the answers kept
        return [(ids(r), r.total, r.facets) for r in (search.backend().search(q) for q in queries)]

    answers()  # the state is built (and its text words' bit sets); the edits below are applied to it one by one
    first, second = agencies[1], agencies[2]
    fourth = agencies[4]  # 检测 out of its text, 安全 and 应急预案 in
    factories.redeclare(fourth.account, fourth, description="职业卫生评价，安全培训与应急预案编制。")
    db.session.commit()
    services.save_declaration(  # a new name, other categories and counties
        first.account,
        first,
        category_ids=[factories.category("it_chemicals").id],
        region_ids=[factories.county("320682").id],
        **factories.declaration_values(first, name="如皋鑫淼检测技术有限公司"),
    )
    db.session.commit()
    second.rating_count, second.rating_total = 3, 14  # a rating moves it in the rating order
    from marketplace.providers import indexing

    indexing.mark_changed([second.id])
    db.session.commit()
    services.withdraw(agencies[3].account, agencies[3])
    db.session.commit()
    factories.publish(make_user(Role.AGENCY), n=498, name="南通新来安全检测有限公司", regions=("320682",))
    db.session.commit()
    edited = answers()
    search.forget()  # the same index, read whole
    assert edited == answers()


def test_the_kept_orders_sort_as_newest_first_and_best_rated_first_with_the_id_breaking_ties():
    """A kept order's key is one int (a tuple of three numbers per document was a third of the state's
    memory): it sorts exactly as (rating, publication time, id), each descending."""
    import random
    from types import SimpleNamespace

    from marketplace.search.database import _key_id, _sort_key

    rng = random.Random(12)
    docs = {
        doc_id: SimpleNamespace(
            published=rng.choice([0, 1_700_000_000, 1_800_000_000, 2**40]), rating=rng.choice([0, 250, 499, 500])
        )
        for doc_id in rng.sample(range(1, 2**31), 400)
    }
    for column, expected in (
        ("published", lambda d: (-docs[d].published, -d)),
        ("rating", lambda d: (-docs[d].rating, -docs[d].published, -d)),
    ):
        keys = sorted(_sort_key(column, doc_id, doc) for doc_id, doc in docs.items())
        assert [_key_id(key) for key in keys] == sorted(docs, key=expected)


def test_a_misspelt_word_on_an_empty_register_finds_nothing_without_an_error(search_index, db):
    """Before any agency had a name in pinyin, the spelling corrector over no words raised an IndexError
    (the directory fell back to the database and logged an error)."""
    result = find("nantomg")
    assert result.total == 0 and result.suggestion is None


def test_did_you_mean_keeps_the_chinese_words_typed(agencies):
    """`崇川 tongzou` suggested "tongzhou" alone: the Chinese word was dropped."""
    result = find("安全评价 nantomg")
    assert result.total == 0 and result.suggestion == "安全评价 nantong"
    assert find(result.suggestion).total > 0


@pytest.mark.parametrize(
    "text",
    ["xyzzy", "qwrtp zzxv", "nantomg xyzzy", "zzzzzzzzzz", "or", "NOT", "of", "' OR 1=1--", "a* OR b", "安全 the"],
)
def test_nonsense_gets_no_suggestion(agencies, text):
    """`xyzzy` suggested "xyzzy si": a suggestion is offered only when it finds something."""
    result = find(text)
    assert result.total == 0 and result.suggestion is None


def test_sorting_and_paging(agencies):
    newest = find(sort="newest")
    assert newest.total == 4 and len(ids(newest)) == 4
    page = find(per_page=3, page=2)
    assert page.total == 4 and len(page.hits) == 1 and page.pages == 2


def test_health_reports_the_index(client, agencies):
    body = client.get("/healthz").get_json()
    assert body["checks"]["search"]["ok"] is True and body["checks"]["search"]["documents"] == 4


def test_reindex_command(runner, agencies):
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "4 agencies indexed" in result.output


def test_the_directory_page_searches_with_facets_highlights_and_suggestions(client, agencies):
    html = client.get("/providers?q=安全评价&lang=en").get_data(as_text=True)
    assert "<mark" in html and "2 agencies found" in html
    chongchuan = factories.county("320613").id
    html = client.get(f"/providers?q=&county={chongchuan}&lang=en").get_data(as_text=True)
    assert "2 agencies found" in html
    assert f'<option value="{chongchuan}" selected>Chongchuan District (2)</option>' in html  # facet count
    html = client.get("/providers?q=nantomg&lang=en").get_data(as_text=True)
    assert "Did you mean" in html and "q=nantong" in html
    html = client.get("/providers?q=name:(&lang=en").get_data(as_text=True)
    assert "0 agencies found" in html


def test_a_description_snippet_marks_the_words_found_and_shows_no_tags(client, agencies):
    """The database backend's snippets came out escaped twice: the page showed "精细<mark>化工</mark>" as
    text instead of marking the word."""
    html = client.get("/providers?q=危险化学品&lang=en").get_data(as_text=True)
    snippets = re.findall(r'class="[^"]*search-snippet[^"]*">(.*?)</p>', html)
    assert snippets and all("<mark" in s and "&lt;mark" not in s for s in snippets)
    assert any(re.search(r"<mark[^>]*>危险化学品</mark>", s) for s in snippets)


def test_highlights_never_carry_markup_from_declarations(client, search_index, make_user, db):
    factories.publish(
        make_user(Role.AGENCY),
        n=390,
        name="南通<b>坏</b>安全科技有限公司",
        description="<script>alert(1)</script> 安全评价",
    )
    db.session.commit()
    html = client.get("/providers?q=安全评价").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "<b>坏</b>" not in html


def test_the_directory_falls_back_to_the_database_when_the_index_fails(client, agencies, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("index unavailable")

    monkeypatch.setattr(search.backend(), "search", broken)
    html = client.get("/providers?q=明德&lang=en").get_data(as_text=True)
    assert "1 agencies found" in html and "启东明德职业卫生技术服务有限公司" in html


@database_only
def test_the_directory_falls_back_to_the_database_after_a_failed_statement_too(client, agencies, monkeypatch):
    """A database index's failed statement left PostgreSQL's transaction aborted, and the fallback's own
    query failed with it (a 500)."""
    from marketplace.extensions import db as database
    from marketplace.search import database as backend_module

    def broken(*args, **kwargs):
        database.session.execute(sa.text("SELECT no_such_column FROM providers"))

    monkeypatch.setattr(backend_module, "_matches", broken)  # the search's own statement fails
    html = client.get("/providers?q=明德&lang=en").get_data(as_text=True)
    assert "1 agencies found" in html and "启东明德职业卫生技术服务有限公司" in html


@database_only
def test_a_search_discourages_sequential_scans_for_its_own_statements_only(agencies, db, monkeypatch):
    """On PostgreSQL a search turns sequential scans off for its text statements (the planner read every row's
    vector for a common word: 31 ms against the index's 5); the rest of the request plans as before,
    after a search and after one that failed."""
    from marketplace.search import database as backend_module

    if db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL planner setting")
    seen = []
    matches = backend_module._matches

    def watching(*args):
        seen.append(db.session.scalar(sa.text("SHOW enable_seqscan")))
        return matches(*args)

    monkeypatch.setattr(backend_module, "_matches", watching)
    assert ids(find("安全评价")) and seen == ["off"]
    assert db.session.scalar(sa.text("SHOW enable_seqscan")) == "on"

    def broken(*args):
        db.session.execute(sa.text("SELECT no_such_column FROM providers"))

    monkeypatch.setattr(backend_module, "_matches", broken)
    search.backend().forget_answers()  # searched again, not answered from the kept answer
    with pytest.raises(sa.exc.ProgrammingError):
        find("安全评价")
    assert db.session.scalar(sa.text("SHOW enable_seqscan")) == "on"


def test_compare_puts_two_to_four_agencies_side_by_side(client, agencies):
    query = "&".join(f"ids={agencies[n].id}" for n in (1, 2, 3))
    html = client.get(f"/providers/compare?{query}&lang=en").get_data(as_text=True)
    assert all(agencies[n].name in html for n in (1, 2, 3)) and "Fee schedule" in html
    assert client.get(f"/providers/compare?ids={agencies[1].id}").status_code == 302  # one is not a comparison
    assert client.get("/providers/compare?ids=x&ids=99999999999").status_code == 302


def _ticked(html):
    return {int(n) for n in re.findall(r'name="ids" value="(\d+)" id="compare-\d+" checked', html)}


@pytest.mark.parametrize(
    "count, message",
    [
        (1, "Tick at least two agencies to compare (you ticked 1)"),
        (5, "Compare at most four agencies at once (you ticked 5)"),
    ],
)
def test_comparing_one_or_five_keeps_the_ticks_and_says_why(client, agencies, make_user, db, count, message):
    """Compare with one or five agencies went back to an empty directory, every tick lost."""
    fifth, _ = factories.publish(make_user(Role.AGENCY), n=305, name="崇川第五安全咨询有限公司")
    db.session.commit()
    chosen = [agencies[n].id for n in (1, 2, 3, 4)] + [fifth.id]
    query = "&".join(f"ids={i}" for i in chosen[:count])
    response = client.get(f"/providers/compare?{query}&q=&sort=newest&lang=en")
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert message in html
    assert _ticked(html) == set(chosen[:count])


def test_a_suspended_agency_is_listed_but_offered_for_nothing(client, agencies, make_user, db):
    """A suspended agency showed 已暂停 beside a green 已签署承诺 badge, could be ticked for comparison
    and requested from the comparison."""
    from marketplace.providers import services as providers

    suspended = agencies[2]
    providers.suspend(make_user(Role.CITY_REGULATOR), suspended, "报告数据失实，暂停整改")
    db.session.commit()
    html = client.get("/providers?lang=zh").get_data(as_text=True)
    row = html[html.index(suspended.name) :].split("</article>")[0]
    assert "已暂停" in row and "text-bg-success" not in row and f'value="{suspended.id}"' not in row
    other = html[html.index(agencies[1].name) :].split("</article>")[0]
    assert f'value="{agencies[1].id}"' in other  # others can still be ticked
    query = "&".join(f"ids={agencies[n].id}" for n in (1, 2, 3))
    compared = client.get(f"/providers/compare?{query}&lang=zh").get_data(as_text=True)
    assert agencies[1].name in compared and agencies[3].name in compared
    assert compared.count(suspended.name) == 1 and f"未列入比较：{suspended.name}" in compared  # named only as left out
    assert client.get(f"/providers/compare?ids={agencies[1].id}&ids={suspended.id}").status_code == 302


def test_comparing_says_which_ticks_were_left_out_and_counts_them_all(client, agencies, make_user, db):
    """A stale tick of a suspended agency was dropped in silence ("you ticked 1"), and twelve ticks
    were counted as ten, two of them lost."""
    from marketplace.providers import services as providers

    suspended = agencies[2]
    providers.suspend(make_user(Role.CITY_REGULATOR), suspended, "报告数据失实，暂停整改")
    db.session.commit()
    response = client.get(f"/providers/compare?ids={agencies[1].id}&ids={suspended.id}&lang=en")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Suspended, so left out of the comparison: {suspended.name}." in html
    assert "you ticked 1" in html
    three = client.get(
        f"/providers/compare?ids={agencies[1].id}&ids={suspended.id}&ids={agencies[3].id}&ids={agencies[4].id}&lang=en"
    ).get_data(as_text=True)
    assert "Suspended, so left out of the comparison" in three and agencies[4].name in three
    owner = make_user(Role.AGENCY)
    gone, _ = factories.publish(owner, n=319, name="崇川已撤回安全咨询有限公司")
    providers.withdraw(owner, gone)
    db.session.commit()
    response = client.get(f"/providers/compare?ids={agencies[1].id}&ids={gone.id}&lang=en")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 agency you ticked is no longer listed" in html and gone.name not in html
    many = [agencies[n].id for n in (1, 3, 4)] + [
        factories.publish(make_user(Role.AGENCY), n=320 + i, name=f"崇川第{i}安全咨询有限公司")[0].id for i in range(9)
    ]
    db.session.commit()
    response = client.get("/providers/compare?" + "&".join(f"ids={i}" for i in many) + "&lang=en")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "you ticked 12" in html
    assert _ticked(html) >= set(many[:3])  # the ticks on this page are kept


def _write_in_another_process(path, start, count, ready):
    """Index ``count`` small documents from a separate process (as a second gunicorn worker would)."""
    from marketplace.search import analysis
    from marketplace.search.backend import WhooshBackend

    analysis.init_jieba(path + "-jieba")
    engine = WhooshBackend(path)
    ready.wait(10)
    for n in range(start, start + count):
        engine.index(
            [
                {
                    "id": str(n),
                    "uscc": "",
                    "name": f"并发测试机构{n}",
                    "name_py": "",
                    "name_ini": "",
                    "content": "安全咨询",
                    "description": "",
                    "category_ids": "",
                    "county_ids": "",
                    "status": "published",
                    "pledge_version": 1,
                    "published_ts": n,
                    "updated_ts": n,
                    "rating": 0,
                }
            ]
        )


@whoosh_only
def test_two_processes_writing_at_once_both_land(tmp_path):
    import multiprocessing

    from marketplace.search import analysis
    from marketplace.search.backend import WhooshBackend

    path = str(tmp_path / "index")
    analysis.init_jieba(tmp_path / "jieba")
    WhooshBackend(path).create()
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    workers = [
        context.Process(target=_write_in_another_process, args=(path, start, 15, ready)) for start in (1000, 2000)
    ]
    for worker in workers:
        worker.start()
    ready.set()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    engine = WhooshBackend(path)
    assert engine.status()["documents"] == 30
    engine.close()


@whoosh_only
def test_a_missed_index_write_is_found_even_after_later_writes_succeed_and_is_healed(agencies, db, app, client):
    """An index write that timed out after the database committed (another worker held the index)
    left the index behind while `search check` and /healthz still said "in step": only the document
    count and the latest change time were compared, and a later successful write hid it."""
    backend = search.backend()
    backend.write_timeout = 0.2
    blocker = backend._open().writer()  # another worker writing the index, for longer than the timeout
    try:
        factories.redeclare(agencies[3].account, agencies[3], description="新增：危险化学品重大危险源辨识评估。")
        db.session.commit()  # the commit stands; its index write timed out
    finally:
        blocker.cancel()
        backend.write_timeout = 10.0
    factories.redeclare(agencies[1].account, agencies[1], address="新地址")
    db.session.commit()  # a later write succeeds: the latest change time is in step again
    assert ids(find("重大危险源")) == []

    health = client.get("/healthz").get_json()
    assert health["checks"]["search"]["ok"] is False
    assert health["checks"]["search"]["out_of_step"] == 1
    assert search.out_of_step() == [agencies[3].id]
    result = app.test_cli_runner().invoke(args=["search", "check"])
    assert "1 agencies out of step" in result.output
    assert ids(find("重大危险源")) == [agencies[3].id]
    assert search.out_of_step() == []
    healthy = client.get("/healthz").get_json()["checks"]["search"]
    assert healthy["ok"] is True and healthy["out_of_step"] == 0
    assert healthy["last_check"]["found"] == "stale"  # what the last full comparison found, and when


SENTENCE = "我们是如东县的一家化工企业需要做危险化学品安全评价和应急预案"


def test_a_sentence_typed_into_the_box_finds_the_agencies_its_words_describe(agencies):
    """Every word of a sentence required found nothing, slowly; its meaningful words are ranked instead."""
    found = ids(find(SENTENCE))
    assert found[0] == agencies[1].id  # 危险化学品 and 安全评价 (and 企业) in one agency
    assert set(found) >= {agencies[1].id, agencies[2].id, agencies[3].id}  # 安全评价; 应急预案
    assert agencies[4].id not in found  # 职业卫生: none of the sentence's words


def test_a_short_query_still_requires_every_word(agencies):
    assert ids(find("应急预案 检测")) == []
    assert ids(find("危化 检测")) == [agencies[2].id]


def test_a_sentence_asks_for_a_bounded_number_of_words(agencies):
    """The longest text the box takes, made of words agencies do use: only the most selective few are asked for."""
    from marketplace.search import querying

    long_text = ("安全评价检测检验应急预案职业卫生培训危险化学品储存场所演练评估服务" * 5)[: querying.MAX_QUERY]
    plan = search.backend().plan(long_text)
    assert isinstance(plan, querying.Any) and plan.ranked
    assert 1 < len(plan.parts) <= querying.SENTENCE_TERMS
    assert ids(find(long_text))  # and it still finds the agencies those words describe


@database_only
def test_a_database_index_changes_with_the_commit_and_never_needs_healing(agencies, db, make_user, client):
    provider, _ = factories.publish(make_user(Role.AGENCY), n=398, name="南通博远安全科技有限公司")
    assert ids(find("博远")) == []  # not before the commit
    db.session.commit()
    assert ids(find("博远")) == [provider.id]
    assert search.staleness() is None and search.out_of_step() == []
    health = client.get("/healthz").get_json()["checks"]["search"]
    assert health["ok"] is True and health["backend"] == "database" and health["documents"] == 5


@database_only
def test_an_index_write_that_fails_fails_the_whole_commit(agencies, db, make_user, monkeypatch):
    """The index is written by the transaction itself: when it cannot be, nothing is saved."""

    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT INTO search_documents", {}, Exception("disk full"))

    monkeypatch.setattr(search.backend(), "index", broken)
    factories.publish(make_user(Role.AGENCY), n=397, name="南通博瑞安全科技有限公司")
    with pytest.raises(sa.exc.OperationalError):
        db.session.commit()
    db.session.rollback()
    monkeypatch.undo()
    assert db.session.scalar(sa.select(Provider.id).where(Provider.name == "南通博瑞安全科技有限公司")) is None
    assert ids(find("博瑞")) == [] and search.staleness() is None


@database_only
def test_another_workers_edit_shows_on_the_next_search(agencies, db, make_user):
    """Each worker keeps the documents' filters and facets in memory; an edit committed by another
    reaches them on their next search, by reading only the rows written since."""
    from marketplace.search.database import DatabaseBackend

    worker = DatabaseBackend()  # a second worker's copy
    chongchuan = factories.county("320613").id
    assert worker.search(SearchQuery(county_id=chongchuan)).total == 2
    services.suspend(make_user(Role.CITY_REGULATOR), agencies[1], "暂停整改")
    services.withdraw(agencies[3].account, agencies[3])
    db.session.commit()
    result = worker.search(SearchQuery(county_id=chongchuan))
    assert ids(result) == [agencies[1].id] and result.facets["status"] == {"suspended": 1}
    assert worker.search(SearchQuery(text="众安")).total == 0


@database_only
def test_a_worker_that_waited_for_another_rebuild_does_not_rebuild_again(agencies, db, monkeypatch):
    rebuilt = []
    monkeypatch.setattr(search.backend(), "_store", lambda connection, rows, gen: rebuilt.append(gen))
    assert search.reindex(force=False) == 4 and rebuilt == []  # the format is current: nothing to do
    search.reindex()
    assert len(rebuilt) == 1


def test_an_agency_the_whole_query_names_ranks_above_one_with_a_rare_word_of_it_in_its_name(agencies, db, make_user):
    """The demo's 南通安泰安全 listed 海安安泰检测 first: it holds the rare 安泰 in its name and 南通, 安全 in its
    text, words most agencies use and BM25 counts for next to nothing."""
    other, _ = factories.publish(
        make_user(Role.AGENCY),
        n=396,
        name="海安安泰检测技术有限公司",
        description="海安安泰检测技术有限公司专业从事安全检测，服务南通市海安及周边地区企业。",
    )
    for n, town in enumerate(("崇川", "港闸", "通州", "如东", "启东", "海门")):
        factories.publish(
            make_user(Role.AGENCY),
            n=380 + n,
            name=f"{town}众诚技术服务有限公司",
            description="为南通企业提供安全服务。",
        )
    db.session.commit()
    found = ids(find("南通安泰安全"))
    assert found[:2] == [agencies[1].id, other.id]


@database_only
def test_before_the_first_build_the_directory_answers_from_the_database_until_the_start_up_builds_it(
    agencies, db, client, app
):
    """A register upgraded to the database index has rows but no index yet: the directory is served by
    name from the database (not an empty list) while the start-up's heal builds it."""
    db.session.execute(sa.text("UPDATE search_settings SET value = '' WHERE name = 'format'"))
    db.session.execute(
        sa.text("DELETE FROM search_fts" if db.engine.dialect.name == "sqlite" else "DELETE FROM search_terms")
    )
    db.session.execute(sa.text("UPDATE search_documents SET listed = false"))
    db.session.commit()
    search.forget()
    html = client.get("/providers?q=明德&lang=en").get_data(as_text=True)
    assert "1 agencies found" in html and "启东明德职业卫生技术服务有限公司" in html  # from the database
    assert client.get("/healthz").get_json()["checks"]["search"]["ok"] is False
    search._heal_at_start(app)  # what the start-up's background thread runs
    assert search.staleness() is None and ids(find("明德")) == [agencies[4].id]
    assert client.get("/healthz").get_json()["checks"]["search"]["ok"] is True


def test_the_start_up_check_runs_to_its_end_on_every_backend(agencies, app, caplog):
    """The start-up's heal, state and warm-up are one interface both backends answer: a missing step
    would only be logged ("not checked at start") and the check left undone."""
    with caplog.at_level(logging.INFO, logger="marketplace.search"):
        search._heal_at_start(app)
    assert "not checked at start" not in caplog.text
    assert search.staleness() is None and ids(find("明德")) == [agencies[4].id]


@database_only
def test_the_word_counts_each_write_keeps_equal_those_a_rebuild_counts(agencies, db, make_user):
    """A sentence is searched by its selective words, told by search_words: kept by every write, in its
    transaction, they must stay what counting the register afresh gives."""
    from marketplace.search.models import SearchWord

    def counts():
        return dict(db.session.execute(sa.select(SearchWord.word, SearchWord.docs).where(SearchWord.docs != 0)).all())

    factories.publish(make_user(Role.AGENCY), n=395, name="南通博思安全科技有限公司", description="粉尘涉爆安全评价。")
    factories.redeclare(agencies[3].account, agencies[3], description="重大危险源辨识评估。")
    services.withdraw(agencies[4].account, agencies[4])
    db.session.commit()
    kept = counts()
    assert kept["粉尘"] == 1 and "职业卫生" not in kept and kept["辨识"] == 1
    search.reindex()
    assert counts() == kept


@database_only
def test_a_rebuild_takes_out_an_agency_the_index_held_but_the_register_no_longer_lists(agencies, db):
    """A rebuild writes every listed agency's row over the old one and unlists the rows it did not write:
    an agency withdrawn behind the index's back (a restore, a hand-made fix) leaves the results, the
    facets and the word counts."""
    from marketplace.search.models import SearchDocument, SearchWord

    gone = agencies[4]
    db.session.execute(sa.text("UPDATE providers SET status = 'withdrawn' WHERE id = :id"), {"id": gone.id})
    assert ids(find("明德")) == [gone.id]  # nothing told the index
    search.reindex()
    assert ids(find("明德")) == [] and find().total == 3
    assert db.session.scalar(sa.select(SearchWord.docs).where(SearchWord.word == "明德")) in (None, 0)
    assert {
        row.doc_id for row in db.session.execute(sa.select(SearchDocument.doc_id).where(SearchDocument.listed))
    } == {agencies[n].id for n in (1, 2, 3)}


@database_only
def test_a_narrow_filters_page_is_read_from_its_bit_set_in_the_directorys_order(agencies, db, make_user):
    """Walking the directory's order until a narrow filter's page is full went through every agency (50,000
    per page at 4 % of the bare app's throughput); such a page is read from the filter's bit set instead."""
    from marketplace.search import database

    for n in range(12):
        factories.publish(make_user(Role.AGENCY), n=460 + n, name=f"崇川第{n}安全咨询有限公司", regions=("320613",))
    db.session.commit()
    state = search.backend()._fresh()
    for county_code in ("320681", "320682"):
        query = SearchQuery(county_id=factories.county(county_code).id)
        keep, match = database._filter(query), state.live & state.filter_mask(query)
        total = match.bit_count()
        assert 0 < total and database.SORT_COST * total * total < 20 * len(state.docs)  # the narrow path
        for column in ("published", "rating"):
            assert state.page(column, keep, match, total, 0, 20) == state.walk(column, keep, 0, 20)
    assert ids(find(county_id=factories.county("320681").id)) == [agencies[4].id]


@database_only
def test_a_word_most_agencies_use_is_ranked_by_bit_sets_as_it_would_be_one_by_one(agencies, db, make_user, monkeypatch):
    """Past SCORED_MATCHES matches the ranks are bit sets (a sentence's words held, the query's words in
    the name, then newest first): scoring 44,000 matches one by one took 160 ms at 50,000 agencies."""
    from marketplace.search import database

    for n in range(14):
        factories.publish(
            make_user(Role.AGENCY),
            n=480 + n,
            name=f"如东第{n}{'检测' if n % 3 else ''}技术有限公司",
            description="危险化学品检测、职业卫生检测和应急预案编制。" if n % 2 else "安全培训。",
        )
    db.session.commit()
    queries = ["检测", "安全", "危险化学品检测职业卫生应急预案编制安全培训如东有限公司服务", "如东 检测"]
    scored = database._scored  # ranked one by one, without the text's scores (as past SCORED_MATCHES)
    monkeypatch.setattr(database, "_scored", lambda plan: [(d, 0.0) for d, _ in scored(plan) or []])
    expected = {}
    for text in queries:
        for sort in ("relevance", "newest", "rating"):
            for page in (1, 2):
                result = find(text, sort=sort, page=page, per_page=4)
                expected[text, sort, page] = (ids(result), result.total, result.facets)
    monkeypatch.setattr(database, "_scored", scored)
    monkeypatch.setattr(database, "SCORED_MATCHES", 2)  # every one of these now takes the bit sets' way
    search.forget()
    for (text, sort, page), (found, total, facets) in expected.items():
        result = find(text, sort=sort, page=page, per_page=4)
        assert (ids(result), result.total, result.facets) == (found, total, facets), (text, sort, page)


def test_a_word_too_long_for_an_index_does_not_stop_the_save(agencies, db, make_user):
    """PostgreSQL's index refuses a word over 2,047 bytes; written in the save's transaction, it made the save fail."""
    provider, _ = factories.publish(
        make_user(Role.AGENCY), n=394, name="南通博文安全科技有限公司", description="安全评价" + "a" * 2100 + "。"
    )
    db.session.commit()
    assert ids(find("博文")) == [provider.id]


def test_eighteen_letters_of_pinyin_are_not_taken_for_a_credit_code(agencies):
    from marketplace.search import querying

    assert not isinstance(search.backend().plan("anquanpingjiazixun"), querying.Code)
    assert search.backend().plan(agencies[1].uscc) == querying.Code(agencies[1].uscc.lower())
    assert ids(find(agencies[1].uscc)) == [agencies[1].id]


@database_only
def test_a_refresh_never_changes_the_values_a_search_in_another_thread_is_reading(agencies, db, make_user):
    """The worker's per-document values were changed in place by the next refresh while a search in
    another thread (the start-up heal, a threaded server) was reading them: a KeyError mid-loop."""
    backend = search.backend()
    before = backend._fresh()
    docs, order = dict(before.docs), list(before.orders["published"])
    services.withdraw(agencies[3].account, agencies[3])
    factories.publish(make_user(Role.AGENCY), n=393, name="南通博雅安全科技有限公司")
    db.session.commit()
    after = backend._fresh()
    assert after is not before and agencies[3].id not in after.docs
    assert before.docs == docs and before.orders["published"] == order  # what a reader holds is left as it was


@database_only
def test_an_older_version_of_a_document_is_never_written_over_a_newer_one(agencies, db):
    """A heal reads the documents it mends before it writes them: a save committed in between must win."""
    read_by_a_heal, _removed = search.source().documents([agencies[3].id])
    factories.redeclare(agencies[3].account, agencies[3], description="粉尘涉爆企业安全咨询。")
    db.session.commit()
    search.backend().index(read_by_a_heal)
    db.session.commit()
    assert ids(find("粉尘涉爆")) == [agencies[3].id] and search.out_of_step() == []


@database_only
def test_a_rebuild_analysed_in_a_second_process_writes_the_rows_one_process_writes(agencies, db, monkeypatch):
    """Past its first batch a rebuild's analysis runs in a second process (a rebuild of 50,000 agencies
    took 90 s on one core); the rows it writes are those one process writes, and a process that cannot
    be started leaves the rebuild to this one."""
    from marketplace.search import database
    from marketplace.search.models import SearchDocument, SearchWord

    def index():
        documents = db.session.execute(
            sa.select(*[c for c in SearchDocument.__table__.columns if c.name != "gen"]).order_by(SearchDocument.doc_id)
        ).all()
        return documents, db.session.execute(
            sa.select(SearchWord.word, SearchWord.docs).order_by(SearchWord.word)
        ).all()

    monkeypatch.setattr(search, "BATCH", 1)  # a batch an agency: the second process analyses from the second on
    started = []
    pool = database._analysis_pool
    monkeypatch.setattr(database, "_analysis_pool", lambda: started.append(1) or pool())
    search.reindex()
    two_processes = index()
    assert started == [1] and ids(find("明德")) == [agencies[4].id]

    def unavailable():
        raise OSError("no processes here")

    monkeypatch.setattr(database, "_analysis_pool", unavailable)
    search.reindex()
    assert index() == two_processes


@database_only
def test_a_search_asked_again_before_the_index_changes_is_answered_from_memory(agencies, db, make_user, monkeypatch):
    """The same query asked again before any index write is answered from the worker's memory (a popular
    word's search is milliseconds of the database's); the first write after it is seen by the next one."""
    from marketplace.search import database

    asked = []
    matches = database._matches
    monkeypatch.setattr(database, "_matches", lambda *args: asked.append(1) or matches(*args))
    first = search.backend().search(SearchQuery(text="安全评价"))
    again = search.backend().search(SearchQuery(text="安全评价"))
    assert asked == [1] and again == first
    assert search.backend().search(SearchQuery(text="安全评价", page=2)) is not first  # another query
    factories.publish(make_user(Role.AGENCY), n=396, name="南通再评安全评价有限公司")
    db.session.commit()
    after = search.backend().search(SearchQuery(text="安全评价"))
    assert len(asked) == 3 and after.total == first.total + 1


@database_only
def test_the_directorys_pages_are_kept_over_an_edit_that_leaves_every_listing_as_it_was(
    agencies, db, make_user, monkeypatch
):
    """A search without words (a directory page: filters, facets, an order) is answered from memory over an
    edit that changes no agency's categories, counties, pledge, status or place in an order (most edits: a
    description, a phone number), and searched again after one that does; whichever, it answers as a state
    read whole from the index would."""
    from marketplace.providers import indexing
    from marketplace.search import database

    monkeypatch.setattr(database, "RELOAD_SHARE", 10.0)  # a few agencies here: each change read as one
    searched = []
    search_once = database.DatabaseBackend._search
    monkeypatch.setattr(
        database.DatabaseBackend, "_search", lambda self, q, state: searched.append(q) or search_once(self, q, state)
    )
    queries = [
        SearchQuery(category_id=category, county_id=county, sort=sort, page=page, per_page=2)
        for category, county in ((None, None), (factories.category("se_chemicals").id, None))
        for sort in ("relevance", "rating")
        for page in (1, 2)
    ]

    def listings(backend):
        return [(ids(r), r.total, r.facets) for r in (backend.search(q) for q in queries)]

    def edited_and_searched_again():
        """Whether the directory's pages were searched again, once they answer as a fresh state would."""
        db.session.commit()
        searched.clear()
        kept = listings(search.backend())
        again = bool(searched)
        assert kept == listings(database.DatabaseBackend())  # a worker that reads the index whole
        return again

    listings(search.backend())
    first, second = agencies[1], agencies[2]
    factories.redeclare(first.account, first, description="专业从事危险化学品企业安全评价与安全现状评价。")
    assert not edited_and_searched_again()
    searched.clear()
    search.backend().search(SearchQuery(text="安全评价"))  # a search with words: its snippets may change
    assert searched
    factories.redeclare(first.account, first, name="南通安泰安全技术评价有限公司")  # a new name: same listings
    assert not edited_and_searched_again()
    services.save_declaration(  # other categories: the category's pages and counts change
        first.account,
        first,
        category_ids=[factories.category("it_chemicals").id],
        region_ids=[c.id for c in first.regions],
        **factories.declaration_values(first),
    )
    assert edited_and_searched_again()
    second.rating_count, second.rating_total = 3, 14  # a rating moves it in the rating order
    indexing.mark_changed([second.id])
    assert edited_and_searched_again()
    factories.publish(make_user(Role.AGENCY), n=497, name="南通新来安全检测有限公司", regions=("320682",))
    assert edited_and_searched_again()
    services.withdraw(agencies[3].account, agencies[3])
    assert edited_and_searched_again()


@database_only
def test_a_worker_reads_the_most_common_words_match_sets_at_start_up(agencies, db, monkeypatch):
    """Start-up reads the match sets of the words most agencies hold (the costliest to read) into the
    worker's memory: a search of one of them reads no match set, and answers as before."""
    from marketplace.search import database

    monkeypatch.setattr(database, "SCORED_MATCHES", 1)  # a few agencies here: their common words are sets
    common = db.session.execute(sa.text("SELECT word FROM search_words ORDER BY docs DESC, word LIMIT 2")).scalars()
    expected = {word: ids(find(word)) for word in common}
    search.forget()
    assert search.backend().warm(words=2) == 2
    read = []
    monkeypatch.setattr(database, "_ids", lambda plan: read.append(plan) or [])
    for word, found in expected.items():
        assert ids(find(word)) == found
    assert read == []


def test_a_state_keeps_a_bounded_number_of_answers_and_words(monkeypatch):
    from marketplace.search import database

    monkeypatch.setattr(database, "KEPT_ANSWERS", 3)
    state = database._State()
    for n in range(5):
        state.remember(("q", n), n)
    assert list(state.answers) == [("q", 2), ("q", 3), ("q", 4)]
    monkeypatch.setattr(database, "KEPT_WORDS", 2)
    for word in ("安全", "检测", "评价"):
        state.remember_word(word, 1)
    assert list(state.word_masks) == ["检测", "评价"]


def test_an_edit_committed_without_a_flush_is_searchable_and_dates_its_profile_at_that_commit(agencies, db):
    """The session's hooks ran before the commit's own flush: an agency changed and committed with no
    flush in between was indexed (and its profile's version counted) only at the next commit, which
    could be a search's savepoint."""
    from marketplace.providers import public

    provider = db.session.get(Provider, agencies[1].id)
    version = public.version(provider.id)
    provider.name = "南通全新名号安全评价有限公司"
    db.session.commit()
    assert public.version(provider.id) == version + 1
    assert ids(find("全新名号")) == [provider.id]


@database_only
def test_a_large_state_is_set_aside_from_the_cyclic_garbage_collector(agencies, db, monkeypatch):
    """At 50,000 agencies the state is a quarter of a million objects: each full collection walked them
    (100 ms, in the middle of whichever request triggered it). Read whole, a large state is frozen."""
    import gc

    from marketplace.search import database

    monkeypatch.setattr(database, "FREEZE_DOCUMENTS", 1)  # these four agencies count as large
    search.forget()
    try:
        find("安全")
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
