"""Every model, imported in one place so that migrations and `flask db check` see the whole schema."""

from marketplace.auth.models import User  # noqa: F401
from marketplace.common.models import AuditLog, County, ServiceCategory, StoredFile  # noqa: F401
from marketplace.pledges.models import PledgeSignature, PledgeText  # noqa: F401
from marketplace.providers.models import (  # noqa: F401
    Fee, NoticeBatch, NoticeEntry, Provider, ProviderRevision, Qualification, StaffMember,
)
from marketplace.enterprises.models import (  # noqa: F401
    Engagement, EngagementEvent, EngagementFile, Enterprise, Rating, Report, SiteNotice,
)
