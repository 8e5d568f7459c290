"""Supervision forms. They check the form of the input; the rules live in services and draws."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice

from marketplace.common.editing import VersionedFormMixin
from marketplace.common.forms import (
    PRICE_RANGE,
    BaseForm,
    MaxLength,
    MultiCheckboxField,
    Optional,
    Required,
    credit_code,
    finite,
    optional_int,
    strip,
)
from marketplace.inspections import checklists
from marketplace.inspections.models import LABELS, Conclusion, Party, PenaltyKind, QuotaKind, Severity


def _date(label, required=True, description=None):
    return DateField(
        label,
        [Required()] if required else [Optional()],
        format="%Y-%m-%d",
        render_kw={"type": "date"},
        description=description,
    )


def _choices(members):
    return [SelectChoice(m.value, LABELS[m]) for m in members]


CRITERION_LABELS = {
    checklists.FALSE: _l("False report (虚假)"),
    checklists.MISLEADING: _l("Misleading report (失实)"),
    checklists.OTHER: _l("Other requirement"),
}


class CampaignForm(VersionedFormMixin, BaseForm):
    name = StringField(_l("Name"), [Required(), MaxLength(200)], filters=[strip])
    description = TextAreaField(
        _l("Description (optional)"), [Optional(), MaxLength(4000)], filters=[strip], render_kw={"rows": 3}
    )
    period_start = _date(_l("Reports issued from"))
    period_end = _date(_l("Reports issued until"))
    category_ids = MultiCheckboxField(
        _l("Service categories in scope"),
        coerce=int,
        description=_l("Every engagement in these categories is checked."),
    )
    self_check_due = _date(_l("Self-checks due"))
    recheck_due = _date(_l("County rechecks due"))
    spot_check_due = _date(_l("City spot-checks due"))
    quota_kind = RadioField(_l("Spot-check quota"), choices=_choices(QuotaKind), default=QuotaKind.RATE.value)
    quota_value = DecimalField(
        _l("Quota"),
        [Required(), finite],
        places=2,
        description=_l("Units per county, or a percentage of each county's units (rounded up)."),
    )


class ItemForm(BaseForm):
    category_id = SelectField(_l("Service category"), coerce=optional_int, validators=[Required()])
    text = TextAreaField(_l("What to check"), [Required(), MaxLength(1000)], filters=[strip], render_kw={"rows": 2})
    criterion = SelectField(
        _l("Failing it points to"),
        choices=[SelectChoice(k, v) for k, v in CRITERION_LABELS.items()],
        default=checklists.OTHER,
    )


class CheckForm(BaseForm):
    """The checklist's answers are read from ``item-<id>`` and ``note-<id>`` (one per item of the unit)."""

    conclusion = RadioField(_l("Conclusion"), choices=_choices(Conclusion), validators=[Required()])
    summary = TextAreaField(
        _l("Summary (optional)"), [Optional(), MaxLength(4000)], filters=[strip], render_kw={"rows": 3}
    )
    inspectors = StringField(
        _l("Inspectors signing the record"),
        [Optional(), MaxLength(300)],
        filters=[strip],
        description=_l("Names separated by commas (、 or ,)."),
    )
    evidence = MultipleFileField(_l("Evidence (PDF, JPEG or PNG, at most 10 MB each, optional)"))


class FindingForm(BaseForm):
    violation_id = SelectField(_l("Violation"), coerce=optional_int, validators=[Required()])
    staff_member_id = SelectField(
        _l("Person responsible (for a person's violation)"), coerce=optional_int, validators=[Optional()]
    )
    facts = TextAreaField(_l("Facts found"), [Required(), MaxLength(4000)], filters=[strip], render_kw={"rows": 4})
    rectification_due = _date(
        _l("Rectify by (optional)"), required=False, description=_l("Leave empty when no rectification is required.")
    )


class RectificationForm(BaseForm):
    note = TextAreaField(_l("What was done"), [Optional(), MaxLength(4000)], filters=[strip], render_kw={"rows": 3})
    file = FileField(_l("Evidence (PDF, JPEG or PNG, at most 10 MB, optional)"))


class DecisionForm(BaseForm):
    decision = RadioField(
        _l("Decision"),
        choices=[SelectChoice("accept", _l("Accept")), SelectChoice("return", _l("Return with a reason"))],
        validators=[Required()],
    )
    reason = TextAreaField(
        _l("Reason (to return)"), [Optional(), MaxLength(2000)], filters=[strip], render_kw={"rows": 2}
    )


class PenaltyForm(BaseForm):
    target = SelectField(_l("Addressed to"), validators=[Required()])
    decision_no = StringField(
        _l("Decision number"),
        [Required(), MaxLength(80)],
        filters=[strip],
        description=_l("As printed on the decision, e.g. （通）应急罚〔2026〕12号."),
    )
    kind = SelectField(_l("Kind"), choices=_choices(PenaltyKind), validators=[Required()])
    facts = TextAreaField(_l("Facts"), [Required(), MaxLength(4000)], filters=[strip], render_kw={"rows": 3})
    legal_basis = TextAreaField(
        _l("Legal basis"), [Required(), MaxLength(2000)], filters=[strip], render_kw={"rows": 2}
    )
    fine_amount = DecimalField(_l("Fine (yuan)"), [Optional(), finite, PRICE_RANGE], places=2)
    confiscated_amount = DecimalField(
        _l("Illegal gains confiscated (yuan)"), [Optional(), finite, PRICE_RANGE], places=2
    )
    decided_on = _date(_l("Decision date"))
    publicity_start = _date(
        _l("Public from"), description=_l("Within 7 working days of the decision, or the record is flagged as late.")
    )
    publicity_end = _date(_l("Public until"), description=_l("At least one year and at most three."))


class ViolationForm(VersionedFormMixin, BaseForm):
    code = StringField(_l("Code"), [Required(), MaxLength(20)], filters=[strip])
    title = StringField(_l("Title"), [Required(), MaxLength(200)], filters=[strip])
    description = TextAreaField(
        _l("Description"), [Optional(), MaxLength(2000)], filters=[strip], render_kw={"rows": 2}
    )
    severity = SelectField(_l("Severity"), choices=_choices(Severity), validators=[Required()])
    party = SelectField(_l("Responsible party"), choices=_choices(Party), validators=[Required()])
    legal_basis = TextAreaField(
        _l("Legal basis"),
        [Optional(), MaxLength(2000)],
        filters=[strip],
        render_kw={"rows": 3},
        description=_l("Text the bureau keeps up to date: article numbers change when rules are revised."),
    )
    sort_order = IntegerField(_l("Order"), [Optional()], default=0)
    active = BooleanField(_l("In use"), default=True)


class DrawForm(BaseForm):
    seed_source = TextAreaField(
        _l("Seed source"),
        [Required(), MaxLength(500)],
        filters=[strip],
        render_kw={"rows": 2},
        description=_l(
            "A public value that does not exist yet, named exactly: e.g. drand mainnet round 5,400,000, or "
            "福彩3D 第2026330期 winning number."
        ),
    )
    inspectors = MultiCheckboxField(_l("Inspector pool"), coerce=int)


class RevealForm(BaseForm):
    seed = StringField(
        _l("Seed"),
        [Required(), MaxLength(500)],
        description=_l("The value exactly as its source published it. It can be entered once only."),
    )


class ConflictForm(BaseForm):
    uscc = StringField(
        _l("Agency's credit code"), [Required(), credit_code], filters=[strip], render_kw={"autocomplete": "off"}
    )
    reason = TextAreaField(
        _l("Reason (published with the draws)"), [Required(), MaxLength(1000)], filters=[strip], render_kw={"rows": 2}
    )


class UnitFilterForm(BaseForm):
    class Meta:
        csrf = False

    county = SelectField(_l("County"), coerce=optional_int, validators=[Optional()])
    state = SelectField(_l("Show"), validators=[Optional()])
    q = StringField(_l("Credit code or report number"), [Optional(), MaxLength(100)], filters=[strip])


class PenaltyFilterForm(BaseForm):
    class Meta:
        csrf = False

    county = SelectField(_l("County"), coerce=optional_int, validators=[Optional()])
    kind = SelectField(_l("Kind"), validators=[Optional()])
    year = SelectField(_l("Year of decision"), coerce=optional_int, validators=[Optional()])
    agency = StringField(_l("Agency"), [Optional(), MaxLength(100)], filters=[strip])


class PenaltyCorrectionForm(PenaltyForm):
    reason = TextAreaField(
        _l("Why it is corrected or set aside"),
        [Required(), MaxLength(2000)],
        filters=[strip],
        render_kw={"rows": 2},
        description=_l(
            "Published with the corrected record, e.g. a clerical error in the amount, or revoked on review."
        ),
    )
    withdraw = BooleanField(
        _l("Set the decision aside"),
        description=_l(
            "The decision is no longer in force (revoked on administrative review, say): it leaves public view."
        ),
    )
