"""Login, self-registration, logout, the account page and password change."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from marketplace.auth import permissions, registration, services, sessions, throttle
from marketplace.auth.forms import (
    ChangePasswordForm,
    ConfirmRegistrationForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from marketplace.common import audit, mail
from marketplace.common.forms import form_view
from marketplace.common.time import utcnow
from marketplace.common.transaction import committing
from marketplace.common.urls import public_url
from marketplace.extensions import limiter

bp = Blueprint("auth", __name__, url_prefix="/auth")

TOO_MANY = _l("Too many attempts from your network. Please wait %(minutes)d minute(s) and try again.")
ACCOUNT_WAIT = _l(
    "Several wrong passwords were tried for this account. Wait %(seconds)d seconds, then try again "
    "(a browser that logged in to the account before does not wait)."
)


def _safe_next(target):
    """Only same-site paths are followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _too_many(template, form_class, field):
    """Rate limit breached: show the form again, with what was typed and the reason beside the field."""

    def on_breach(request_limit):
        form = form_class(meta={"csrf": False})
        seconds = max(0, int(request_limit.reset_at - utcnow().timestamp()))
        getattr(form, field).errors = [_(TOO_MANY, minutes=max(1, (seconds + 59) // 60))]
        response = current_app.make_response((render_template(template, form=form), 429))
        response.headers["Retry-After"] = str(seconds)
        return response

    return on_breach


def _limit(config_key, template, form_class, field, **kwargs):
    return limiter.limit(
        lambda: current_app.config[config_key],
        methods=["POST"],
        on_breach=_too_many(template, form_class, field),
        **kwargs,
    )


def _refused(response):
    """Only logins refused for their credentials count (see ``auth.throttle``): not a success, not a
    form sent back for a typing error, not a server error."""
    return bool(g.get("login_refused"))


@bp.route("/login", methods=["GET", "POST"])
@_limit("LOGIN_RATE_LIMIT", "auth/login.html", LoginForm, "email", deduct_when=_refused)
@_limit(
    "LOGIN_PAIR_RATE_LIMIT",
    "auth/login.html",
    LoginForm,
    "email",
    key_func=throttle.pair_key,
    deduct_when=_refused,
    exempt_when=throttle.known_device,
)
@form_view
def login():
    if current_user.is_authenticated:
        return redirect(url_for(services.start_endpoint(current_user)))
    form = LoginForm()
    if form.validate_on_submit():
        wait = throttle.wait_seconds(form.email.data)
        if wait:
            form.email.errors = [_(ACCOUNT_WAIT, seconds=wait)]
            response = current_app.make_response((render_template("auth/login.html", form=form), 429))
            # The rate limiter rewrites Retry-After in whole seconds from now, rounding down.
            response.headers["Retry-After"] = str(wait + 1)
            return response
        with committing(form) as logged_in:  # a refused login keeps its audit entry (keep_writes)
            user = services.authenticate(form.email.data, form.password.data)
            sessions.log_in(user, remember=form.remember.data)
        if logged_in:
            throttle.succeeded(form.email.data)
            flash(_("Welcome back, %(name)s.", name=user.display_name), "success")
            target = _safe_next(request.args.get("next")) or url_for(services.start_endpoint(user))
            return throttle.remember_device(redirect(target), form.email.data)
        if isinstance(logged_in.error, (services.InvalidCredentials, services.AccountInactive)):
            g.login_refused = True
            throttle.refused(form.email.data)
    return render_template("auth/login.html", form=form)


@bp.route("/register", methods=["GET", "POST"])
@_limit("REGISTER_RATE_LIMIT", "auth/register.html", RegisterForm, "email")
@form_view
def register():
    """Ask for an account: a link to create it is mailed to the address (see ``auth.registration``)."""
    if current_user.is_authenticated:
        return redirect(url_for(services.start_endpoint(current_user)))
    form = RegisterForm(role=request.args.get("role", "agency"))
    if form.validate_on_submit():
        with committing(form) as asked:
            token, existing = registration.request_registration(
                email=form.email.data,
                password=form.password.data,
                display_name=form.display_name.data,
                role=form.role.data,
                phone=form.phone.data,
            )
        if asked:
            if existing is not None:
                body = render_template(
                    "auth/register_existing_mail.txt",
                    user=existing,
                    login=public_url("auth.login"),
                    forgot=public_url("auth.forgot"),
                )
                mail.send(_("Someone tried to register with your address"), existing.email, body)
            else:
                link = public_url("auth.confirm_registration", token=token)
                body = render_template("auth/register_mail.txt", name=form.display_name.data.strip(), link=link)
                mail.send(_("Confirm your registration"), services.normalise_email(form.email.data), body)
            session["registration_email"] = services.normalise_email(form.email.data)
            return redirect(url_for("auth.registration_sent"))
    return render_template("auth/register.html", form=form)


@bp.get("/register/sent")
def registration_sent():
    """The same answer for every address: look in the mailbox."""
    return render_template("auth/register_sent.html", email=session.get("registration_email"))


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
def confirm_registration(token):
    """The link in the mail: a button creates the account (a mail scanner opening links creates nothing)."""
    try:
        pending = registration.pending(token)
    except registration.RegistrationLinkInvalid as exc:
        return render_template("auth/register_confirm.html", pending=None, invalid=exc.message), 400
    form = ConfirmRegistrationForm()
    if form.validate_on_submit():
        with committing(form) as created:
            user = registration.confirm_registration(token)
            sessions.log_in(user)
        if created:
            session.pop("registration_email", None)
            flash(_("Your account is ready. You are logged in."), "success")
            return redirect(url_for(services.start_endpoint(user)))
    return render_template("auth/register_confirm.html", pending=pending, form=form, invalid=None)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        with committing():
            audit.record("logout", permissions.acting_user())
            sessions.log_out(current_user)
        flash(_("You have logged out."), "info")
    return redirect(url_for("site.home"))


@bp.get("/account")
@permissions.permission_required(permissions.can_use_account)
def account():
    return render_template("auth/account.html", user=current_user, last_login=current_user.last_login_at)


@bp.route("/password", methods=["GET", "POST"])
@permissions.permission_required(permissions.can_use_account)
@form_view
def password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        with committing(form) as changed:
            user = services.change_password(
                permissions.acting_user(),
                current_password=form.current_password.data,
                new_password=form.new_password.data,
            )
            sessions.log_in(user)  # this login carries the new session version; all others end
        if changed:
            flash(_("Your password has been changed. Other sessions have been logged out."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/password.html", form=form)


# --- forgotten passwords ----------------------------------------------------------------------------

RESET_SENT = _l(
    "If an account uses this address, a link to set a new password is on its way. It works once, for one hour."
)


@bp.route("/forgot", methods=["GET", "POST"])
@_limit("LOGIN_RATE_LIMIT", "auth/forgot.html", ForgotPasswordForm, "email")
@form_view
def forgot():
    """Ask for a reset link: the answer is the same whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        with committing(form) as asked:
            user = services.request_password_reset(form.email.data)
        if asked:
            if user is not None:
                link = public_url("auth.reset", token=services.password_reset_token(user))
                mail.send(
                    _("Set a new password"), user.email, render_template("auth/reset_mail.txt", user=user, link=link)
                )
            flash(str(RESET_SENT), "info")
            return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@form_view
def reset(token):
    """Set a new password through the link that was mailed; a used or expired link says so."""
    try:
        services.user_for_reset_token(token)
    except services.ResetLinkInvalid as exc:
        return render_template("auth/reset.html", form=None, invalid=exc.message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        with committing(form) as done:
            services.reset_password(token, form.password.data)
        if done:
            flash(_("Your new password is set. Log in with it; every other session has been logged out."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, invalid=None)
