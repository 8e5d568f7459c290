"""Pledge forms: signing, and the admin's text versions."""

from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField

from marketplace.common.forms import BaseForm, MaxLength, MultiCheckboxField, Required, strip


class SignForm(BaseForm):
    clauses = MultiCheckboxField(_l("I confirm"), coerce=int)
    signer_name = StringField(_l("Name of the legal representative"), [Required(), MaxLength(50)], filters=[strip])
    signer_title = StringField(_l("Position"), [Required(), MaxLength(50)], filters=[strip], default="法定代表人")


class PledgeTextForm(BaseForm):
    title_zh = StringField(_l("Chinese title"), [Required(), MaxLength(200)], filters=[strip])
    title_en = StringField(_l("English title"), [Required(), MaxLength(300)], filters=[strip])
    clauses_zh = TextAreaField(
        _l("Clauses in Chinese"),
        [Required(), MaxLength(20000)],
        render_kw={"rows": 12},
        description=_l("One clause per line; they are numbered in this order."),
    )
    clauses_en = TextAreaField(
        _l("Clauses in English"),
        [Required(), MaxLength(20000)],
        render_kw={"rows": 12},
        description=_l("One line per clause, in the same order."),
    )
