"""Every permission check, as a named function of the user (and the object, where there is one).

Views use them through ``permission_required``; templates through the ``permissions`` global;
services and the API call them directly. Anonymous users pass as ``AnonymousUserMixin``.
"""

from functools import wraps

from flask import abort
from flask_login import current_user

from marketplace.auth.roles import Role
from marketplace.common.actors import current_actor
from marketplace.extensions import login_manager


class _System:
    """The actor of CLI commands and seeding: trusted, and recorded as "system" in the audit log.
    Services refuse ``None`` as an actor, so a forgotten actor never passes a permission check."""

    id = None
    email = None
    is_authenticated = False

    def __repr__(self):
        return "<SYSTEM>"


SYSTEM = _System()


def _role(user):
    return getattr(user, "role", None) if user is not None and user.is_authenticated else None


def is_admin(user):
    return _role(user) is Role.ADMIN


def is_city_regulator(user):
    return _role(user) is Role.CITY_REGULATOR


def is_county_regulator(user):
    return _role(user) is Role.COUNTY_REGULATOR


def is_regulator(user):
    return _role(user) in (Role.COUNTY_REGULATOR, Role.CITY_REGULATOR)


def is_agency(user):
    return _role(user) is Role.AGENCY


def is_enterprise(user):
    return _role(user) is Role.ENTERPRISE


def can_use_account(user):
    """Any signed-in user: account page, password change."""
    return _role(user) is not None


def can_manage_users(user):
    return is_admin(user)


def can_deactivate_account(user, account):
    """Administrators, for every account but their own (someone must stay able to log in)."""
    return can_manage_users(user) and account is not None and account.id != user.id


def can_manage_reference_data(user):
    return is_admin(user)


def can_read_audit_log(user):
    return is_admin(user) or is_city_regulator(user)


def can_declare(user):
    """Agency accounts keep a declaration of their own."""
    return is_agency(user)


def can_edit_provider(user, provider):
    return is_agency(user) and provider is not None and provider.account_id == user.id


def can_view_provider_private(user, provider):
    """Drafts, revision history and scanned certificates: the agency itself, admins, city
    regulators, and the county regulator of the county where the agency is registered."""
    return can_edit_provider(user, provider) or (provider is not None and in_jurisdiction(user, provider.county_id))


def can_suspend_provider(user, provider):
    """City regulators anywhere; a county regulator for agencies registered in its county."""
    return (
        (is_city_regulator(user) or is_county_regulator(user))
        and provider is not None
        and in_jurisdiction(user, provider.county_id)
    )


def can_manage_pledge_texts(user):
    return is_admin(user)


def can_publish_notices(user):
    return is_city_regulator(user)


def can_view_job(user, job):
    """A job's page (its progress, its result, why it failed) is for the user who started it, and for
    administrators."""
    return is_admin(user) or (job.created_by_id is not None and job.created_by_id == getattr(user, "id", None))


def can_keep_enterprise_profile(user):
    """Enterprise accounts keep a profile of their own, and from it request services."""
    return is_enterprise(user)


def can_list_engagements(user):
    """Their own engagements for enterprises and agencies; their county's (or all) for regulators."""
    return is_enterprise(user) or is_agency(user) or is_regulator(user)


def is_engagement_client(user, engagement):
    """The enterprise that requested the engagement."""
    return is_enterprise(user) and engagement is not None and engagement.enterprise.account_id == user.id


def is_engagement_agency(user, engagement):
    """The agency asked to do the engagement."""
    return is_agency(user) and engagement is not None and engagement.provider.account_id == user.id


def can_view_engagement(user, engagement):
    """Both parties, the county regulator of the site's county, and city regulators."""
    return (
        is_engagement_client(user, engagement)
        or is_engagement_agency(user, engagement)
        or (is_regulator(user) and engagement is not None and in_jurisdiction(user, engagement.county_id))
    )


def can_remove_engagement_file(user, engagement, attached):
    """Only the side that attached a file takes it back (the step's states are the engagement's rule)."""
    if attached is None or attached.deleted_at is not None:
        return False
    if attached.side == "enterprise":
        return is_engagement_client(user, engagement)
    return attached.side == "agency" and is_engagement_agency(user, engagement)


def can_read_engagement_file(user, engagement, attached):
    """Anyone who sees the engagement reads its current files; a removed file stays evidence, read by
    the regulators of the engagement's county and the city."""
    if not can_view_engagement(user, engagement):
        return False
    return attached.deleted_at is None or (is_regulator(user) and in_jurisdiction(user, engagement.county_id))


def can_read_hidden_rating(user, engagement):
    """A hidden rating's text: the enterprise that wrote it and the regulators who may moderate it."""
    return is_engagement_client(user, engagement) or can_moderate_rating(user, engagement)


def can_request_service(user, provider):
    """The "request a service" offer: a published agency, to enterprises and to visitors (who log in first)."""
    return (
        provider is not None
        and getattr(provider.status, "value", None) == "published"
        and (is_enterprise(user) or not user.is_authenticated)
    )


def can_view_site_notices(user):
    """Upcoming on-site work: county regulators see their county's, city regulators every county's."""
    return is_regulator(user)


def can_moderate_rating(user, engagement):
    """Hide an abusive rating, with a public reason: regulators of the engagement's county or the city."""
    return is_regulator(user) and engagement is not None and in_jurisdiction(user, engagement.county_id)


# --- supervision (inspections) -------------------------------------------------------------------


def can_manage_campaigns(user):
    """Campaigns, their checklists and the violation catalogue are the city's; so are draws."""
    return is_city_regulator(user)


def can_list_campaigns(user):
    """Regulators (their county's units, or all) and agencies (their own units)."""
    return is_regulator(user) or is_agency(user)


def is_unit_agency(user, unit):
    return is_agency(user) and unit is not None and unit.provider.account_id == user.id


def can_view_unit(user, unit, assigned=()):
    """The agency that did the work, the regulators with jurisdiction, and the inspectors a draw
    assigned to it (``assigned``: their inspector ids), who come from other counties."""
    if unit is None:
        return False
    return (
        is_unit_agency(user, unit)
        or (is_regulator(user) and in_jurisdiction(user, unit.county_id))
        or (is_regulator(user) and inspector_id(user) in assigned)
    )


def can_self_check(user, unit):
    return is_unit_agency(user, unit)


def can_recheck(user, unit):
    """County regulators for their county's units; city regulators for every unit."""
    return is_regulator(user) and unit is not None and in_jurisdiction(user, unit.county_id)


def can_spot_check(user, unit, assigned=()):
    """City regulators, and the inspectors a revealed draw assigned to the unit."""
    return unit is not None and (is_city_regulator(user) or (is_regulator(user) and inspector_id(user) in assigned))


def can_record_finding(user, check):
    """Findings come from a recheck or a spot-check: the regulators with jurisdiction over the unit, or
    the inspector who submitted that spot-check."""
    if check is None or check.tier.value == "self":
        return False
    return can_recheck(user, check.unit) or (is_regulator(user) and check.submitted_by_id == user.id)


def can_read_check(user, check, assigned=()):
    """An agency reads its own self-checks; regulators who may see the unit read every tier."""
    if check is None:
        return False
    if is_agency(user):
        return check.tier.value == "self" and is_unit_agency(user, check.unit)
    return is_regulator(user) and can_view_unit(user, check.unit, assigned)


def inspector_id(user):
    """A regulator's public id in a draw's inspector pool."""
    return f"JC{user.id:05d}" if is_regulator(user) else None


def can_declare_conflict(user):
    return is_regulator(user)


def can_view_violations(user):
    return is_regulator(user)


def is_finding_party(user, finding):
    """The agency (for its own or its staff's violations) or the enterprise a finding is addressed to."""
    if finding is None:
        return False
    if finding.party.value == "enterprise":
        return is_enterprise(user) and finding.enterprise.account_id == user.id
    return is_agency(user) and finding.provider.account_id == user.id


def can_view_finding(user, finding):
    return is_finding_party(user, finding) or (
        is_regulator(user) and finding is not None and in_jurisdiction(user, finding.county_id)
    )


def can_list_findings(user):
    return is_regulator(user) or is_agency(user) or is_enterprise(user)


def can_decide_finding(user, finding):
    """Accept or return rectification evidence, record a penalty: regulators with jurisdiction."""
    return is_regulator(user) and finding is not None and in_jurisdiction(user, finding.county_id)


def can_see_every_penalty(user):
    """Penalties outside their publicity period (and corrected ones) stay for regulators only."""
    return is_regulator(user)


def in_jurisdiction(user, county_id):
    """City regulators and admins cover every county; a county regulator only its own."""
    if is_admin(user) or is_city_regulator(user):
        return True
    if is_county_regulator(user):
        return county_id is not None and county_id == user.county_id
    return False


def acting_user():
    """The user to hand to services as their ``actor``: the one the audit log records too."""
    return current_actor()


def permission_required(check):
    """View decorator: anonymous users go to the login page, users without ``check`` get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not check(current_user):
                abort(403)
            return view(*args, **kwargs)

        wrapped.permission = check
        return wrapped

    return decorator
