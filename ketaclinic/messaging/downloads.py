"""Serving an attachment: as a download (Content-Disposition: attachment), with its stored type, never sniffed."""

from __future__ import annotations

from django.http import FileResponse, Http404

from ketaclinic.messaging import attachments
from ketaclinic.messaging.models import Attachment


def download(att: Attachment) -> FileResponse:
    try:
        handle = open(attachments.path_of(att.stored_as), "rb")  # noqa: SIM115 (FileResponse closes it)
    except FileNotFoundError:
        raise Http404("This file is no longer stored.") from None
    response = FileResponse(handle, as_attachment=True, filename=att.filename, content_type=att.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store, private"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
