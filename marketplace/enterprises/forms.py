"""The enterprise's profile form. It checks the form of the input; the rules live in services."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice

from marketplace.common.editing import VersionedFormMixin
from marketplace.common.forms import BaseForm, MaxLength, Phone, Required, credit_code, optional_int, strip
from marketplace.enterprises.models import HAZARD_LABELS


class ProfileForm(VersionedFormMixin, BaseForm):
    uscc = StringField(
        _l("Unified social credit code"),
        [Required(), MaxLength(30), credit_code],
        filters=[strip],
        description=_l("18 characters, as on the business licence."),
    )
    name = StringField(_l("Enterprise name"), [Required(), MaxLength(200)], filters=[strip])
    county_id = SelectField(_l("County"), coerce=optional_int, validators=[Required()])
    address = StringField(_l("Address"), [Required(), MaxLength(300)], filters=[strip])
    industry = StringField(
        _l("Industry"),
        [Required(), MaxLength(100)],
        filters=[strip],
        description=_l("As in the national classification, e.g. 化学原料和化学制品制造业."),
    )
    hazard_class = SelectField(
        _l("Main hazard"), choices=[SelectChoice(k.value, v) for k, v in HAZARD_LABELS.items()], validators=[Required()]
    )
    contact_person = StringField(_l("Contact person"), [Required(), MaxLength(50)], filters=[strip])
    phone = StringField(_l("Phone"), [Required(), Phone()], filters=[strip])
