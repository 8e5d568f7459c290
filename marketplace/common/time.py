"""Time helpers: the database stores UTC; the UI shows Beijing time."""

from datetime import datetime, timezone


def utcnow():
    """The current time in UTC, timezone-aware."""
    return datetime.now(timezone.utc)


def local_today():
    """Today's date in Nantong (Asia/Shanghai), whatever the server's time zone."""
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def as_utc(value):
    """Treat a naive datetime read back from SQLite as the UTC it was stored as."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value
