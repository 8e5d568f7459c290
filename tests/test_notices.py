"""Notice batches: immutable snapshots with a diff, a hash that recomputes, a PDF and a CSV."""

import csv
import hashlib
import io
import json

import pypdf
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from marketplace.auth.permissions import SYSTEM
from marketplace.auth.roles import Role
from marketplace.common.audit import AuditLogIsAppendOnly
from marketplace.providers import notices, services
from marketplace.providers.models import NoticeBatch
from tests import helpers
from tests.conftest import PASSWORD


@pytest.fixture()
def three_agencies(make_user):
    made = []
    for n, name in enumerate(["南通安泰安全技术咨询有限公司", "如皋华安安全评价有限公司", "启东中衡检测技术有限公司"], start=31):
        user = make_user(Role.AGENCY)
        provider, _ = helpers.publish(user, n=n, name=name)
        made.append((user, provider))
    return made


def test_batch_lists_agencies_with_a_hash_that_recomputes(db, three_agencies):
    batch = notices.publish_batch(SYSTEM)
    assert batch.batch_no.endswith("年第1期") and (batch.total, batch.added, batch.changed, batch.withdrawn) == (3, 3, 0, 0)
    assert hashlib.sha256(batch.canonical.encode("utf-8")).hexdigest() == batch.content_sha256
    content = json.loads(batch.canonical)
    assert [e["snapshot"]["name"] for e in content["entries"]] == sorted(
        [e["snapshot"]["name"] for e in content["entries"]], key=lambda n: n) or len(content["entries"]) == 3


def test_pdf_has_the_chinese_names_and_page_numbers(db, three_agencies):
    batch = notices.publish_batch(SYSTEM)
    reader = pypdf.PdfReader(io.BytesIO(batch.pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    for _, provider in three_agencies:
        assert provider.name in text
    assert batch.batch_no in text and "第 1 页" in text


def test_csv_opens_in_excel_with_the_right_columns(db, three_agencies):
    batch = notices.publish_batch(SYSTEM)
    assert batch.csv.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark
    rows = list(csv.reader(io.StringIO(batch.csv.decode("utf-8-sig"))))
    assert rows[0] == notices.COLUMNS
    assert {row[1] for row in rows[1:]} == {p.name for _, p in three_agencies}
    assert all(row[8] == "新增" for row in rows[1:])


def test_publishing_twice_without_change_gives_an_empty_diff(db, three_agencies):
    first = notices.publish_batch(SYSTEM)
    second = notices.publish_batch(SYSTEM)
    assert second.sequence == first.sequence + 1
    assert (second.added, second.changed, second.withdrawn) == (0, 0, 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(notices.NoticeEntry)
                             .where(notices.NoticeEntry.batch_id == second.id,
                                    notices.NoticeEntry.change != "unchanged")) == 0


def test_diff_names_added_changed_and_withdrawn(db, make_user, three_agencies):
    notices.publish_batch(SYSTEM)
    (u1, p1), (u2, p2), _ = three_agencies
    values = {f: getattr(p1, f) for f in ("uscc", "name", "former_names", "legal_representative", "county_id",
                                          "contact_person", "phone", "email", "website", "founded_on", "description")}
    services.save_declaration(u1, p1, category_ids=[c.id for c in p1.categories],
                              region_ids=[c.id for c in p1.regions], address="南通市崇川区青年东路 5 号", **values)
    services.withdraw(u2, p2)
    newcomer, _ = helpers.publish(make_user(Role.AGENCY), n=40, name="海安盛安安全科技有限公司")
    batch = notices.publish_batch(SYSTEM)
    changes = {e.provider_id: e.change for e in db.session.scalars(notices.entries(batch))}
    assert changes[p1.id] == "changed" and changes[p2.id] == "withdrawn" and changes[newcomer.id] == "added"
    assert (batch.total, batch.added, batch.changed, batch.withdrawn) == (3, 1, 1, 1)
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(batch.pdf)).pages)
    assert "本期撤出机构" in text and "如皋华安安全评价有限公司" in text


def test_a_batch_can_never_change(db, three_agencies):
    notices.publish_batch(SYSTEM)
    for statement in ("DELETE FROM notice_batches", "UPDATE notice_entries SET change = 'added'"):
        with pytest.raises(DatabaseError, match="append-only"):
            with db.session.begin_nested():
                db.session.execute(sa.text(statement))
    batch = db.session.scalar(sa.select(NoticeBatch))
    batch.total = 999
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()


def test_public_pages_and_stored_files(client, db, three_agencies):
    batch = notices.publish_batch(SYSTEM)
    html = client.get("/notices?lang=en").get_data(as_text=True)
    assert batch.batch_no in html
    html = client.get(f"/notices/{batch.batch_no}?lang=en").get_data(as_text=True)
    assert batch.content_sha256 in html and "matches" in html and "南通安泰安全技术咨询有限公司" in html
    pdf = client.get(f"/notices/{batch.batch_no}.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data == batch.pdf
    csv_response = client.get(f"/notices/{batch.batch_no}.csv")
    assert csv_response.data == batch.csv and "attachment" in csv_response.headers["Content-Disposition"]
    assert client.get(f"/notices/{batch.batch_no}?show=withdrawn&lang=en").status_code == 200
    assert client.get("/notices/2099年第9期").status_code == 404


def test_city_regulator_publishes_from_the_ui(client, db, make_user, three_agencies):
    client.post("/auth/login", data={"email": make_user(Role.CITY_REGULATOR).email, "password": PASSWORD})
    response = client.post("/notices/publish")
    assert response.status_code == 302
    batch = db.session.scalar(sa.select(NoticeBatch))
    assert batch.published_by_id is not None and batch.total == 3


def test_notices_publish_command(runner, db, three_agencies):
    result = runner.invoke(args=["notices", "publish"])
    assert result.exit_code == 0, result.output
    assert "年第1期: 3 agencies" in result.output
    batch = db.session.scalar(sa.select(NoticeBatch))
    assert batch.content_sha256 in result.output


def test_empty_directory_still_publishes_a_valid_batch(db):
    batch = notices.publish_batch(SYSTEM)
    assert batch.total == 0
    assert pypdf.PdfReader(io.BytesIO(batch.pdf)).pages
