"""Password hashing (argon2id) and the password policy."""

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

# A few of the passwords most often seen in Chinese and international leak lists.
COMMON_PASSWORDS = frozenset(
    """
    1234567890 12345678910 0123456789 1111111111 1qaz2wsx3edc qwertyuiop asdfghjkl1
    password12 password123 passw0rd12 iloveyou12 woaini1314 woaini520 5201314520
    a123456789 abc1234567 abcd123456 qwer123456 aa12345678 admin12345 admin123456
    qq12345678 zxcvbnm123 1q2w3e4r5t 1234qwer12 p@ssw0rd12 welcome123 letmein123
    """.split()
)


def _hasher():
    hasher = current_app.extensions.get("marketplace.password_hasher")
    if hasher is None:
        cfg = current_app.config
        hasher = PasswordHasher(
            time_cost=cfg["ARGON2_TIME_COST"],
            memory_cost=cfg["ARGON2_MEMORY_COST"],
            parallelism=cfg["ARGON2_PARALLELISM"],
        )
        current_app.extensions["marketplace.password_hasher"] = hasher
    return hasher


def hash_password(password):
    return _hasher().hash(password)


def verify_password(password_hash, password):
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password, email=""):
    """What is wrong with a new password, as translatable messages (empty when it is acceptable)."""
    problems = []
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        problems.append(_l("Use at least %(n)d characters.", n=minimum))
    if len(password) > 128:
        problems.append(_l("Use at most 128 characters."))
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        problems.append(_l("Use both letters and digits."))
    lowered = password.lower()
    local = email.split("@", 1)[0].lower() if email else ""
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4:
        problems.append(_l("This password is too common or too easy to guess."))
    elif len(local) >= 4 and local in lowered:
        problems.append(_l("Do not use your e-mail address in the password."))
    return problems
