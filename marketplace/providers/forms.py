"""Declaration forms. They check the form of the input; the rules live in services."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
    validators,
)

from marketplace.common.editing import VersionedFormMixin
from marketplace.common.forms import (
    NUMBER_MESSAGE,
    PRICE_RANGE,
    BaseForm,
    EmailAddress,
    MaxLength,
    MultiCheckboxField,
    Optional,
    Phone,
    Required,
    credit_code,
    finite,
    not_in_future,
    optional_int,
    strip,
    web_address,
)
from marketplace.providers.models import mask_id_number


class DeclarationForm(VersionedFormMixin, BaseForm):
    """The main part of the declaration; a draft may leave fields empty."""

    uscc = StringField(
        _l("Unified social credit code"),
        [Optional(), MaxLength(30), credit_code],
        filters=[strip],
        description=_l("18 characters, as on the business licence."),
    )
    name = StringField(_l("Agency name"), [Optional(), MaxLength(200)], filters=[strip])
    former_names = StringField(
        _l("Former names"),
        [Optional(), MaxLength(500)],
        filters=[strip],
        description=_l("Separate several names with commas."),
    )
    legal_representative = StringField(_l("Legal representative"), [Optional(), MaxLength(50)], filters=[strip])
    county_id = SelectField(_l("Registered county"), coerce=optional_int)
    address = StringField(_l("Address"), [Optional(), MaxLength(300)], filters=[strip])
    contact_person = StringField(_l("Contact person"), [Optional(), MaxLength(50)], filters=[strip])
    phone = StringField(_l("Phone"), [Optional(), Phone()], filters=[strip])
    email = StringField(_l("E-mail"), [Optional(), EmailAddress(), MaxLength(254)], filters=[strip])
    website = StringField(
        _l("Website"),
        [
            Optional(),
            MaxLength(300),
            validators.URL(require_tld=False, message=_l("Enter a web address, such as www.example.com.")),
        ],
        filters=[web_address],
    )
    founded_on = DateField(
        _l("Founding date"), [Optional(), not_in_future], format="%Y-%m-%d", render_kw={"type": "date"}
    )
    description = TextAreaField(_l("Description of services"), [Optional(), MaxLength(4000)], render_kw={"rows": 5})
    category_ids = MultiCheckboxField(_l("Service categories"), coerce=int)
    region_ids = MultiCheckboxField(_l("Counties served"), coerce=int)


class QualificationForm(VersionedFormMixin, BaseForm):
    cert_number = StringField(_l("Certificate number"), [Required(), MaxLength(100)], filters=[strip])
    issuer = StringField(_l("Issued by"), [Required(), MaxLength(200)], filters=[strip])
    scope = TextAreaField(_l("Scope"), [Optional(), MaxLength(1000)], render_kw={"rows": 3})
    valid_from = DateField(_l("Valid from"), [Required()], format="%Y-%m-%d", render_kw={"type": "date"})
    valid_to = DateField(_l("Valid until"), [Required()], format="%Y-%m-%d", render_kw={"type": "date"})
    category_ids = MultiCheckboxField(
        _l("Categories it covers"),
        coerce=int,
        description=_l("Enterprises choosing your agency for these categories are warned when it has expired."),
    )
    file = FileField(
        _l("Scanned certificate"),
        description=_l("PDF, JPEG or PNG, at most 10 MB. It is shown only to you and the regulators."),
        render_kw={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"},
    )


class MaskedField(StringField):
    """A personal ID number: never sent back to the browser, and shown masked when someone else saved one."""

    mask_saved = staticmethod(mask_id_number)


class StaffForm(VersionedFormMixin, BaseForm):
    name = StringField(_l("Name"), [Required(), MaxLength(50)], filters=[strip])
    title = StringField(
        _l("Title or qualification"),
        [Optional(), MaxLength(100)],
        filters=[strip],
        description=_l("For example: 一级安全评价师, 注册安全工程师."),
    )
    cert_number = StringField(_l("Certificate number"), [Optional(), MaxLength(100)], filters=[strip])
    id_number = MaskedField(
        _l("Resident ID number"),
        [Optional(), MaxLength(18)],
        filters=[strip],
        description=_l("Optional. Shown masked in every public view, e.g. 3206**********1234."),
    )


class FeeForm(VersionedFormMixin, BaseForm):
    item = StringField(_l("Service item"), [Required(), MaxLength(200)], filters=[strip])
    unit = StringField(
        _l("Unit"),
        [Required(), MaxLength(50)],
        filters=[strip],
        description=_l("For example: per project, per day, per test point."),
    )
    price_min = DecimalField(
        _l("Price (yuan)"),
        [validators.InputRequired(message=NUMBER_MESSAGE), finite, PRICE_RANGE],
        places=2,
        description=_l("The price, or the lower end of a range."),
    )
    price_max = DecimalField(
        _l("Upper price (yuan)"), [Optional(), finite, PRICE_RANGE], places=2, description=_l("Only for a price range.")
    )
    basis = TextAreaField(
        _l("Pricing basis"),
        [Optional(), MaxLength(1000)],
        render_kw={"rows": 3},
        description=_l("How the price is set: market rules, scale of the site, workload…"),
    )


class StatusForm(BaseForm):
    reason = TextAreaField(
        _l("Reason"),
        [Required(), MaxLength(2000)],
        render_kw={"rows": 4},
        description=_l("Shown on the agency's public profile."),
    )


class PublishForm(BaseForm):
    """Publishing the batch that was previewed: its fingerprint, and, when nothing changed, the
    regulator's confirmation that an unchanged list is intended."""

    fingerprint = HiddenField()
    unchanged = BooleanField(_l("Publish an unchanged list all the same (for example, the periodic notice is due)."))
