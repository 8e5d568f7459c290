"""Signing the pledge, its certificate, public verification, and the admin's pledge texts."""

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

from marketplace.auth import permissions
from marketplace.common import chain
from marketplace.common.forms import ConfirmForm, form_view
from marketplace.common.transaction import committing
from marketplace.extensions import db
from marketplace.pledges import services
from marketplace.pledges.forms import PledgeTextForm
from marketplace.pledges.models import PledgeText

bp = Blueprint("pledges", __name__, url_prefix="/pledges")

manage_texts = permissions.permission_required(permissions.can_manage_pledge_texts)


@bp.get("/sign")
def sign():
    """The signing page lives with the agency's declaration now; old links still arrive."""
    return redirect(url_for("providers.sign_pledge"), code=301)


@bp.get("/verify")
def verify_form():
    code = request.args.get("code", "")
    if code:
        return redirect(url_for("pledges.verify", code=services.normalise_code(code) or "-"))
    return render_template("pledges/verify_form.html")


@bp.get("/verify/<code>")
def verify(code):
    signature = services.find_signature(code)
    if signature is None:
        return render_template("pledges/verify_form.html", code=code, not_found=True), 404
    recomputed = services.sha256_hex(signature.signed_text)
    return render_template(
        "pledges/verify.html",
        signature=signature,
        recomputed=recomputed,
        history=chain.matches(signature.__tablename__, [signature.id]),
        code=services.format_code(signature.verification_code),
        is_current=services.current_text().id == signature.pledge_text_id,
    )


@bp.get("/certificate/<code>.pdf")
def certificate(code):
    signature = services.find_signature(code)
    if signature is None:
        abort(404)
    text = signature.pledge_text
    from marketplace.common import pdf  # reportlab, loaded with the first PDF a worker makes

    data = pdf.pledge_certificate_pdf(
        title=text.title_zh,
        provider_name=signature.provider_name,
        uscc=signature.provider_uscc,
        signer_name=signature.signer_name,
        signer_title=signature.signer_title,
        signed_at_text=format_datetime(signature.signed_at, "yyyy-MM-dd HH:mm:ss") + "（北京时间）",
        version_label=f"第{signature.version}版",
        clauses=[c["zh"] for c in text.clauses],
        text_sha256=signature.text_sha256,
        verification_code=services.format_code(signature.verification_code),
        verify_url=url_for("pledges.verify", code=signature.verification_code, _external=True),
        labels={
            "provider": "承诺单位",
            "uscc": "统一社会信用代码",
            "signer": "签署人",
            "signer_title": "职务",
            "signed_at": "签署时间",
            "version": "承诺书版本",
            "sha256": "承诺文本 SHA-256",
            "verification_code": "验证码",
            "verify_at": "验证网址",
        },
        author=signature.provider_name,
        font_path=current_app.config.get("PDF_CJK_FONT"),
    )
    name = f"pledge-{signature.verification_code}.pdf"
    return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


# --- pledge texts (admin) --------------------------------------------------------------------


@bp.get("/texts")
@manage_texts
def texts():
    return render_template("pledges/texts.html", texts=services.list_texts(), draft=services.draft_text())


@bp.route("/texts/new", methods=["GET", "POST"])
@bp.route("/texts/<id:text_id>/edit", methods=["GET", "POST"])
@manage_texts
@form_view
def text_edit(text_id=None):
    text = db.session.get(PledgeText, text_id) if text_id else services.draft_text()
    if text_id and text is None:
        abort(404)
    base = text or services.current_text()
    form = PledgeTextForm()
    if request.method == "GET" and base is not None:
        form.title_zh.data, form.title_en.data = base.title_zh, base.title_en
        form.clauses_zh.data = "\n".join(c["zh"] for c in base.clauses)
        form.clauses_en.data = "\n".join(c["en"] for c in base.clauses)
    if form.validate_on_submit():
        with committing(form) as saved:
            text = services.save_draft_text(
                permissions.acting_user(),
                text if text and not text.is_issued else None,
                title_zh=form.title_zh.data,
                title_en=form.title_en.data,
                clauses_zh=form.clauses_zh.data.splitlines(),
                clauses_en=form.clauses_en.data.splitlines(),
            )
        if saved:
            flash(_("Draft saved. Read it through, then issue it."), "success")
            return redirect(url_for("pledges.text_detail", text_id=text.id))
    return render_template("pledges/text_form.html", form=form, text=text)


@bp.get("/texts/<id:text_id>")
@manage_texts
def text_detail(text_id):
    text = db.session.get(PledgeText, text_id) or abort(404)
    return render_template("pledges/text_detail.html", text=text, confirm_form=ConfirmForm())


@bp.post("/texts/<id:text_id>/issue")
@manage_texts
def text_issue(text_id):
    text = db.session.get(PledgeText, text_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with committing() as issued:
        services.issue_text(permissions.acting_user(), text)
    if issued:
        flash(_("Version %(n)d is in force. Every agency is asked to sign it again.", n=text.version), "success")
    return redirect(url_for("pledges.text_detail", text_id=text.id))
