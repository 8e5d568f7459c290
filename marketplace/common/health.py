"""Health checks for /healthz. Other packages (search) add theirs with ``register_check``."""

import sqlalchemy as sa

from marketplace.extensions import db

_CHECKS = {}


def register_check(name, check):
    """``check()`` returns a dict with at least ``ok`` (bool); it may raise, which counts as not ok."""
    _CHECKS[name] = check


def database_check():
    db.session.execute(sa.text("SELECT 1"))
    return {"ok": True, "dialect": db.engine.dialect.name}


register_check("database", database_check)


def run_checks():
    """Every check's result and whether all passed."""
    results = {}
    for name, check in _CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # a failing dependency is reported, not raised
            db.session.rollback()
            results[name] = {"ok": False, "error": exc.__class__.__name__}
    return results, all(result.get("ok") for result in results.values())
