"""Uploaded files: checked by content (not by name) and size, stored outside the web root."""

import hashlib
import io
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


class UploadRejected(DomainError):
    message = _l("Upload a PDF, JPEG or PNG file.")
    field = "file"


def sniff(data):
    """The (MIME type, extension) the content shows, or None when it is none of the accepted kinds."""
    for magic, mime, ext in SIGNATURES:
        if data.startswith(magic):
            if mime != "application/pdf" and not _image_is_whole(data):
                return None
            return mime, ext
    return None


def _image_is_whole(data):
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        return True
    except Exception:  # Pillow raises many kinds of error for a broken or disguised file
        return False


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
        raise UploadRejected(
            _l("This file is not a PDF, JPEG or PNG (its content was checked, not its name)."), field=field
        )
    mime, ext = kind
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


def send_stored(stored):
    """A response with the file's bytes, for a view that has already checked permission."""
    path = _folder() / stored.path
    if not path.is_file():
        from flask import abort

        abort(404)
    # Files are at most UPLOAD_MAX_BYTES: read whole, so no file handle outlives the request.
    response = send_file(
        io.BytesIO(path.read_bytes()), mimetype=stored.mime_type, download_name=stored.original_name, max_age=0
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
