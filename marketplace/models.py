"""Every model, imported in one place so that migrations and `flask db check` see the whole schema."""

from marketplace.auth.models import User  # noqa: F401
from marketplace.common.models import AuditLog, County, ServiceCategory  # noqa: F401
