"""The schema changes only by migration: an empty database goes up to head and back down, on
the engine under test, and the models agree with the migrations."""

import flask_migrate
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from marketplace import create_app
from tests import dbutil
from tests.conftest import make_config


def _tables(url):
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_empty_database_upgrades_to_head_and_back_down(tmp_path):
    with dbutil.scratch_database(tmp_path) as url:
        app = create_app(make_config(url))
        with app.app_context():
            flask_migrate.upgrade()
            assert {"users", "counties", "service_categories", "audit_log"} <= _tables(url)
            from marketplace.extensions import db

            assert db.session.execute(sa.text("SELECT count(*) FROM counties")).scalar() == 8
            db.session.remove()
            flask_migrate.downgrade(revision="base")
            assert _tables(url) == set()
            flask_migrate.upgrade()  # and up again: downgrades leave nothing behind
            assert "audit_log" in _tables(url)
            db.session.remove()
            db.engine.dispose()


def test_models_and_migrations_are_in_step(app):
    # The same check as `flask --app wsgi db check`: raises when autogenerate finds a difference.
    with app.app_context():
        flask_migrate.check()


def test_migration_files_are_dated_and_linear(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1
    import re
    from pathlib import Path

    for path in Path(script.versions).glob("*.py"):
        assert re.match(r"^\d{8}_\d{4}_[0-9a-f]+_[a-z0-9_]+\.py$", path.name), path.name


def test_flask_db_check_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_indexed_words_move_to_their_own_table_and_back_without_a_rebuild(tmp_path):
    """PostgreSQL's vectors moved from ``search_documents`` to the narrow ``search_terms`` (and back down):
    an agency indexed before the upgrade is found after it, with no rebuild of the index."""
    with dbutil.scratch_database(tmp_path) as url:
        app = create_app(make_config(url))
        with app.app_context():
            from marketplace.extensions import db

            flask_migrate.upgrade(revision="b7c1d2e3f4a5")
            postgresql = db.engine.dialect.name == "postgresql"
            db.session.execute(
                sa.text(
                    "INSERT INTO search_documents (doc_id, seq, gen, listed, uscc, name, description, category_ids,"
                    " county_ids, status, pledge_version, published_ts, updated_ts, rating, name_py, name_ini,"
                    " name_words, words) VALUES (7, 1, 1, true, '', '南通安泰', '', '', '', 'published', 1, 0, 0, 0,"
                    " '', '', '南通 安泰', '南通 安泰')"
                )
            )
            if postgresql:
                db.session.execute(sa.text("UPDATE search_documents SET terms = '南通:1A 安泰:2A' WHERE doc_id = 7"))
            else:
                db.session.execute(sa.text("INSERT INTO search_fts (rowid, name) VALUES (7, '南通 安泰')"))
            db.session.commit()
            db.session.remove()

            def found():
                if postgresql:
                    sql = "SELECT doc_id FROM search_terms WHERE terms @@ CAST('安泰' AS tsquery)"
                else:
                    sql = "SELECT rowid FROM search_fts WHERE search_fts MATCH '\"安泰\"'"
                try:
                    return db.session.scalars(sa.text(sql)).all()
                finally:
                    db.session.remove()

            flask_migrate.upgrade()
            assert found() == [7]
            flask_migrate.downgrade(revision="b7c1d2e3f4a5")
            if postgresql:
                assert db.session.scalars(
                    sa.text("SELECT doc_id FROM search_documents WHERE terms @@ CAST('安泰' AS tsquery)")
                ).all() == [7]
                db.session.remove()
            flask_migrate.upgrade()
            assert found() == [7]
            db.engine.dispose()
