"""Engagement forms. They check the form of the input; the rules live in services."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice

from marketplace.common.forms import (
    PRICE_RANGE,
    BaseForm,
    MaxLength,
    MultiCheckboxField,
    Optional,
    Required,
    finite,
    optional_int,
    strip,
)


class RequestForm(BaseForm):
    category_id = SelectField(_l("Service category"), coerce=optional_int, validators=[Required()])
    scope = TextAreaField(
        _l("What the work should cover"), [Required(), MaxLength(2000)], filters=[strip], render_kw={"rows": 4}
    )
    site_address = StringField(_l("Site address"), [Required(), MaxLength(300)], filters=[strip])
    county_id = SelectField(
        _l("County of the site"),
        coerce=optional_int,
        validators=[Required()],
        description=_l("The county bureau there supervises the work."),
    )
    expected_start = DateField(_l("Expected start"), [Required()], format="%Y-%m-%d", render_kw={"type": "date"})
    expected_end = DateField(_l("Expected end"), [Required()], format="%Y-%m-%d", render_kw={"type": "date"})
    budget = DecimalField(_l("Budget (yuan, optional)"), [Optional(), finite, PRICE_RANGE], places=2)
    confirm_warnings = BooleanField(_l("I have read the warnings above and still choose this agency."))


class QuoteForm(BaseForm):
    fee = DecimalField(_l("Fee (yuan)"), [Required(), finite, PRICE_RANGE], places=2)
    start = DateField(_l("Start"), [Required()], format="%Y-%m-%d", render_kw={"type": "date"})
    end = DateField(_l("End"), [Required()], format="%Y-%m-%d", render_kw={"type": "date"})
    team = MultiCheckboxField(_l("Team"), coerce=int, description=_l("From your declared staff."))
    note = TextAreaField(
        _l("Note to the enterprise (optional)"), [Optional(), MaxLength(2000)], filters=[strip], render_kw={"rows": 3}
    )


class ReasonForm(BaseForm):
    reason = TextAreaField(_l("Reason"), [Optional(), MaxLength(2000)], filters=[strip], render_kw={"rows": 3})


class AcceptForm(BaseForm):
    confirm_warnings = BooleanField(_l("I have read the warnings above and still choose this agency."))


class SiteNoticeForm(BaseForm):
    onsite_from = DateField(_l("On site from"), [Required()], format="%Y-%m-%d", render_kw={"type": "date"})
    onsite_to = DateField(_l("On site until"), [Required()], format="%Y-%m-%d", render_kw={"type": "date"})
    address = StringField(
        _l("Address of the work"),
        [Optional(), MaxLength(300)],
        filters=[strip],
        description=_l("Leave empty for the site address of the request."),
    )
    team = MultiCheckboxField(_l("Team on site"), coerce=int)
    note = TextAreaField(_l("Note (optional)"), [Optional(), MaxLength(2000)], filters=[strip], render_kw={"rows": 2})


class ReportForm(BaseForm):
    report_no = StringField(
        _l("Report number"),
        [Required(), MaxLength(80)],
        filters=[strip],
        description=_l("As printed on the report; unique within your agency."),
    )
    title = StringField(_l("Title"), [Required(), MaxLength(200)], filters=[strip])
    issued_on = DateField(_l("Issued on"), [Required()], format="%Y-%m-%d", render_kw={"type": "date"})
    file = FileField(_l("Report (PDF, optional, at most 10 MB)"))


class AttachForm(BaseForm):
    file = FileField(_l("Signed contract (PDF, JPEG or PNG, at most 10 MB)"), [Required()])
    description = StringField(_l("Description (optional)"), [Optional(), MaxLength(200)], filters=[strip])


class RatingForm(BaseForm):
    score = RadioField(
        _l("Rating"), choices=[SelectChoice(str(n), "★" * n) for n in range(5, 0, -1)], validators=[Required()]
    )
    text = TextAreaField(
        _l("Your comments (optional)"), [Optional(), MaxLength(1000)], filters=[strip], render_kw={"rows": 3}
    )


class ReplyForm(BaseForm):
    reply = TextAreaField(
        _l("Your public reply"), [Required(), MaxLength(1000)], filters=[strip], render_kw={"rows": 3}
    )


class HideForm(BaseForm):
    reason = TextAreaField(
        _l("Public reason for hiding"), [Required(), MaxLength(1000)], filters=[strip], render_kw={"rows": 2}
    )


class EngagementFilterForm(BaseForm):
    """The list's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validators=[Optional()])
    q = StringField(_l("Enterprise, agency or number"), [Optional(), MaxLength(100)], filters=[strip])
    conflict = BooleanField(_l("Only flagged conflicts"))
    provider = HiddenField()
