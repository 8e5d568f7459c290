"""Every model, imported in one place so that migrations and `flask db check` see the whole schema."""

from marketplace.auth.models import User  # noqa: F401
from marketplace.common.chain import ChainCheck, ChainEntry  # noqa: F401
from marketplace.common.counters import Counter  # noqa: F401
from marketplace.common.models import AuditLog, StoredFile  # noqa: F401
from marketplace.engagements.models import (  # noqa: F401
    Engagement,
    EngagementEvent,
    EngagementFile,
    Rating,
    Report,
    SiteNotice,
)
from marketplace.enterprises.models import Enterprise  # noqa: F401
from marketplace.inspections.models import (  # noqa: F401
    Campaign,
    CampaignUnit,
    Check,
    CheckFile,
    CheckItem,
    ConflictDeclaration,
    Draw,
    Finding,
    Penalty,
    Rectification,
    Violation,
)
from marketplace.jobs.models import Job  # noqa: F401
from marketplace.pledges.models import PledgeSignature, PledgeText  # noqa: F401
from marketplace.providers.models import (  # noqa: F401
    Fee,
    NoticeBatch,
    NoticeEntry,
    NoticeRendering,
    Provider,
    ProviderRevision,
    Qualification,
    StaffMember,
)
from marketplace.reference.models import County, ServiceCategory  # noqa: F401
