"""Fixtures for secure messaging: attachments stored in a folder of the test's own, files of each kind by their
first bytes, and portal patients (the measures fixtures)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.measures.conftest import make_portal_patient  # noqa: F401

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 40
HTML = b"<html><script>alert(1)</script></html>"


def upload(name: str, data: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    """A file as a browser sends it: the name and type the browser claims, which the app does not trust."""
    return SimpleUploadedFile(name, data, content_type=content_type)



def my_messages() -> str:
    return reverse("messaging:my_messages")


def my_thread(thread) -> str:
    return reverse("messaging:my_thread", kwargs={"thread_id": thread.external_id})


def staff_thread(thread) -> str:
    return reverse("messaging:thread", kwargs={"thread_id": thread.external_id})


def staff_download(att) -> str:
    return reverse("messaging:attachment", kwargs={"attachment_id": att.external_id})


def my_download(att) -> str:
    return reverse("messaging:my_attachment", kwargs={"attachment_id": att.external_id})


@pytest.fixture(autouse=True)
def attachment_dir(settings, tmp_path):
    folder = tmp_path / "message-attachments"
    settings.MESSAGE_ATTACHMENT_DIR = folder
    settings.KETACLINIC_MESSAGE_SCANNER = ""
    return folder
