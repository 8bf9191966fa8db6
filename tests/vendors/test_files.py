"""Attachments are judged by their bytes, not by their names."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from outsourcing.uploads import sniff


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("scan.PDF", b"%PDF-1.7\n", "application/pdf"),
        ("photo.jpeg", b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        ("pic.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        ("notes.txt", "Grüße aus Kyjiw".encode(), "text/plain"),
        ("vendors.csv", b"name,rate\nA,1\n", "text/csv"),
        (
            "contract.docx",
            b"PK\x03\x04rest",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    ],
)
def test_allowed_files_are_recognised_by_content(name, content, expected):
    assert sniff(SimpleUploadedFile(name, content)) == expected


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("invoice.pdf", b"MZ\x90\x00executable"),  # an .exe renamed
        ("notes.txt", b"\x00\x01binary"),
        ("photo.png", b"%PDF-1.7"),  # a PDF named .png
        ("script.html", b"<script>alert(1)</script>"),
        ("no-extension", b"%PDF-1.7"),
    ],
)
def test_disguised_or_unknown_files_are_refused(name, content):
    assert sniff(SimpleUploadedFile(name, content)) is None
