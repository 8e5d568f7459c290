"""Notice batches: immutable snapshots with a diff, a hash that recomputes, a PDF and a CSV."""

import csv
import hashlib
import io
import json
import re
from urllib.parse import quote

import pypdf
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from marketplace.auth.permissions import SYSTEM
from marketplace.auth.roles import Role
from marketplace.common import exports
from marketplace.common.audit import AuditLogIsAppendOnly
from marketplace.providers import notice_files, notices, services
from marketplace.providers.models import NoticeBatch
from tests import factories
from tests.conftest import PASSWORD, field_error


@pytest.fixture()
def three_agencies(make_user):
    made = []
    for n, name in enumerate(
        ["南通安泰安全技术咨询有限公司", "如皋华安安全评价有限公司", "启东中衡检测技术有限公司"], start=31
    ):
        user = make_user(Role.AGENCY)
        provider, _ = factories.publish(user, n=n, name=name)
        made.append((user, provider))
    return made


def test_batch_lists_agencies_with_a_hash_that_recomputes(db, three_agencies):
    batch = notices.publish_batch(SYSTEM)
    assert batch.batch_no.endswith("年第1期") and (batch.total, batch.added, batch.changed, batch.withdrawn) == (
        3,
        3,
        0,
        0,
    )
    assert hashlib.sha256(batch.canonical.encode("utf-8")).hexdigest() == batch.content_sha256
    content = json.loads(batch.canonical)
    assert [e["snapshot"]["name"] for e in content["entries"]] == sorted(
        [e["snapshot"]["name"] for e in content["entries"]], key=lambda n: n
    ) or len(content["entries"]) == 3


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
    assert rows[0] == notice_files.COLUMNS
    listed, (blank, head) = rows[1:-2], rows[-2:]
    assert {row[1] for row in listed} == {p.name for _, p in three_agencies}
    assert all(row[8] == "新增" for row in listed)
    # after a blank row, the head of the history chain this batch publishes
    assert not any(blank) and head[:3] == ["历史记录链头", str(batch.chain_seq), batch.chain_sha256]


def test_publishing_again_without_any_change_is_refused_unless_intended(db, three_agencies, runner):
    first = notices.publish_batch(SYSTEM)
    db.session.commit()
    with pytest.raises(notices.NothingChanged):
        notices.publish_batch(SYSTEM)
    refused = runner.invoke(args=["notices", "publish"])
    assert refused.exit_code != 0
    assert db.session.scalar(sa.select(sa.func.count(NoticeBatch.id))) == 1
    second = notices.publish_batch(SYSTEM, unchanged_intended=True)
    assert second.sequence == first.sequence + 1
    assert (second.added, second.changed, second.withdrawn) == (0, 0, 0)
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(notices.NoticeEntry)
            .where(notices.NoticeEntry.batch_id == second.id, notices.NoticeEntry.change != "unchanged")
        )
        == 0
    )


def test_diff_names_added_changed_and_withdrawn(db, make_user, three_agencies):
    notices.publish_batch(SYSTEM)
    (u1, p1), (u2, p2), _ = three_agencies
    values = {
        f: getattr(p1, f)
        for f in (
            "uscc",
            "name",
            "former_names",
            "legal_representative",
            "county_id",
            "contact_person",
            "phone",
            "email",
            "website",
            "founded_on",
            "description",
        )
    }
    services.save_declaration(
        u1,
        p1,
        category_ids=[c.id for c in p1.categories],
        region_ids=[c.id for c in p1.regions],
        address="南通市崇川区青年东路 5 号",
        **values,
    )
    services.withdraw(u2, p2)
    newcomer, _ = factories.publish(make_user(Role.AGENCY), n=40, name="海安盛安安全科技有限公司")
    batch = notices.publish_batch(SYSTEM)
    changes = {e.provider_id: e.change for e in db.session.scalars(notices.entries(batch))}
    assert changes[p1.id] == "changed" and changes[p2.id] == "withdrawn" and changes[newcomer.id] == "added"
    assert (batch.total, batch.added, batch.changed, batch.withdrawn) == (3, 1, 1, 1)
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(batch.pdf)).pages)
    assert "本期撤出机构" in text and "如皋华安安全评价有限公司" in text


def test_a_batch_can_never_change(db, three_agencies):
    notices.publish_batch(SYSTEM)
    notices.render_files(force=True)
    for statement in (
        "DELETE FROM notice_batches",
        "UPDATE notice_entries SET change = 'added'",
        "UPDATE notice_renderings SET reason = 'x'",
        "DELETE FROM notice_renderings",
    ):
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


def _fingerprint(html):
    return re.search(r'name="fingerprint" type="hidden" value="([0-9a-f]+)"', html).group(1)


def test_the_publish_page_shows_what_will_be_added_changed_and_withdrawn_before_publishing(
    client, db, make_user, three_agencies
):
    notices.publish_batch(SYSTEM)
    (u1, p1), (u2, p2), _ = three_agencies
    factories.redeclare(u1, p1, phone="0513-85990000")
    services.withdraw(u2, p2)
    newcomer, _ = factories.publish(make_user(Role.AGENCY), n=41, name="海安盛安安全科技有限公司")
    db.session.commit()
    client.post("/auth/login", data={"email": make_user(Role.CITY_REGULATOR).email, "password": PASSWORD})
    html = client.get("/notices/publish?lang=en").get_data(as_text=True)
    preview = html[html.index('id="preview"') : html.index("</section>", html.index('id="preview"'))]
    assert "1 added" in preview and "1 changed" in preview and "1 withdrawn" in preview
    assert "海安盛安安全科技有限公司" in preview and p2.name in preview and "withdrawn by the agency" in preview
    assert p1.name in preview and "Phone" in preview  # the changed field is named
    assert db.session.scalar(sa.select(sa.func.count(NoticeBatch.id))) == 1  # looking publishes nothing
    fingerprint = _fingerprint(html)
    # the directory changes while the regulator reads: the batch seen is not the batch to publish
    factories.redeclare(u1, p1, phone="0513-85990001")
    db.session.commit()
    html = client.post("/notices/publish?lang=en", data={"fingerprint": fingerprint}).get_data(as_text=True)
    assert "directory changed while you were reviewing" in html
    assert db.session.scalar(sa.select(sa.func.count(NoticeBatch.id))) == 1
    # a post without the preview's fingerprint (a crafted form) publishes nothing either
    blind = client.post("/notices/publish?lang=en", data={"unchanged": "y"}).get_data(as_text=True)
    assert "check the new preview" in blind
    assert db.session.scalar(sa.select(sa.func.count(NoticeBatch.id))) == 1
    response = client.post("/notices/publish", data={"fingerprint": _fingerprint(html)})
    assert response.status_code == 302
    batch = db.session.scalar(sa.select(NoticeBatch).order_by(NoticeBatch.id.desc()))
    assert batch.published_by_id is not None and (batch.total, batch.added, batch.changed, batch.withdrawn) == (
        3,
        1,
        1,
        1,
    )


def test_an_unchanged_batch_needs_the_regulators_confirmation(client, db, make_user, three_agencies):
    notices.publish_batch(SYSTEM)
    db.session.commit()
    client.post("/auth/login", data={"email": make_user(Role.CITY_REGULATOR).email, "password": PASSWORD})
    html = client.get("/notices/publish?lang=en").get_data(as_text=True)
    assert "Nothing has changed since the last batch" in html
    html = client.post("/notices/publish?lang=en", data={"fingerprint": _fingerprint(html)}).get_data(as_text=True)
    assert field_error(html, "unchanged")  # refused beside the box to tick
    assert db.session.scalar(sa.select(sa.func.count(NoticeBatch.id))) == 1
    response = client.post("/notices/publish", data={"fingerprint": _fingerprint(html), "unchanged": "y"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(NoticeBatch.id))) == 2


def test_changed_rows_say_which_fields_changed(client, db, three_agencies):
    notices.publish_batch(SYSTEM)
    (u1, p1), _, _ = three_agencies
    factories.redeclare(u1, p1, address="南通市崇川区青年东路 5 号", phone="0513-85990000")
    batch = notices.publish_batch(SYSTEM)
    rows = {row[1]: row for row in csv.reader(io.StringIO(batch.csv.decode("utf-8-sig")))}
    assert rows[p1.name][8] == "变更（地址、联系电话）"
    text = "".join("".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(batch.pdf)).pages)
    assert "变更（地址、联系电话）" in text
    db.session.commit()
    html = client.get(f"/notices/{batch.batch_no}?show=changed&lang=en").get_data(as_text=True)
    assert "Address、Phone" in html


def test_the_csv_names_its_charset_once(client, db, three_agencies):
    batch = notices.publish_batch(SYSTEM)
    db.session.commit()
    response = client.get(f"/notices/{batch.batch_no}.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def _stored_batch_like(batch, *, pdf, csv):
    """A batch stored by an earlier version: the entries of ``batch`` with files made then."""
    from marketplace.extensions import db

    old = NoticeBatch(
        year=batch.year,
        sequence=batch.sequence + 1,
        batch_no=f"{batch.year}年第{batch.sequence + 1}期",
        published_at=batch.published_at,
        total=batch.total,
        added=0,
        changed=0,
        withdrawn=0,
        canonical=batch.canonical,
        content_sha256=batch.content_sha256,
        pdf=pdf,
        csv=csv,
    )
    db.session.add(old)
    db.session.flush()
    db.session.add_all(
        notices.NoticeEntry(
            batch_id=old.id,
            provider_id=e.provider_id,
            position=e.position,
            change=e.change,
            digest=e.digest,
            snapshot=e.snapshot,
        )
        for e in db.session.scalars(notices.entries(batch))
    )
    return old


HOSTILE = ('=HYPERLINK("http://evil.example","点击")', "+86-513-0000", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd")


def _cells(data):
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) for cell in row]


def test_no_cell_of_the_notice_csv_is_a_formula(client, db, three_agencies):
    """An agency named its legal representative =HYPERLINK(...): every copy of the public list
    carried a live link (OWASP's CSV injection)."""
    (u1, p1), (u2, p2), _ = three_agencies
    p1.legal_representative = HOSTILE[0]
    p2.legal_representative = HOSTILE[3]
    batch = notices.publish_batch(SYSTEM)
    db.session.commit()
    cells = _cells(client.get(f"/notices/{batch.batch_no}.csv").data)
    assert "'" + HOSTILE[0] in cells and "'" + HOSTILE[3] in cells
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert exports.live_formula_cells(batch.csv) == 0


@pytest.mark.parametrize("value", HOSTILE)
def test_a_spreadsheet_cell_is_never_a_formula(value):
    cell = exports.spreadsheet_cell(value)
    assert cell == "'" + value and exports.live_formula_cells(exports.csv_bytes(["h"], [[value]])) == 0
    assert exports.spreadsheet_cell("南通安泰") == "南通安泰" and exports.spreadsheet_cell(None) == ""


def test_a_stored_csv_with_formulas_is_re_rendered_from_the_entries(client, db, runner, three_agencies):
    (u1, p1), _, _ = three_agencies
    p1.legal_representative = HOSTILE[0]
    batch = notices.publish_batch(SYSTEM)
    live = batch.csv.replace(b"\"'=HYPERLINK", b'"=HYPERLINK')  # as an earlier version wrote it
    old = _stored_batch_like(batch, pdf=batch.pdf, csv=live)
    db.session.commit()
    assert exports.live_formula_cells(client.get(f"/notices/{old.batch_no}.csv").data) == 1
    result = runner.invoke(args=["notices", "render-files"])
    assert result.exit_code == 0 and "formulas" in result.output and old.batch_no in result.output
    served = client.get(f"/notices/{old.batch_no}.csv").data
    assert exports.live_formula_cells(served) == 0 and "'" + HOSTILE[0] in _cells(served)
    db.session.refresh(old)
    assert old.csv == live and notices.recompute_hash(old) == old.content_sha256  # the original stays, as stored
    html = client.get(f"/notices/{old.batch_no}?lang=en").get_data(as_text=True)
    assert "cells a spreadsheet would run as formulas" in html and "did not embed" not in html


def test_a_stored_pdf_without_its_font_is_re_rendered_from_the_entries(client, db, runner, three_agencies):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    batch = notices.publish_batch(SYSTEM)
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # what a machine without a CJK font used to make
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.setFont("STSong-Light", 12)
    page.drawString(72, 720, "南通市安全生产第三方服务机构公示名单")
    page.save()
    old = _stored_batch_like(batch, pdf=out.getvalue(), csv=batch.csv)
    db.session.commit()
    result = runner.invoke(args=["notices", "render-files"])
    assert result.exit_code == 0, result.output
    assert old.batch_no in result.output and batch.batch_no not in result.output  # the good one is left alone
    served = client.get(f"/notices/{old.batch_no}.pdf").data
    assert served != old.pdf and b"/FontFile2" in served
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(served)).pages)
    assert old.batch_no in text and three_agencies[0][1].name in text
    db.session.refresh(old)
    assert old.pdf == out.getvalue() and notices.recompute_hash(old) == old.content_sha256  # nothing else changed
    html = client.get(f"/notices/{old.batch_no}?lang=en").get_data(as_text=True)
    assert "re-rendered" in html and "did not embed its Chinese font" in html
    assert runner.invoke(args=["notices", "render-files"]).output.startswith(
        "Every notice PDF embeds its font and no CSV holds a formula"
    )


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


def test_notice_batches_say_why_an_agency_left_and_when_it_returns(db, make_user):
    user = make_user(Role.AGENCY)
    provider, _ = factories.publish(user, n=59, name="南通远航检测技术有限公司")
    notices.publish_batch(SYSTEM)
    city = make_user(Role.CITY_REGULATOR)
    services.suspend(city, provider, "暂停整改")
    batch = notices.publish_batch(SYSTEM)
    assert "撤出（暂停）" in batch.csv.decode("utf-8-sig")
    services.reinstate(city, provider, "整改到位")
    batch = notices.publish_batch(SYSTEM)
    assert batch.added == 1 and "重新列入" in batch.csv.decode("utf-8-sig")


def test_the_hashed_content_is_published_and_recomputes(client, db, make_user):
    factories.publish(make_user(Role.AGENCY), n=60)
    batch = notices.publish_batch(SYSTEM)
    response = client.get(f"/notices/{batch.batch_no}.json")
    assert hashlib.sha256(response.data).hexdigest() == batch.content_sha256
    assert notices.recompute_hash(batch) == batch.content_sha256


def _log_in(client, user):
    client.post("/auth/logout")
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})


def test_publishing_runs_as_a_job_whose_page_links_the_published_batch(client, db, make_user, three_agencies):
    """Publishing 10,000 agencies took longer than a web request may: the page queues a job and shows it."""
    from marketplace.jobs.models import Job

    regulator = make_user(Role.CITY_REGULATOR)
    _log_in(client, regulator)
    html = client.get("/notices/publish?lang=en").get_data(as_text=True)
    response = client.post("/notices/publish", data={"fingerprint": _fingerprint(html)})
    assert response.status_code == 302 and re.search(r"/jobs/\d+$", response.headers["Location"])
    page = client.get(response.headers["Location"] + "?lang=en").get_data(as_text=True)
    batch = db.session.scalar(sa.select(NoticeBatch).order_by(NoticeBatch.id.desc()))
    assert 'data-state="done"' in page and f"Batch {batch.batch_no} is published." in page
    assert f'href="/notices/{quote(batch.batch_no)}"' in page
    assert 'http-equiv="refresh"' not in page  # a finished job's page stays still
    job = db.session.scalar(sa.select(Job).order_by(Job.id.desc()))
    assert (job.kind, job.state, job.result, job.created_by_id) == (
        "notices.publish",
        "done",
        batch.batch_no,
        regulator.id,
    )
    _log_in(client, make_user(Role.CITY_REGULATOR))  # another regulator: not their job
    assert client.get(response.headers["Location"]).status_code == 404


def test_a_job_whose_confirmation_no_longer_holds_fails_and_publishes_nothing(client, db, make_user, three_agencies):
    """The page checks the preview before queueing; the job checks it again when it runs."""
    from marketplace import jobs
    from marketplace.providers import notice_jobs

    regulator = make_user(Role.CITY_REGULATOR)
    job = notice_jobs.start_publishing(regulator, notices.draft_batch().fingerprint, False)
    db.session.commit()
    (u1, p1), _, _ = three_agencies
    services.withdraw(u1, p1)  # the directory changes before the job runs
    db.session.commit()
    jobs.queue(job)
    db.session.refresh(job)
    assert (job.state, job.error, job.result) == ("failed", "PreviewOutdated", "")
    assert db.session.scalar(sa.select(sa.func.count(NoticeBatch.id))) == 0
    _log_in(client, regulator)
    page = client.get(f"/jobs/{job.id}?lang=en").get_data(as_text=True)
    assert 'data-state="failed"' in page and "directory changed while you were reviewing" in page
    assert 'href="/notices/publish" id="job-retry"' in page  # back to a fresh preview


def test_a_running_job_shows_how_far_it_is_and_refreshes_itself(client, db, make_user):
    from marketplace import jobs
    from marketplace.providers import notice_jobs

    regulator = make_user(Role.CITY_REGULATOR)
    job = jobs.start(notice_jobs.PUBLISH, regulator, {"fingerprint": "", "unchanged": False})
    job.state = "running"
    db.session.commit()
    jobs.report(job.id, "pdf", 300, 1200)
    _log_in(client, regulator)
    page = client.get(f"/jobs/{job.id}?lang=en").get_data(as_text=True)
    assert 'data-state="running"' in page and re.search(r"Laying out the PDF(&#39;|')s rows \(300 of 1200\)", page)
    assert 'aria-valuenow="300"' in page and "job-progress-25" in page
    assert '<meta http-equiv="refresh" content="2">' in page


def test_publishing_reports_each_step_and_the_pdf_to_its_last_row(db, make_user):
    for n in range(70):  # more rows than one window of the PDF's table: progress page by page
        factories.publish(make_user(Role.AGENCY), n=500 + n, name=f"南通第{n}号安全技术服务有限公司")
    db.session.commit()
    heard = []
    batch = notices.publish_batch(SYSTEM, progress=lambda step, done=0, total=0: heard.append((step, done, total)))
    pdf_steps = [(done, total) for step, done, total in heard if step == "pdf"]
    assert heard[0][0] == "compare" and heard[-1][0] == "save"
    assert len(pdf_steps) > 2 and pdf_steps[-1] == (batch.total, batch.total)
    assert [done for done, _ in pdf_steps] == sorted(done for done, _ in pdf_steps)


def test_a_job_the_runner_lost_or_could_not_take_says_so_and_offers_to_start_again(client, db, make_user, monkeypatch):
    """A runner stopped mid-job (a deploy) left it "running" for ever, its page refreshing; a queue that
    could not take a job left it "queued" for ever."""
    from datetime import timedelta

    from marketplace import jobs
    from marketplace.common.time import utcnow
    from marketplace.providers import notice_jobs

    regulator = make_user(Role.CITY_REGULATOR)
    lost = jobs.start(notice_jobs.PUBLISH, regulator, {"fingerprint": "", "unchanged": False})
    lost.state, lost.started_at = "running", utcnow() - timedelta(hours=1)
    db.session.commit()

    def unavailable(job_id):
        raise ConnectionError("the queue's Redis is down")

    monkeypatch.setattr(jobs, "run_job", unavailable)
    unqueued = jobs.start(notice_jobs.PUBLISH, regulator, {"fingerprint": "", "unchanged": False})
    db.session.commit()
    jobs.queue(unqueued)
    db.session.refresh(unqueued)
    assert (unqueued.state, unqueued.error) == ("failed", "Unqueued")
    _log_in(client, regulator)
    page = client.get(f"/jobs/{lost.id}?lang=en").get_data(as_text=True)
    assert 'data-state="failed"' in page and "The job runner stopped while this job was running" in page
    assert 'id="job-retry"' in page and 'http-equiv="refresh"' not in page
    page = client.get(f"/jobs/{unqueued.id}?lang=en").get_data(as_text=True)
    assert "could not be handed to the job runner" in page
