"""What an uploaded file really is, judged by its first bytes, not by its name.

Shared by every way a file comes in: vendor forms and services, and the organization import.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile

# (content type, allowed extensions, predicate over the first 16 bytes)
_SIGNATURES: list[tuple[str, tuple[str, ...], object]] = [
    ("application/pdf", (".pdf",), lambda h: h.startswith(b"%PDF-")),
    ("image/png", (".png",), lambda h: h.startswith(b"\x89PNG\r\n\x1a\n")),
    ("image/jpeg", (".jpg", ".jpeg"), lambda h: h.startswith(b"\xff\xd8\xff")),
    ("image/gif", (".gif",), lambda h: h[:6] in (b"GIF87a", b"GIF89a")),
    ("image/webp", (".webp",), lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP"),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (".docx",),
        lambda h: h.startswith(b"PK\x03\x04"),
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (".xlsx",),
        lambda h: h.startswith(b"PK\x03\x04"),
    ),
    ("application/zip", (".zip",), lambda h: h.startswith(b"PK\x03\x04")),
]
_TEXT = {".txt": "text/plain", ".csv": "text/csv", ".md": "text/plain"}
ALLOWED_EXTENSIONS = sorted({e for _, exts, _ in _SIGNATURES for e in exts} | set(_TEXT))


def _looks_like_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        return exc.start >= len(data) - 3
    return True


def sniff(upload: UploadedFile | File) -> str | None:
    """The content type of ``upload`` if its bytes match its extension and we allow it."""
    name = (upload.name or "").lower()
    extension = name[name.rfind(".") :] if "." in name else ""
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    if extension in _TEXT:
        return _TEXT[extension] if _looks_like_text(head) else None
    for content_type, extensions, matches in _SIGNATURES:
        if extension in extensions and matches(head[:16]):
            return content_type
    return None


def check_upload(upload: UploadedFile | File) -> str:
    """The content type of a file that obeys the upload rules; ValidationError otherwise.

    The rules of every way a file comes in (forms, services, organization import): at most
    ``MAX_UPLOAD_MB``, and bytes that match an allowed type and the file's extension.
    """
    if upload.size > settings.MAX_UPLOAD_MB * 1024 * 1024:
        raise ValidationError(f"{upload.name} is larger than {settings.MAX_UPLOAD_MB} MB.")
    content_type = sniff(upload)
    if content_type is None:
        raise ValidationError(
            f"{upload.name}: this file's content is not an allowed type "
            "(or does not match its extension)."
        )
    return content_type
