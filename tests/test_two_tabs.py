"""Two tabs (or two people) editing the same record: the second save is refused with both versions in
view, never silently lost. Before records carried a version, 4 of 4 forms tried (declaration, enterprise
profile, staff member, county) let the second save overwrite the first and both said "saved"."""

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.auth.roles import Role
from marketplace.engagements.models import Enterprise
from marketplace.extensions import db
from marketplace.providers import services as provider_services
from marketplace.providers.models import Fee, Provider, Qualification, StaffMember
from marketplace.reference.models import County, ServiceCategory
from tests import factories
from tests.forms import form_data

EN = {"Accept-Language": "en"}
REFUSED = "Someone else saved this record after you opened it, so nothing of yours was saved."


def _agency(users):
    provider = factories.declare(users["agency"])
    return users["agency"], provider


def declaration(users):
    user, provider = _agency(users)
    return user, "/providers/me/declaration", provider, "address"


def enterprise_profile(users):
    factories.make_enterprise(users["enterprise"])
    enterprise = factories.own_enterprise(users["enterprise"])
    return users["enterprise"], "/enterprises/me/profile", enterprise, "address"


def staff_member(users):
    user, provider = _agency(users)
    member = factories.add_staff(user, provider)
    return user, f"/providers/me/staff/{member.id}", member, "title"


def county(users):
    record = factories.county("320612")
    return users["admin"], f"/admin/counties/{record.id}", record, "name_en"


def qualification(users):
    user, provider = _agency(users)
    record = factories.add_qualification(user, provider)
    return user, f"/providers/me/qualifications/{record.id}", record, "issuer"


def fee(users):
    user, provider = _agency(users)
    record = provider_services.save_fee(
        user, provider, None, item="安全评价", unit="项", price_min=Decimal("8000"), price_max=None, basis="按项目"
    )
    return user, f"/providers/me/fees/{record.id}", record, "basis"


def category(users):
    return users["admin"], f"/admin/categories/{factories.category('consulting').id}", None, "name_en"


def account(users):
    return users["admin"], f"/admin/users/{users['enterprise'].id}", users["enterprise"], "display_name"


FORMS = (declaration, enterprise_profile, staff_member, county, qualification, fee, category, account)
MODELS = {
    declaration: Provider,
    enterprise_profile: Enterprise,
    staff_member: StaffMember,
    county: County,
    qualification: Qualification,
    fee: Fee,
    category: ServiceCategory,
}


def _saved(path, record, field):
    db.session.expire_all()
    if record is None:
        record = db.session.get(ServiceCategory, int(path.rsplit("/", 1)[1]))
    return getattr(db.session.get(type(record), record.id), field)


@pytest.mark.parametrize("opened", FORMS, ids=lambda f: f.__name__)
def test_the_second_of_two_tabs_is_refused_with_both_versions_shown_then_saves_on_purpose(
    opened, users, client, login_as
):
    user, path, record, field = opened(users)
    db.session.commit()
    login_as(user)
    first_tab, second_tab = client.get(path, headers=EN), client.get(path, headers=EN)
    assert first_tab.status_code == second_tab.status_code == 200

    saved = client.post(path, data=form_data(first_tab, path, **{field: "Saved in the first tab"}), headers=EN)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]

    refused = client.post(path, data=form_data(second_tab, path, **{field: "Typed in the second tab"}), headers=EN)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200
    assert REFUSED in page
    # what this person typed stays in the form; what the other saved is shown beside it and listed above
    assert re.search(rf'name="{field}"[^>]*(value="|>\s*)Typed in the second tab', page)
    beside = re.findall(r'class="form-text text-warning-emphasis saved-meanwhile">[^<]*<strong>([^<]*)</strong>', page)
    assert beside == ["Saved in the first tab"]
    assert "Saved in the first tab" in page.split('id="saved-meanwhile"')[1].split("</ul>")[0]
    assert _saved(path, record, field) == "Saved in the first tab"  # nothing of the second tab was written

    again = client.post(path, data=form_data(page, path), headers=EN)  # checked, and saved on purpose
    assert again.status_code == 302
    assert _saved(path, record, field) == "Typed in the second tab"


def test_a_change_to_what_the_form_does_not_show_does_not_refuse_it(users, client, login_as):
    """A rating, a status or a pledge moves the agency's version on; the declaration is still the same."""
    user, path, provider, field = declaration(users)
    db.session.commit()
    login_as(user)
    tab = client.get(path, headers=EN)
    provider.status_reason = "changed by someone else, outside the form"
    db.session.commit()
    assert provider.version > int(form_data(tab, path)["version"].split(".")[0])

    saved = client.post(path, data=form_data(tab, path, address="南通市崇川区工农路 200 号"), headers=EN)
    assert saved.status_code == 302
    assert _saved(path, provider, "address") == "南通市崇川区工农路 200 号"


def test_a_save_that_races_another_between_reading_and_writing_writes_nothing(users, app):
    """The check and the write are separated by a moment; the version in the UPDATE closes it."""
    from marketplace.common.editing import EditedMeanwhile
    from marketplace.common.transaction import committing

    user, provider = _agency(users)
    db.session.commit()
    version = provider.version
    db.session.execute(  # another request's save, which this session has not seen
        sa.update(Provider).where(Provider.id == provider.id).values(version=version + 1),
        execution_options={"synchronize_session": False},
    )
    with app.test_request_context(method="POST"), committing() as outcome:
        provider.address = "written over a version it never saw"
    assert isinstance(outcome.error, EditedMeanwhile)
    assert _saved("", provider, "address") != "written over a version it never saw"


def test_a_county_regulator_account_form_shows_the_saved_county_by_name(users, client, login_as):
    """A select's saved value is shown as its label, not its number."""
    regulator = users[Role.COUNTY_REGULATOR.value]
    path = f"/admin/users/{regulator.id}"
    login_as(users["admin"])
    first_tab, second_tab = client.get(path, headers=EN), client.get(path, headers=EN)
    tongzhou = factories.county("320612")
    client.post(path, data=form_data(first_tab, path, county_id=str(tongzhou.id)), headers=EN)
    refused = client.post(path, data=form_data(second_tab, path, display_name="Another name"), headers=EN)
    page = refused.get_data(as_text=True)
    assert REFUSED in page
    assert f"<strong>{tongzhou.name_en or tongzhou.name_zh}</strong>" in page
