"""What a message may carry, and where it is kept.

* **Type**: PDF, PNG or JPEG only, decided by the file's first bytes (its "magic number"), never by the type the
  browser claims; the name's ending must agree with those bytes. A file named ``scan.pdf`` that holds PNG bytes is
  refused (it is not what it says), and so is an executable, a web page or a ZIP whatever it is called.
* **Size**: at most ``settings.KETACLINIC_MESSAGE_ATTACHMENT_MAX_BYTES`` (5 MB unless the clinic sets another; not
  a clinical number).
* **Virus scanning** (optional): ``settings.KETACLINIC_MESSAGE_SCANNER`` names a scanner: empty (none),
  ``clamd:/path/to/clamd.sock`` (ClamAV's daemon, over its documented INSTREAM protocol with the standard library:
  no package needed), or the dotted path of a callable ``scan(data: bytes) -> ScanResult``. A file the scanner
  flags, or cannot check (daemon down), is refused: the scanner fails closed.
* **Storage**: under ``settings.MESSAGE_ATTACHMENT_DIR`` (default ``DATA_DIR / "message-attachments"``, outside the
  code checkout), folder 0700, files 0600, named by a random id (the patient's file name is never a path).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import struct
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from ketaclinic.privatefiles import private_dir

#: Accepted types: the first bytes of the file, its MIME type and the extension the download gets.
MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)
#: The type each accepted name ending claims: a file's name must agree with its first bytes.
EXTENSIONS = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg"}
LABELS = {"application/pdf": "PDF document", "image/png": "PNG image", "image/jpeg": "JPEG image"}
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
ACCEPTED = "PDF, PNG or JPEG"


class AttachmentRefused(ValueError):
    """The file is not accepted; the message says why, in words the sender can act on."""


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    scanner: str
    detail: str = ""


@dataclass(frozen=True)
class CheckedFile:
    data: bytes
    filename: str
    content_type: str
    sha256: str
    scanned_by: str

    @property
    def size(self) -> int:
        return len(self.data)


def max_bytes() -> int:
    return int(getattr(settings, "KETACLINIC_MESSAGE_ATTACHMENT_MAX_BYTES", None) or DEFAULT_MAX_BYTES)


def human_size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


def detect_type(data: bytes) -> tuple[str, str] | None:
    """(MIME type, extension) from the first bytes, or None for any other kind of file."""
    for magic, mime, ext in MAGIC:
        if data.startswith(magic):
            return mime, ext
    return None


def _suffix(name: str) -> str:
    base = Path(str(name or "").replace("\\", "/")).name
    return "." + base.rsplit(".", 1)[1].lower() if "." in base.strip(".") else ""


def name_type(name: str) -> str | None:
    """The type a file's name claims by its ending (``.pdf``, ``.png``, ``.jpg``/``.jpeg``), or None."""
    return EXTENSIONS.get(_suffix(name).removeprefix("."))


def clean_filename(name: str, ext: str) -> str:
    """What the download is called: the sender's name without folders or odd characters, with the extension of
    the type the bytes are."""
    base = Path(str(name or "").replace("\\", "/")).name
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = re.sub(r"[^A-Za-z0-9 _.-]+", "_", stem).strip(" ._-")[:80] or "attachment"
    return f"{stem}.{ext}"


def check(data: bytes, name: str, *, size: int | None = None) -> CheckedFile:
    """The file, accepted by size, type (first bytes) and the scanner; else :class:`AttachmentRefused`."""
    limit = max_bytes()
    if (size if size is not None else len(data)) > limit or len(data) > limit:
        raise AttachmentRefused(f"This file is {human_size(max(size or 0, len(data)))}; files up to "
                                f"{human_size(limit)} are accepted. Nothing was sent.")
    if not data:
        raise AttachmentRefused("This file is empty. Nothing was sent.")
    kind = detect_type(data)
    if kind is None:
        raise AttachmentRefused(f"Only {ACCEPTED} files are accepted, and this file is none of them (whatever its "
                                f"name says). Nothing was sent.")
    mime, ext = kind
    named = name_type(name)
    if named != mime:
        raise AttachmentRefused(
            f"This file's name ends in {_suffix(name) or 'no type'}, but its contents are a {LABELS[mime]}. "
            f"Send a {ACCEPTED} file whose name says what it is. Nothing was sent.")
    result = scan(data)
    if result is not None and not result.clean:
        raise AttachmentRefused("This file did not pass the virus check" +
                                (f" ({result.detail})" if result.detail else "") + ". Nothing was sent.")
    return CheckedFile(data=data, filename=clean_filename(name, ext), content_type=mime,
                       sha256=hashlib.sha256(data).hexdigest(), scanned_by=result.scanner if result else "")


# ------------------------------------------------------------------------------------------ virus scanning
def scan(data: bytes) -> ScanResult | None:
    """Run the configured scanner (None when the clinic set none)."""
    spec = (getattr(settings, "KETACLINIC_MESSAGE_SCANNER", "") or "").strip()
    if not spec:
        return None
    if spec.startswith("clamd:"):
        return clamd_scan(data, spec.removeprefix("clamd:"))
    try:
        scanner = import_string(spec)
    except ImportError:
        return ScanResult(clean=False, scanner=spec, detail="the virus scanner is not set up correctly")
    return scanner(data)


def clamd_scan(data: bytes, socket_path: str, timeout: float = 30.0) -> ScanResult:
    """Scan with ClamAV's daemon over its Unix socket (the INSTREAM command: chunks each preceded by their length
    as a 4-byte big-endian number, then a zero length; the answer ends ``OK`` or ``<name> FOUND``). A daemon that
    cannot be reached or answers anything else refuses the file."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(socket_path)
            s.sendall(b"zINSTREAM\0")
            for start in range(0, len(data), 64 * 1024):
                chunk = data[start:start + 64 * 1024]
                s.sendall(struct.pack(">I", len(chunk)) + chunk)
            s.sendall(struct.pack(">I", 0))
            answer = b""
            while not answer.endswith(b"\0"):
                part = s.recv(4096)
                if not part:
                    break
                answer += part
    except OSError:
        return ScanResult(clean=False, scanner="clamd", detail="the virus scanner could not be reached; try again "
                                                               "later or bring the paper to the clinic")
    text = answer.rstrip(b"\0").decode("utf-8", "replace").strip()
    if text.endswith(" OK"):
        return ScanResult(clean=True, scanner="clamd")
    if text.endswith(" FOUND"):
        return ScanResult(clean=False, scanner="clamd", detail="a virus was found")
    return ScanResult(clean=False, scanner="clamd", detail="the virus scanner could not check it")


# ------------------------------------------------------------------------------------------ storage
def store_dir() -> Path:
    return Path(getattr(settings, "MESSAGE_ATTACHMENT_DIR", None) or settings.DATA_DIR / "message-attachments")


def write(data: bytes) -> str:
    """Store ``data`` under a new random name (folder 0700, file 0600, never over an existing file); the name."""
    folder = store_dir()
    private_dir(folder)
    name = uuid.uuid4().hex
    fd = os.open(folder / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return name


def path_of(stored_as: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}", stored_as or ""):
        raise FileNotFoundError(stored_as)
    return store_dir() / stored_as


def discard(stored_as: str) -> None:
    """Remove a file whose message was not saved after all."""
    try:
        path_of(stored_as).unlink()
    except FileNotFoundError:
        pass
