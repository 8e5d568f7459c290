"""`flask backup` and `flask restore`: the demo registry backed up while it runs, restored into an
empty instance, and found whole: the same row counts, the same stored files, the same chain head, and
`audit verify` passing on the copy."""

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace import create_app, search
from marketplace.backup import counted_tables
from marketplace.extensions import db
from marketplace.search import SearchQuery
from tests import dbutil, live
from tests.conftest import IsolatedClient, make_config


def _app(url, folder):
    app = create_app(
        make_config(url, UPLOAD_FOLDER=str(folder / "uploads"), SEARCH_INDEX_DIR=str(folder / "search-index"))
    )
    app.test_client_class = IsolatedClient
    return app


def _close(app):
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory):
    """The demo registry, and a backup of it made with the real command."""
    copy = live.DemoCopy()
    app = _app(copy.url, copy.folder)
    target = tmp_path_factory.mktemp("backups") / "nightly"
    result = app.test_cli_runner().invoke(args=["backup", "--to", str(target)])
    assert result.exit_code == 0, result.output
    yield app, copy, target, result.output
    _close(app)
    copy.close()


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_backup_then_restore_gives_identical_counts_files_and_chain_head(backed_up, tmp_path):
    source, copy, backup, output = backed_up
    manifest = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    assert "chain head" in output and manifest["counts"]["audit_log"] > 100
    uploads = sorted(p.relative_to(copy.folder) for p in (copy.folder / "uploads").rglob("*") if p.is_file())
    assert uploads and {f"{p}" for p in uploads} == {k for k in manifest["files"] if k.startswith("uploads/")}

    with dbutil.scratch_database(tmp_path) as url:
        restored = _app(url, tmp_path / "restored")
        try:
            result = restored.test_cli_runner().invoke(args=["restore", str(backup)])
            assert result.exit_code == 0, result.output
            assert "audit verify passes" in result.output
            counts = {}
            for app in (source, restored):
                with app.app_context():
                    connection = db.session.connection()
                    tables = counted_tables(connection)  # every table but the FTS5 index's storage
                    counts[app] = {
                        t: connection.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables
                    }
                    head = connection.execute(sa.text("SELECT max(seq) FROM chain_entries")).scalar()
                    counts[app]["_chain_head"] = connection.execute(
                        sa.text("SELECT entry_sha256 FROM chain_entries WHERE seq = :s"), {"s": head}
                    ).scalar()
                    db.session.remove()
            assert counts[source] == counts[restored]
            assert counts[restored]["_chain_head"] == manifest["chain_head"][1]
            for relative in uploads:
                assert _sha256(tmp_path / "restored" / relative) == _sha256(copy.folder / relative)
            verify = restored.test_cli_runner().invoke(args=["audit", "verify"])
            assert verify.exit_code == 0 and "The chain is intact" in verify.output
            with restored.app_context():  # the search index was rebuilt from the restored database
                assert search.out_of_step() == [] and search.backend().search(SearchQuery(text="安全")).total > 10
                db.session.remove()

            again = restored.test_cli_runner().invoke(args=["restore", str(backup)])
            assert again.exit_code != 0 and "not empty" in again.output  # never over an instance in use
        finally:
            _close(restored)


def test_a_changed_backup_file_is_refused_before_anything_is_restored(backed_up, tmp_path):
    _source, _copy, backup, _output = backed_up
    changed = tmp_path / "changed"
    import shutil

    shutil.copytree(backup, changed)
    scan = next(p for p in (changed / "uploads").rglob("*") if p.is_file())
    scan.write_bytes(scan.read_bytes() + b"\x00")
    with dbutil.scratch_database(tmp_path) as url:
        restored = _app(url, tmp_path / "restored")
        try:
            result = restored.test_cli_runner().invoke(args=["restore", str(changed)])
            assert result.exit_code != 0 and "differs from its manifest" in result.output
            with restored.app_context():
                assert sa.inspect(db.session.connection()).get_table_names() == []  # nothing restored
                db.session.remove()
        finally:
            _close(restored)


def test_a_backup_is_refused_when_a_stored_file_is_missing(backed_up, tmp_path):
    source, copy, _backup, _output = backed_up
    scan = next(p for p in (copy.folder / "uploads").rglob("*") if p.is_file())
    kept = scan.read_bytes()
    scan.unlink()
    try:
        result = source.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path / "incomplete")])
        assert result.exit_code != 0 and "missing" in result.output
        assert not (tmp_path / "incomplete").exists()
    finally:
        scan.write_bytes(kept)
