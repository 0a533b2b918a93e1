"""Folders for files only the app may read (exports, attachments): created 0700, and pruned of job folders no
live job owns. Shared by the report jobs, the FHIR bulk export and message attachments."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path


def private_dir(path: Path) -> None:
    """Create ``path`` (and its parents) readable by the app's own user only; tighten it if it already exists."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def _is_job_folder(name: str) -> bool:
    """A job's folder is named by its external id, a UUID written the way ``str(uuid)`` writes it."""
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


def remove_orphan_folders(root: Path, live: Iterable[str]) -> None:
    """Remove every job folder directly under ``root`` whose name is not in ``live`` (the external ids of the jobs
    still queued, running or complete): the leftovers of jobs deleted, expired or killed mid-write. Only folders
    named as a job names its folder are touched, so an export folder set to the data folder itself (or shared
    with the checkpoints, attachments or backups) never loses them."""
    if not root.is_dir():
        return
    keep = set(live)
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink() and _is_job_folder(child.name) and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)
