"""Configuration classes, chosen by ``MARKETPLACE_ENV`` and filled from the environment."""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parents[1]  # the checkout: marketplace/ sits in it
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))


def public_base_url(value):
    """``https://host[:port][/prefix]`` and nothing else, or an error that says what it should be."""
    parts = urlsplit(value or "")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise RuntimeError(
            "PUBLIC_BASE_URL must be the address the public reaches the site at, such as "
            f"https://aq.example.gov.cn (scheme and host, optionally a path); got {value!r}"
        )
    return value.rstrip("/")


def _bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _dev_secret_key():
    """A per-checkout random key kept under instance/, so development sessions survive restarts."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def normalise_database_url(url):
    """Accept the usual ``postgres://``/``postgresql://`` forms and select the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class BaseConfig:
    ENV_NAME = "base"
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # SQLite: how long a write waits for another worker's before the user is asked to try again.
    SQLITE_BUSY_TIMEOUT = float(os.environ.get("SQLITE_BUSY_TIMEOUT", "10"))

    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh", "en")

    BOOTSTRAP_SERVE_LOCAL = True
    # Browsers keep static files (Bootstrap, app.css with its version in the address) for half a day
    # instead of asking again on every page.
    SEND_FILE_MAX_AGE_DEFAULT = timedelta(hours=12)
    BOOTSTRAP_BOOTSWATCH_THEME = None

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 20 * 1024 * 1024))

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # Number of reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust
    # (0: none). Client addresses drive the rate limits and the audit log.
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
    RATELIMIT_HEADERS_ENABLED = True
    # Refused logins (see auth.throttle): per client address (an office behind one proxy shares it,
    # and so do password-reset requests), per address and account, and a doubling delay per account
    # after a few failures, never a lock.
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "30 per 5 minutes")
    LOGIN_PAIR_RATE_LIMIT = os.environ.get("LOGIN_PAIR_RATE_LIMIT", "10 per 15 minutes")
    LOGIN_FREE_FAILURES = int(os.environ.get("LOGIN_FREE_FAILURES", "5"))
    LOGIN_FAILURE_WINDOW = int(os.environ.get("LOGIN_FAILURE_WINDOW", "900"))
    LOGIN_MAX_DELAY = int(os.environ.get("LOGIN_MAX_DELAY", "60"))
    REGISTER_RATE_LIMIT = os.environ.get("REGISTER_RATE_LIMIT", "5 per hour")
    # Verifying report numbers, per client address: enough for anyone checking reports, too few to
    # walk the numbers of an agency to list its clients.
    REPORT_VERIFY_RATE_LIMIT = os.environ.get("REPORT_VERIFY_RATE_LIMIT", "30 per minute; 300 per day")

    # Uploads (qualification scans): PDF, JPEG or PNG, checked by content, kept outside the web root.
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER") or str(INSTANCE_DIR / "uploads")
    UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", 10 * 1024 * 1024))
    # After a new pledge version is issued, agencies have this many days to sign it again before
    # their profile says "pledge outdated".
    PLEDGE_GRACE_DAYS = int(os.environ.get("PLEDGE_GRACE_DAYS", "30"))
    QUALIFICATION_REMINDER_DAYS = 30
    SEARCH_INDEX_DIR = os.environ.get("SEARCH_INDEX_DIR") or str(INSTANCE_DIR / "search-index")
    SEARCH_HEAL_ON_START = True
    # "database" (SQLite FTS5 / PostgreSQL full-text search), "whoosh", or "auto": the default for the engine
    SEARCH_BACKEND = os.environ.get("SEARCH_BACKEND", "auto")
    SEARCH_WRITE_TIMEOUT = float(os.environ.get("SEARCH_WRITE_TIMEOUT", "10"))
    # Counties and categories are cached per worker; an edit shows in the other workers after this.
    REFERENCE_CACHE_SECONDS = 30
    # Bytes of whole pages (gzip-compressed) each worker keeps for visitors without a session; 0: none.
    PAGE_CACHE_BYTES = int(os.environ.get("PAGE_CACHE_BYTES", str(8 * 1024 * 1024)))
    # A TrueType CJK font to embed in PDFs instead of the packaged Noto Sans SC (rendercv-fonts).
    PDF_CJK_FONT = os.environ.get("PDF_CJK_FONT") or None

    PASSWORD_MIN_LENGTH = 10
    # argon2id parameters (argon2-cffi's defaults are the RFC 9106 "low memory" profile). Each stored
    # hash records its own, so changing them only affects passwords set from then on.
    ARGON2_TIME_COST = int(os.environ.get("ARGON2_TIME_COST", "3"))
    ARGON2_MEMORY_COST = int(os.environ.get("ARGON2_MEMORY_COST", "65536"))  # KiB
    ARGON2_PARALLELISM = int(os.environ.get("ARGON2_PARALLELISM", "4"))

    OPERATOR_NAME_ZH = os.environ.get("OPERATOR_NAME_ZH", "南通市应急管理局")
    OPERATOR_NAME_EN = os.environ.get("OPERATOR_NAME_EN", "Nantong Municipal Emergency Management Bureau")
    OPERATOR_CONTACT = os.environ.get("OPERATOR_CONTACT", "0513-85098000")

    # Mail (password-reset links). Without MAIL_SERVER nothing is sent: the message goes to the log.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "noreply@nt-safety.cn")
    MAIL_SUPPRESS_SEND = not MAIL_SERVER
    PER_PAGE = 20
    # The address the public reaches the site at; links in mail are built from it, never from the
    # request's Host header. Required in production.
    PUBLIC_BASE_URL = public_base_url(os.environ["PUBLIC_BASE_URL"]) if os.environ.get("PUBLIC_BASE_URL") else None


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"
    DEBUG = False

    def __init__(self):
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        # Without a mail server, messages are kept as .eml files here as well as logged.
        self.MAIL_OUTBOX = os.environ.get("MAIL_OUTBOX") or str(INSTANCE_DIR / "outbox")
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or _dev_secret_key()
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'marketplace.db'}"
        )


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key"
    WTF_CSRF_ENABLED = False  # tests that exercise CSRF switch it back on
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    ARGON2_PARALLELISM = 1
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    MAIL_SUPPRESS_SEND = True  # messages are recorded (mail.record_messages), never sent
    JOBS_IMMEDIATE = True  # a job runs at once, in the request that queues it (JOBS_URL=memory://)

    def __init__(self):
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(os.environ.get("TEST_DATABASE_URL") or "sqlite://")


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"
    # Redirect plain HTTP to HTTPS here (off by default: the proxy in front usually does it, and a
    # health check over plain HTTP would be redirected). HSTS is sent on every HTTPS response anyway.
    FORCE_HTTPS = _bool("FORCE_HTTPS")
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"

    def __init__(self):
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL", "PUBLIC_BASE_URL") if not os.environ.get(name)]
        if missing:
            raise RuntimeError("Production configuration refuses to start without: " + ", ".join(missing))
        self.PUBLIC_BASE_URL = public_base_url(os.environ["PUBLIC_BASE_URL"])
        self.SECRET_KEY = os.environ["SECRET_KEY"]
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(os.environ["DATABASE_URL"])
        self.SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env():
    """The configuration object that ``MARKETPLACE_ENV`` names (development by default)."""
    name = os.environ.get("MARKETPLACE_ENV", "development").strip().lower()
    try:
        return CONFIGS[name]()
    except KeyError:
        raise RuntimeError(f"Unknown MARKETPLACE_ENV {name!r}; use one of: {', '.join(CONFIGS)}") from None
