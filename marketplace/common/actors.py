"""Who is acting: the one answer that services (their ``actor``) and the audit log both use.

In a request it is the logged-in user; a CLI command or the seeding names its actor with
``acting_as`` (usually ``auth.permissions.SYSTEM``), and so may a request that acts for someone
else (a new account is its own creator)."""

import contextlib

from flask import g, has_app_context, has_request_context
from flask_login import current_user


def current_actor():
    """The user changes are attributed to: an explicit ``acting_as`` user, else the logged-in one."""
    if not has_app_context():
        return None
    actor = g.get("acting_as", None)
    if actor is not None:
        return actor
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


@contextlib.contextmanager
def acting_as(user):
    """Attribute what happens inside the block to ``user``."""
    previous = g.get("acting_as", None)
    g.acting_as = user
    try:
        yield user
    finally:
        g.acting_as = previous
