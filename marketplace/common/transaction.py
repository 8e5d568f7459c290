"""The one place that commits: services flush and raise ``DomainError``; a view or a command wraps
the service calls of one write in ``committing()``, which commits when they succeed and rolls back
when they fail, turning the error into what the user reads:

    if form.validate_on_submit():
        with committing(form) as saved:
            services.save_profile(actor, enterprise, **values)
        if saved:
            flash(...)
            return redirect(...)
    return render_template(..., form=form)

- a ``DomainError`` goes beside the field it names on ``form`` (above the form when it names none),
  or into a flash message when there is no form; in a CLI command it becomes a ``ClickException``;
- ``NotFound`` answers 404 and ``PermissionDenied`` 403, whatever the page;
- a ``StaleDataError`` (a ``Versioned`` record saved by another request meanwhile) becomes
  ``common.editing.EditedMeanwhile``;
- an ``IntegrityError`` (a race another request won, such as the same credit code saved at the same
  moment) becomes ``conflict()`` when given, else it propagates like any other failure;
- an error whose ``keep_writes`` is true (a refused login, whose audit entry must stand) commits what
  the service recorded before it refused.

Anything else rolls back and propagates, so the error page is shown and nothing is half-saved.
"""

import contextlib

import click
from flask import abort, flash, has_request_context
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from marketplace.common.editing import EditedMeanwhile
from marketplace.common.errors import DomainError, NotFound, PermissionDenied
from marketplace.common.forms import show_error
from marketplace.extensions import db


class Outcome:
    """True once the writes are committed; ``error`` holds the refusal otherwise."""

    def __init__(self):
        self.ok = False
        self.error = None

    def __bool__(self):
        return self.ok


@contextlib.contextmanager
def committing(form=None, *, conflict=None, flash_category="danger"):
    """Commit the block's writes, or roll them back and report why (see the module's text)."""
    outcome = Outcome()
    try:
        yield outcome
        db.session.commit()
    except DomainError as exc:
        _finish(exc)
        outcome.error = exc
    except IntegrityError:
        db.session.rollback()
        if conflict is None:
            raise
        outcome.error = conflict()
    except StaleDataError:  # a record saved by another request between this one's read and write
        db.session.rollback()
        outcome.error = EditedMeanwhile()
    except BaseException:
        db.session.rollback()
        raise
    else:
        outcome.ok = True
        return
    _report(outcome.error, form, flash_category)


def _finish(exc):
    if getattr(exc, "keep_writes", False):
        db.session.commit()
    else:
        db.session.rollback()


def _report(error, form, flash_category):
    if isinstance(error, NotFound):
        abort(404)
    if isinstance(error, PermissionDenied) and has_request_context():
        abort(403)
    if not has_request_context():
        raise click.ClickException(str(error.message))
    if form is not None:
        show_error(form, error)
    else:
        flash(str(error.message), flash_category)
