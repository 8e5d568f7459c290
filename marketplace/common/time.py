"""Time helpers: the database stores UTC (``common.models.UTCDateTime``); people read Beijing time."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")  # the bureau's, whatever the server's time zone


def utcnow():
    """The current time in UTC, timezone-aware."""
    return datetime.now(timezone.utc)


def local_today():
    """Today's date in Nantong."""
    return datetime.now(LOCAL_ZONE).date()


def local_date(value):
    """The Nantong date of an aware datetime."""
    return value.astimezone(LOCAL_ZONE).date()
