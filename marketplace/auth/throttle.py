"""Failed logins slow guessing down without locking anyone out.

- Per attempting address and per (address, account) pair, refused logins are counted by the rate
  limiter (``LOGIN_RATE_LIMIT``, ``LOGIN_PAIR_RATE_LIMIT``): an attacker's address is stopped, the
  account's owner elsewhere is not. Only refused logins count: a success or a server error does not.
- Per account, after ``LOGIN_FREE_FAILURES`` refused logins within ``LOGIN_FAILURE_WINDOW`` seconds,
  each further attempt waits a delay that doubles, up to ``LOGIN_MAX_DELAY`` seconds; an attempt made
  sooner is not weighed at all (the password is not checked). It is a delay, never a lock.
- A browser that has logged in to an account before carries a signed "known device" cookie
  (OWASP's device cookies): its attempts on that account skip the account's delay and the pair limit,
  so guessing from elsewhere never keeps the owner out.

Counts live in the rate limiter's storage (Redis with several workers), keyed by a hash of the
address typed, whether or not an account has it, so the delays say nothing about which accounts exist.
"""

import hashlib
import math
import time

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

from marketplace.auth.services import normalise_email
from marketplace.extensions import limiter

DEVICE_COOKIE = "known_device"
DEVICE_ACCOUNTS = 5  # accounts remembered per browser
DEVICE_MAX_AGE = 365 * 24 * 3600


def _account(email):
    return hashlib.sha256(normalise_email(email or "").encode()).hexdigest()[:32]


def _enabled():
    return current_app.config.get("RATELIMIT_ENABLED", True)


def _failures_key(account):
    return f"login-failures:{account}"


def _wait_key(account, failures):
    return f"login-wait:{account}:{failures}"


def delay_after(failures):
    """Seconds the next attempt waits after ``failures`` refused logins in the window."""
    free = current_app.config["LOGIN_FREE_FAILURES"]
    if failures < free:
        return 0
    return min(2 ** (failures - free), current_app.config["LOGIN_MAX_DELAY"])


def wait_seconds(email):
    """How long before an attempt on this account is weighed (0: now). A known device never waits."""
    if not _enabled() or known_device(email):
        return 0
    account = _account(email)
    failures = limiter.storage.get(_failures_key(account))
    key = _wait_key(account, failures)
    if not failures or not limiter.storage.get(key):
        return 0
    return max(1, math.ceil(limiter.storage.get_expiry(key) - time.time()))


def refused(email):
    """Count a refused login on this account and start the delay it earns."""
    if not _enabled():
        return
    account = _account(email)
    failures = limiter.storage.incr(_failures_key(account), current_app.config["LOGIN_FAILURE_WINDOW"])
    delay = delay_after(failures)
    if delay:
        limiter.storage.incr(_wait_key(account, failures), delay)


def succeeded(email):
    """A successful login: the account's count starts again."""
    if _enabled():
        limiter.storage.clear(_failures_key(_account(email)))


def pair_key():
    """The rate limiter's key for the (address, account) pair of this login attempt."""
    return f"login-pair:{request.remote_addr}:{_account(request.form.get('email', ''))}"


# --- known devices ------------------------------------------------------------------------------


def _serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="known-device")


def _device_accounts():
    try:
        accounts = _serializer().loads(request.cookies.get(DEVICE_COOKIE, ""))
    except BadSignature:
        return []
    return [a for a in accounts if isinstance(a, str)] if isinstance(accounts, list) else []


def known_device(email=None):
    """Whether this browser has logged in to the account (the one typed, by default) before."""
    email = request.form.get("email", "") if email is None else email
    return _account(email) in _device_accounts()


def remember_device(response, email):
    """After a successful login: this browser is known to the account from now on."""
    account = _account(email)
    accounts = [account] + [a for a in _device_accounts() if a != account]
    response.set_cookie(
        DEVICE_COOKIE,
        _serializer().dumps(accounts[:DEVICE_ACCOUNTS]),
        max_age=DEVICE_MAX_AGE,
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Lax",
    )
    return response
