"""Uploaded files: checked by content (not by name) and size, stored outside the web root, served
as downloads under a generated name.

A PDF is refused when it carries active content (JavaScript, launch and other actions a reader runs,
embedded or attached files, rich media, XFA forms), however its objects are compressed or its names
escaped: every object is parsed (pypdf) and its keys and action types looked at. An image is refused
when a text chunk or comment holds HTML markup (a page hidden in a picture). Neither could run in the
browser anyway (downloads, ``nosniff``, a sandboxing policy), but neither belongs in a registry.
"""

import hashlib
import io
import logging
import re
import time
import uuid
from pathlib import Path

from flask import current_app, send_file
from flask_babel import lazy_gettext as _l

from marketplace.common.errors import DomainError
from marketplace.common.models import StoredFile
from marketplace.common.time import utcnow
from marketplace.extensions import db

# (leading bytes, MIME type, extension): what a file is, whatever its name says.
SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)


log = logging.getLogger(__name__)
# Dictionary keys and action types (/S) that make a PDF do something when opened or clicked.
ACTIVE_KEYS = frozenset(
    {"/JavaScript", "/JS", "/EmbeddedFiles", "/EmbeddedFile", "/EF", "/RichMedia", "/XFA", "/OnInstantiate", "/3DD"}
)
ACTIVE_ACTIONS = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/ImportData",
        "/SubmitForm",
        "/RichMediaExecute",
        "/Rendition",
        "/GoToE",
        "/GoToR",  # opens another file, even \\host\share\… (leaks Windows credentials)
        "/Thread",
        "/Movie",
        "/Sound",
        "/Hide",
        "/SetOCGState",
    }
)
# A PDF is checked within this time and object count: a file built so that reading it takes hours
# (entries that all point at the wrong place) is refused instead of holding a worker, and SQLite's
# write lock, for that long.
PDF_CHECK_SECONDS = 5.0
PDF_MAX_OBJECTS = 100_000
MARKUP = re.compile(
    rb"<\s*/?\s*(script|html|body|head|iframe|frame|svg|img|object|embed|form|meta|link|style|a|div|span)\b"
    rb"|javascript:",
    re.IGNORECASE,
)


class UploadRejected(DomainError):
    message = _l("Upload a PDF, JPEG or PNG file.")
    field = "file"


NOT_ACCEPTED = _l("This file is not a PDF, JPEG or PNG (its content was checked, not its name).")
ACTIVE_PDF = _l(
    "This PDF contains scripts, actions or embedded files, which the registry does not accept. "
    "Save or print it again as a plain PDF (for example with “Print to PDF”) and upload that."
)
UNREADABLE_PDF = _l("This PDF cannot be read. Save it again as a PDF and upload that.")
TANGLED_PDF = _l(
    "This PDF is too tangled to check in reasonable time (it may be damaged). "
    "Save or print it again as a plain PDF and upload that."
)
LOCKED_PDF = _l("This PDF is protected by a password. Upload a copy that opens without one.")
MARKUP_IMAGE = _l(
    "This image carries web-page code in its text fields, which the registry does not accept. "
    "Save it again (for example as a screenshot) and upload that."
)


def sniff(data):
    """The (MIME type, extension) the content shows, or None when it is none of the accepted kinds."""
    for magic, mime, ext in SIGNATURES:
        if data.startswith(magic):
            if mime != "application/pdf" and _image_problem(data) is NOT_ACCEPTED:
                return None
            return mime, ext
    return None


def problem(data, mime):
    """Why an upload of this (sniffed) kind is refused, or None."""
    return _pdf_problem(data) if mime == "application/pdf" else _image_problem(data)


def _image_problem(data):
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            texts = [v for v in image.info.values() if isinstance(v, str | bytes)]
    except Exception:  # Pillow raises many kinds of error for a broken or disguised file
        return NOT_ACCEPTED
    for text in texts:
        if MARKUP.search(text.encode("utf-8", "replace") if isinstance(text, str) else text):
            return MARKUP_IMAGE
    return None


def _pdf_problem(data):
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    CONTAINERS = (DictionaryObject, ArrayObject, IndirectObject)

    deadline = time.monotonic() + PDF_CHECK_SECONDS
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):  # restrictions only open with no password
            return LOCKED_PDF
        numbers = {(n, g) for g, table in reader.xref.items() for n in table}
        numbers |= {(n, 0) for n in reader.xref_objStm}
        if len(numbers) > PDF_MAX_OBJECTS:
            return TANGLED_PDF
        pending = [reader.trailer] + [IndirectObject(n, g, reader) for n, g in sorted(numbers)]
        visited, seen = set(), 0
        while pending:
            obj = pending.pop()
            if isinstance(obj, IndirectObject):
                if (obj.idnum, obj.generation) in visited:
                    continue
                visited.add((obj.idnum, obj.generation))
                obj = obj.get_object()
            seen += 1
            if seen > 2 * PDF_MAX_OBJECTS or time.monotonic() > deadline:
                return TANGLED_PDF
            if isinstance(obj, DictionaryObject):  # streams are dictionaries too
                if ACTIVE_KEYS & set(obj.keys()) or str(obj.get("/S", "")) in ACTIVE_ACTIONS:
                    return ACTIVE_PDF
                pending.extend(v for v in obj.values() if isinstance(v, CONTAINERS))
            elif isinstance(obj, ArrayObject):
                pending.extend(v for v in obj if isinstance(v, CONTAINERS))
    except Exception as exc:  # pypdf raises many kinds of error for a broken file
        log.info("PDF upload unreadable: %s", exc)
        return UNREADABLE_PDF
    return None


def _folder():
    return Path(current_app.config["UPLOAD_FOLDER"])


def _safe_name(filename):
    """The name to show for a file: its last path part, without control characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or "upload"


def store_upload(file_storage, *, actor, field="file"):
    """Check and keep an uploaded file; returns the flushed ``StoredFile``."""
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    data = file_storage.read(limit + 1)
    if not data:
        raise UploadRejected(_l("The file is empty."), field=field)
    if len(data) > limit:
        raise UploadRejected(_l("The file is larger than %(mb)d MB.", mb=limit // (1024 * 1024)), field=field)
    kind = sniff(data)
    if kind is None:
        raise UploadRejected(NOT_ACCEPTED, field=field)
    mime, ext = kind
    refused = problem(data, mime)
    if refused is not None:
        raise UploadRejected(refused, field=field)
    now = utcnow()
    relative = f"{now:%Y}/{now:%m}/{uuid.uuid4().hex}{ext}"
    target = _folder() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    stored = StoredFile(
        path=relative,
        original_name=_safe_name(file_storage.filename),
        mime_type=mime,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=getattr(actor, "id", None),
        uploaded_at=now,
    )
    db.session.add(stored)
    db.session.flush()
    return stored


def sha256_now(stored):
    """The SHA-256 of the file as it is on disk now (None when it is missing)."""
    path = _folder() / stored.path
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def download_name(stored):
    """The name a file is downloaded under: made here (``file-<hash>.pdf``), never the uploader's,
    which is only shown on the page beside the link."""
    extension = next((ext for _magic, mime, ext in SIGNATURES if mime == stored.mime_type), ".bin")
    return f"file-{stored.id}-{stored.sha256[:12]}{extension}"


def send_stored(stored):
    """The file as a download, for a view that has already checked permission: never shown inline
    (a PDF's scripts, an image's markup), sandboxed should a browser render it anyway."""
    path = _folder() / stored.path
    if not path.is_file():
        from flask import abort

        abort(404)
    # Files are at most UPLOAD_MAX_BYTES: read whole, so no file handle outlives the request.
    response = send_file(
        io.BytesIO(path.read_bytes()),
        mimetype=stored.mime_type,
        as_attachment=True,
        download_name=download_name(stored),
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.sandboxed = True  # common.security: Content-Security-Policy: sandbox
    return response
