"""``flask --app wsgi backup`` and ``restore``: a consistent copy of everything the registry holds.

A backup is a folder:

- ``database.sqlite`` (SQLite's online backup API: a consistent snapshot while the site runs) or
  ``database.pgdump`` (``pg_dump`` in its custom format, taken from an exported snapshot);
- ``uploads/``: every file the snapshot's stored_files name (notice PDFs and CSVs live in the database);
- ``manifest.json``: what was copied, read from the same snapshot: the schema revision, the row count of
  every table, the hash chain's head, the search index's format (the index itself is rebuilt from the
  database on restore), and the SHA-256 and size of every file;
- ``manifest.sha256``: the SHA-256 of manifest.json.

``restore`` checks every hash first, fills an empty instance (a database without tables, an empty upload
folder), rebuilds the search index, and compares the restored database with the manifest and the hash
chain (``audit verify``) before it says it is done.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from marketplace import search
from marketplace.common import chain
from marketplace.common.time import utcnow
from marketplace.extensions import db
from marketplace.search import analysis
from marketplace.search.models import FTS_TABLE

FORMAT = 1
MANIFEST, MANIFEST_HASH = "manifest.json", "manifest.sha256"


class BackupError(click.ClickException):
    pass


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _libpq_url(url):
    """The database URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def counted_tables(connection):
    """The tables whose rows are counted: not SQLite's FTS5 storage of the search index, whose row count
    depends on how its segments were last merged, not on what it holds."""
    return sorted(
        name
        for name in sa.inspect(connection).get_table_names()
        if name != "alembic_version" and not name.startswith(FTS_TABLE)
    )


def describe(connection):
    """Row counts, the schema revision, the chain head and the stored files, as this connection sees them."""
    counts = {
        t: connection.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar() for t in counted_tables(connection)
    }
    revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    seq, digest = chain.head(connection)
    files = connection.execute(sa.text("SELECT path, sha256, size FROM stored_files ORDER BY id")).all()
    return {"revision": revision, "counts": counts, "chain_head": [seq, digest]}, files


def _snapshot_sqlite(engine, target):
    """A consistent copy made with SQLite's online backup API; described from the copy itself."""
    source = sqlite3.connect(engine.url.database)
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy)
    finally:
        source.close()
        copy.close()
    snapshot = sa.create_engine(f"sqlite:///{target}")
    try:
        with snapshot.connect() as connection:
            return describe(connection)
    finally:
        snapshot.dispose()


def _snapshot_postgres(engine, target):
    """pg_dump of an exported snapshot, described in the transaction that holds the snapshot."""
    with engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar()
            described = describe(connection)
            run = subprocess.run(
                ["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}", "--file", str(target)]
                + ["--dbname", _libpq_url(engine.url)],
                capture_output=True,
                text=True,
            )
            if run.returncode != 0:
                raise BackupError("pg_dump failed: " + run.stderr.strip())
    return described


def make_backup(folder):
    """Write a backup into ``folder`` (created; must not exist). Returns the manifest."""
    folder = Path(folder)
    if folder.exists():
        raise BackupError(f"{folder} already exists: choose a new folder for the backup.")
    work = Path(tempfile.mkdtemp(prefix=".backup-", dir=folder.parent if folder.parent.exists() else None))
    try:
        engine = db.engine
        if engine.dialect.name == "sqlite":
            database = work / "database.sqlite"
            described, files = _snapshot_sqlite(engine, database)
        elif engine.dialect.name == "postgresql":
            database = work / "database.pgdump"
            described, files = _snapshot_postgres(engine, database)
        else:
            raise BackupError(f"backups of {engine.dialect.name} databases are not supported")
        uploads = Path(current_app.config["UPLOAD_FOLDER"])
        manifest_files = {database.name: {"sha256": _sha256(database), "size": database.stat().st_size}}
        missing = []
        for relative, recorded, _size in files:
            source = uploads / relative
            if not source.is_file():
                missing.append(relative)
                continue
            target = work / "uploads" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            digest = _sha256(target)
            if digest != recorded:
                missing.append(f"{relative} (its SHA-256 is not the one recorded)")
            manifest_files[f"uploads/{relative}"] = {"sha256": digest, "size": target.stat().st_size}
        if missing:
            raise BackupError("stored files missing or changed, backup not made: " + ", ".join(missing[:10]))
        manifest = {
            "format": FORMAT,
            "made_at": utcnow().isoformat(),
            "engine": engine.dialect.name,
            "search_index_format": analysis.index_format(),
            **described,
            "files": manifest_files,
        }
        text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True)
        (work / MANIFEST).write_text(text, encoding="utf-8")
        (work / MANIFEST_HASH).write_text(hashlib.sha256(text.encode("utf-8")).hexdigest() + "  manifest.json\n")
        os.replace(work, folder)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def read_backup(folder):
    """The manifest of a backup, once every file's SHA-256 has been checked against it."""
    folder = Path(folder)
    try:
        text = (folder / MANIFEST).read_text(encoding="utf-8")
        recorded = (folder / MANIFEST_HASH).read_text().split()[0]
    except (OSError, IndexError):
        raise BackupError(f"{folder} holds no backup (manifest.json and manifest.sha256 are needed).") from None
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != recorded:
        raise BackupError("manifest.json does not match manifest.sha256: the backup was changed.")
    manifest = json.loads(text)
    for relative, expected in manifest["files"].items():
        path = folder / relative
        if not path.is_file() or _sha256(path) != expected["sha256"]:
            raise BackupError(f"{relative} is missing from the backup or differs from its manifest.")
    return manifest


def restore_backup(folder):
    """Fill this (empty) instance from a backup; returns the manifest. Refuses a non-empty instance."""
    manifest = read_backup(folder)
    folder, engine = Path(folder), db.engine
    if engine.dialect.name != manifest["engine"]:
        raise BackupError(
            f"the backup is of a {manifest['engine']} database; this instance uses {engine.dialect.name}."
        )
    with engine.connect() as connection:
        if sa.inspect(connection).get_table_names():
            raise BackupError("this instance's database is not empty: restore only into a new, empty database.")
    uploads = Path(current_app.config["UPLOAD_FOLDER"])
    if uploads.exists() and any(uploads.iterdir()):
        raise BackupError(f"the upload folder {uploads} is not empty: restore only into an empty instance.")
    db.session.remove()
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(folder / "database.sqlite")
        target = sqlite3.connect(engine.url.database)
        try:
            with target:
                source.backup(target)
        finally:
            source.close()
            target.close()
    else:
        run = subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", _libpq_url(engine.url)]
            + [str(folder / "database.pgdump")],
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise BackupError("pg_restore failed: " + run.stderr.strip())
    engine.dispose()
    for relative in manifest["files"]:
        if relative.startswith("uploads/"):
            target = uploads / relative.removeprefix("uploads/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / relative, target)
    return manifest


def compare(manifest):
    """Differences between this instance and a manifest (empty when the restore is whole)."""
    described, _files = describe(db.session.connection())
    differences = []
    for key in ("revision", "chain_head"):
        if described[key] != manifest[key]:
            differences.append(f"{key}: {described[key]} here, {manifest[key]} in the backup")
    for table, count in manifest["counts"].items():
        if described["counts"].get(table) != count:
            differences.append(f"{table}: {described['counts'].get(table)} rows here, {count} in the backup")
    return differences


@click.command("backup")
@click.option(
    "--to",
    "folder",
    type=click.Path(file_okay=False),
    help="The folder to create (default: backups/<date-time> under the instance folder).",
)
@with_appcontext
def backup_command(folder):
    """Back up the database (a consistent snapshot, while the site runs), the stored files and a
    manifest of their SHA-256 hashes."""
    folder = folder or Path(current_app.instance_path) / "backups" / utcnow().strftime("%Y%m%d-%H%M%S")
    Path(folder).parent.mkdir(parents=True, exist_ok=True)
    manifest = make_backup(folder)
    rows = sum(manifest["counts"].values())
    seq, digest = manifest["chain_head"]
    click.echo(
        f"Backed up to {folder}: {rows} rows in {len(manifest['counts'])} tables, "
        f"{len(manifest['files']) - 1} stored files, chain head {seq}:{digest}."
    )


@click.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@with_appcontext
def restore_command(folder):
    """Fill this empty instance from a backup folder, then check it against the backup's manifest and
    the hash chain."""
    manifest = restore_backup(folder)
    search.reindex()
    differences = compare(manifest)
    result = chain.verify()
    if differences or not result.ok:
        problems = differences + ([str(result.first)] if not result.ok else [])
        raise BackupError("restored, but it differs from the backup: " + "; ".join(problems[:10]))
    seq, digest = manifest["chain_head"]
    click.echo(
        f"Restored from {folder}: {sum(manifest['counts'].values())} rows, "
        f"{len(manifest['files']) - 1} stored files, chain head {seq}:{digest}; audit verify passes."
    )
