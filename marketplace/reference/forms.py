"""The administrator's forms for counties and service categories."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField, validators
from wtforms.fields.choices import SelectChoice

from marketplace.common.editing import VersionedFormMixin
from marketplace.common.forms import BaseForm, MaxLength, Required
from marketplace.reference.models import ENGAGEMENT_KINDS

CODE_PATTERN = validators.Regexp(r"^[a-z0-9_\-]+$", message=_l("Use lower-case letters, digits, - and _ only."))


class _ReferenceForm(BaseForm):
    name_zh = StringField(_l("Chinese name"), [Required(), MaxLength(50)])
    name_en = StringField(_l("English name"), [Required(), MaxLength(100)])
    sort_order = IntegerField(
        _l("Order"),
        [
            validators.InputRequired(message=_l("Enter a whole number.")),
            validators.NumberRange(min=0, max=9999, message=_l("Enter a number from 0 to 9999.")),
        ],
        default=0,
    )
    active = BooleanField(
        _l("In use"), default=True, description=_l("Entries no longer in use stay on old records but cannot be chosen.")
    )


class CountyForm(VersionedFormMixin, _ReferenceForm):
    code = StringField(
        _l("Code"),
        [Required(), MaxLength(12), CODE_PATTERN],
        description=_l("Administrative division code, e.g. 320602."),
    )


class CategoryForm(VersionedFormMixin, _ReferenceForm):
    code = StringField(_l("Code"), [Required(), MaxLength(40), CODE_PATTERN])
    name_zh = StringField(_l("Chinese name"), [Required(), MaxLength(100)])
    name_en = StringField(_l("English name"), [Required(), MaxLength(200)])
    parent_id = SelectField(
        _l("Group"),
        coerce=lambda v: int(v) if v not in (None, "", "None") else None,
        description=_l("Leave empty to make this a top-level group."),
    )
    engagement_kind = SelectField(
        _l("Kind of work"),
        choices=[SelectChoice(key, label) for key, label in ENGAGEMENT_KINDS.items()],
        default="other",
        validators=[Required()],
        description=_l("Assessments need an on-site notice; advising and assessing one enterprise is flagged."),
    )
