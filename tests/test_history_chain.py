"""Tamper evidence: one hash chain over the audit log and every record that must not change unseen.
Someone with database access could drop a trigger, rewrite history and recreate it without a trace;
insert a backdated audit row; TRUNCATE the append-only tables on PostgreSQL; edit ratings and files;
and edit a batch entry together with its stored hash so the page said "matches". Now `audit verify`
names the first entry that does not fit, the pages say "does not match", and TRUNCATE is refused."""

import pytest
import sqlalchemy as sa

from marketplace.auth.permissions import SYSTEM
from marketplace.auth.roles import Role
from marketplace.common import chain
from marketplace.common.models import AuditLog
from marketplace.engagements import ratings
from marketplace.engagements import services as engagement_services
from marketplace.extensions import db
from marketplace.providers import notices
from tests import factories


def _postgres():
    return db.session.connection().dialect.name == "postgresql"


def behind_the_back(table, statement, params=None):
    """What someone with database access does: lift the table's guards, write, put them back."""
    connection = db.session.connection()
    if _postgres():
        connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        connection.execute(sa.text(statement), params or {})
        connection.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        return
    triggers = connection.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"), {"t": table}
    ).all()
    for name, _sql in triggers:
        connection.exec_driver_sql(f"DROP TRIGGER {name}")
    connection.execute(sa.text(statement), params or {})
    for _name, sql in triggers:
        connection.exec_driver_sql(sql)


@pytest.fixture()
def history(db, make_user):
    """Some history: an agency published and listed in a batch, a contract completed and rated."""
    agency_user, client_user = make_user(Role.AGENCY), make_user(Role.ENTERPRISE)
    provider, signature = factories.publish(agency_user, n=71, name="南通链证安全评价有限公司")
    factories.add_staff(agency_user, provider)
    factories.add_qualification(agency_user, provider)  # a stored file
    factories.make_enterprise(client_user, n=71)
    engagement = factories.request(client_user, provider)
    factories.advance(engagement, client_user, agency_user, to="contracted")
    engagement_services.attach_file(client_user, engagement, factories.upload(factories.PDF, "合同.pdf"), "合同")
    factories.advance(engagement, client_user, agency_user, to="completed", report_no="CH-2026-001")
    rating = ratings.rate(client_user, engagement, score=5, text="报告扎实。")
    batch = notices.publish_batch(SYSTEM)
    notices.render_files(force=True)  # a later rendering of its files
    db.session.commit()
    result = chain.verify()
    assert result.ok, [str(p) for p in result.problems[:5]]
    return {"provider": provider, "signature": signature, "batch": batch, "rating": rating, "head": result.head}


def _first(result):
    assert not result.ok
    return str(result.first)


def _entry_of(table, record_id):
    return db.session.scalar(
        sa.select(sa.func.max(chain.ChainEntry.seq)).where(
            chain.ChainEntry.record_type == table, chain.ChainEntry.record_id == str(record_id)
        )
    )


def test_an_audit_entry_rewritten_behind_the_triggers_is_named(history):
    target = db.session.scalar(sa.select(sa.func.min(AuditLog.id)).where(AuditLog.action == "create"))
    behind_the_back(
        "audit_log", "UPDATE audit_log SET actor_label = 'someone-else@example.cn' WHERE id = :id", {"id": target}
    )
    first = _first(chain.verify())
    assert (
        first == f"entry {_entry_of('audit_log', target)}: audit_log {target} was changed after this entry recorded it"
    )


def test_a_backdated_audit_row_inserted_directly_is_named(history):
    behind_the_back(
        "audit_log",
        "INSERT INTO audit_log (created_at, action, object_type, object_id) "
        "VALUES ('2020-01-01 08:00:00', 'update', 'Provider', '1')",
    )
    inserted = db.session.scalar(sa.select(sa.func.max(AuditLog.id)))
    assert _first(chain.verify()) == f"audit_log {inserted} is in no entry (written outside the application)"


def test_a_removed_record_is_named(history):
    signature = history["signature"]
    behind_the_back("pledge_signatures", "DELETE FROM pledge_signatures WHERE id = :id", {"id": signature.id})
    seq = _entry_of("pledge_signatures", signature.id)
    assert f"entry {seq}: pledge_signatures {signature.id}, recorded here, is gone (removed)" in [
        str(p) for p in chain.verify().problems
    ]


def test_an_altered_removed_or_moved_chain_entry_is_named(history):
    seq = history["head"][0] - 3
    behind_the_back(
        "chain_entries", "UPDATE chain_entries SET content_sha256 = :h WHERE seq = :s", {"h": "0" * 64, "s": seq}
    )
    assert _first(chain.verify()) == f"entry {seq}: was altered (its own hash no longer fits)"


def test_a_removed_chain_entry_is_named(history):
    seq = history["head"][0] - 5
    behind_the_back("chain_entries", "DELETE FROM chain_entries WHERE seq = :s", {"s": seq})
    assert _first(chain.verify()) == f"entry {seq + 1}: entries {seq} to {seq} are missing (removed)"


def test_two_swapped_chain_entries_are_named(history):
    last = history["head"][0]
    behind_the_back(
        "chain_entries",
        "UPDATE chain_entries SET seq = CASE WHEN seq = :a THEN -1 ELSE seq END WHERE seq = :a",
        {"a": last - 1},
    )
    behind_the_back("chain_entries", "UPDATE chain_entries SET seq = :a WHERE seq = :b", {"a": last - 1, "b": last})
    behind_the_back("chain_entries", "UPDATE chain_entries SET seq = :b WHERE seq = -1", {"b": last})
    assert _first(chain.verify()).startswith(f"entry {last - 1}: does not follow the entry before it")


def test_a_batch_entry_edited_with_its_stored_hash_no_longer_matches(history, client):
    """The review's attack: the entry and the batch's hash edited together, so that the hash computed
    from the entries matched again."""
    batch = history["batch"]
    entry_id = db.session.scalar(
        sa.select(sa.func.min(notices.NoticeEntry.id)).where(notices.NoticeEntry.batch_id == batch.id)
    )
    behind_the_back(
        "notice_entries",
        "UPDATE notice_entries SET snapshot = :s WHERE id = :id",
        {"s": '{"name": "伪造机构"}', "id": entry_id},
    )
    db.session.expire_all()
    forged = notices.recompute_hash(batch)
    behind_the_back(
        "notice_batches", "UPDATE notice_batches SET content_sha256 = :h WHERE id = :id", {"h": forged, "id": batch.id}
    )
    db.session.commit()
    page = client.get(f"/notices/{batch.batch_no}?lang=en").get_data(as_text=True)
    check = page.split('id="chain-check"')[1].split("</dd>")[0]
    assert "The batch record and its files: 1 changed since the history chain recorded them" in check
    assert "Its entries: 1 changed since the history chain recorded them" in check
    problems = [str(p) for p in chain.verify().problems]
    assert (
        f"entry {_entry_of('notice_entries', entry_id)}: notice_entries {entry_id} was changed after this entry recorded it"
        in problems
    )


def test_the_pages_that_say_matches_say_so_from_the_chain(history, client):
    batch, signature = history["batch"], history["signature"]
    # published in the same transaction as the rest of the history: that history is in its head
    assert _entry_of("ratings", history["rating"].id) <= batch.chain_seq < _entry_of("notice_batches", batch.id)
    page = client.get(f"/notices/{batch.batch_no}?lang=en").get_data(as_text=True)
    assert "The batch record and its files: as the history chain recorded it" in page
    assert f"{batch.chain_seq}:{batch.chain_sha256}" in page.split('id="chain-head"')[1]
    pledge = client.get(f"/pledges/verify/{signature.verification_code}?lang=en").get_data(as_text=True)
    assert "The signature record: as the history chain recorded it" in pledge
    report = client.get("/reports/verify?no=CH-2026-001&lang=en").get_data(as_text=True)
    assert "The report record: as the history chain recorded it" in report


def test_a_rating_edited_directly_is_named(history):
    rating = history["rating"]
    db.session.execute(sa.text("UPDATE ratings SET score = 1 WHERE id = :id"), {"id": rating.id})
    assert (
        _first(chain.verify())
        == f"entry {_entry_of('ratings', rating.id)}: ratings {rating.id} was changed after this entry recorded it"
    )


def test_a_rating_changed_by_the_application_stays_in_step(history, make_user):
    rating = history["rating"]
    ratings.reply(history["provider"].account, rating, "感谢评价。")
    db.session.commit()
    assert chain.verify().ok


def test_a_history_rewritten_wholesale_is_caught_by_a_kept_copy_of_a_batch(history):
    """Someone able to rewrite everything recomputes the chain after an edit: it fits again, but not
    the head a batch printed and someone kept."""
    seq, digest = history["head"]
    target = db.session.scalar(sa.select(sa.func.min(AuditLog.id)))
    behind_the_back("audit_log", "UPDATE audit_log SET action = 'rewritten' WHERE id = :id", {"id": target})
    behind_the_back("notice_batches", "UPDATE notice_batches SET chain_seq = NULL, chain_sha256 = NULL")
    behind_the_back("chain_entries", "DELETE FROM chain_entries")
    connection = db.session.connection()
    for table in chain.chained_tables():
        ids = connection.execute(sa.text(f"SELECT id FROM {table} ORDER BY id")).scalars().all()
        chain.append(connection, [(table, i) for i in ids])
    assert chain.verify().ok  # internally consistent again
    result = chain.verify(published=[(seq, digest)])
    assert _first(result).startswith(f"entry {seq}: differs from the head published then")


def test_audit_verify_names_the_first_problem_and_healthz_reports_it(history, runner, client):
    good = runner.invoke(args=["audit", "verify"])
    assert good.exit_code == 0 and "The chain is intact" in good.output
    health = client.get("/healthz").get_json()["checks"]["chain"]
    assert health["intact"] is True and health["verified_seq"] == history["head"][0]

    rating = history["rating"]
    db.session.execute(sa.text("UPDATE ratings SET text = '差评' WHERE id = :id"), {"id": rating.id})
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1
    assert f"The first: entry {_entry_of('ratings', rating.id)}: ratings {rating.id} was changed" in bad.output
    health = client.get("/healthz").get_json()["checks"]["chain"]
    assert health["intact"] is False and "ratings" in health["problem"]
    assert runner.invoke(args=["audit", "verify", "--head", "nonsense"]).exit_code == 2


@pytest.mark.parametrize(
    "table",
    [
        "audit_log",
        "chain_entries",
        "engagement_events",
        "engagement_files",
        "notice_batches",
        "notice_entries",
        "notice_renderings",
        "pledge_signatures",
        "provider_revisions",
        "ratings",
        "reports",
        "site_notices",
        "stored_files",
    ],
)
def test_truncate_and_delete_are_refused(table, history):
    connection = db.session.connection()
    assert connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() > 0  # a row to protect
    statements = ["DELETE FROM " + table] + ([f"TRUNCATE {table} CASCADE"] if _postgres() else [])
    for statement in statements:
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with connection.begin_nested():
                connection.exec_driver_sql(statement)


def test_a_savepoint_rolled_back_keeps_the_entries_of_what_was_written_before_it(db, make_user):
    """A savepoint's rollback emptied the list of what the whole transaction wrote: a genuine audit
    entry committed after it had no chain entry, and verify cried tampering."""
    from marketplace.common import audit

    entry = audit.record("note", object_type="Test", object_id="1", actor=make_user(Role.ADMIN))
    db.session.flush()
    with pytest.raises(ValueError), db.session.begin_nested():
        audit.record("inside", object_type="Test", object_id="2")
        db.session.flush()
        raise ValueError("refused, and handled by the caller")
    db.session.commit()
    assert _entry_of("audit_log", entry.id) is not None
    assert chain.verify().ok
