"""Account forms. They check input; the rules (duplicates, policy, roles) live in services."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, RadioField, SelectField, StringField, validators
from wtforms.fields.choices import SelectChoice

from marketplace.auth.roles import ROLE_LABELS, SELF_REGISTERED_ROLES, Role
from marketplace.common.editing import VersionedFormMixin
from marketplace.common.forms import BaseForm, EmailAddress, MaxLength, Optional, Phone, Required, optional_int, strip


class LoginForm(BaseForm):
    email = StringField(
        _l("E-mail"),
        [Required(), EmailAddress(), MaxLength(254)],
        filters=[strip],
        render_kw={"autocomplete": "username", "inputmode": "email"},
    )
    password = PasswordField(
        _l("Password"), [Required(), MaxLength(128)], render_kw={"autocomplete": "current-password"}
    )
    remember = BooleanField(_l("Keep me logged in on this computer"))


def _self_registered_choices():
    return [SelectChoice(role.value, ROLE_LABELS[role]) for role in SELF_REGISTERED_ROLES]


class RegisterForm(BaseForm):
    role = RadioField(_l("I register as"), [Required()], choices=_self_registered_choices())
    display_name = StringField(
        _l("Contact person"), [Required(), MaxLength(100)], filters=[strip], render_kw={"autocomplete": "name"}
    )
    email = StringField(
        _l("E-mail"),
        [Required(), EmailAddress(), MaxLength(254)],
        filters=[strip],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
    phone = StringField(_l("Phone"), [Optional(), Phone()], render_kw={"autocomplete": "tel"})
    password = PasswordField(
        _l("Password"),
        [Required(), MaxLength(128)],
        description=_l("At least 10 characters, with letters and digits."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        [Required(), validators.EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(
        _l("Current password"), [Required(), MaxLength(128)], render_kw={"autocomplete": "current-password"}
    )
    new_password = PasswordField(
        _l("New password"),
        [Required(), MaxLength(128)],
        description=_l("At least 10 characters, with letters and digits."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        [Required(), validators.EqualTo("new_password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class UserCreateForm(BaseForm):
    """An admin creates an account of any role; county regulators need a county."""

    role = SelectField(_l("Role"), [Required()], choices=[SelectChoice(role.value, ROLE_LABELS[role]) for role in Role])
    county_id = SelectField(
        _l("County"),
        coerce=optional_int,
        description=_l("Required for county regulators."),
    )
    display_name = StringField(_l("Name"), [Required(), MaxLength(100)], filters=[strip])
    email = StringField(_l("E-mail"), [Required(), EmailAddress(), MaxLength(254)], filters=[strip])
    phone = StringField(_l("Phone"), [Optional(), Phone()])
    password = PasswordField(
        _l("Initial password"),
        [Required(), MaxLength(128)],
        description=_l("At least 10 characters, with letters and digits. Give it to the user in person."),
        render_kw={"autocomplete": "new-password"},
    )


def _new_password_fields(label):
    return (
        PasswordField(
            label,
            [Required(), MaxLength(128)],
            description=_l("At least 10 characters, with letters and digits."),
            render_kw={"autocomplete": "new-password"},
        ),
        PasswordField(
            _l("Repeat the password"),
            [Required(), validators.EqualTo("password", message=_l("The two passwords differ."))],
            render_kw={"autocomplete": "new-password"},
        ),
    )


class UserEditForm(VersionedFormMixin, BaseForm):
    """An administrator corrects an account."""

    display_name = StringField(_l("Name"), [Required(), MaxLength(100)], filters=[strip])
    email = StringField(_l("E-mail"), [Required(), EmailAddress(), MaxLength(254)], filters=[strip])
    phone = StringField(_l("Phone"), [Optional(), Phone()], filters=[strip])
    role = SelectField(
        _l("Role"),
        [Required()],
        choices=[SelectChoice(role.value, ROLE_LABELS[role]) for role in Role],
        description=_l("Regulators and administrators can move between those roles."),
    )
    county_id = SelectField(_l("County"), coerce=optional_int, description=_l("Required for county regulators."))


class SetPasswordForm(BaseForm):
    """An administrator sets a new password, to hand over in person."""

    password, confirm = _new_password_fields(_l("New password"))


class ForgotPasswordForm(BaseForm):
    email = StringField(
        _l("E-mail"),
        [Required(), EmailAddress(), MaxLength(254)],
        filters=[strip],
        render_kw={"autocomplete": "email", "inputmode": "email"},
        description=_l("The address you log in with."),
    )


class ConfirmRegistrationForm(BaseForm):
    """The button behind a registration link (its CSRF token is the whole form)."""


class ResetPasswordForm(BaseForm):
    password, confirm = _new_password_fields(_l("New password"))
