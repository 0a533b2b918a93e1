"""Signed checkpoints of the hash chains' heads, kept outside the database.

The chains (the audit trail, the custody ledger) are keyed (``chain.py``): nobody without the chain key can re-hash
an edited chain. What a key cannot show on its own is the newest entries deleted and the chain head moved back: the
rest of the chain still verifies. So ``manage.py checkpoint_chains``, run on a schedule (see docs/operations.md),
appends each chain's head (sequence number and hash) to a file outside the database
(``settings.CHAIN_CHECKPOINT_DIR``), each line MACed with the chain key; ``verify_audit`` and ``verify_ledger``
then check that every checkpointed entry is still in the chain, unchanged, and that no head has moved back.

Every chain is a subclass of ``ChainedEntry`` naming its ``chain`` (found through the app registry, so the audit app
needs no import of the apps above it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.utils import timezone

from ketaclinic.audit import chain as hashing
from ketaclinic.audit.models import ChainedEntry, ChainHead

FILE_NAME = "checkpoints.jsonl"


@dataclass(frozen=True)
class Checkpoint:
    chain: str
    seq: int
    hash: str
    at: str  # ISO 8601, the moment it was taken

    def fields(self) -> dict[str, object]:
        return {"chain": self.chain, "seq": self.seq, "hash": self.hash, "at": self.at}


def _mac(fields: dict[str, object]) -> str:
    return hmac.new(settings.CHAIN_KEY, hashing.canonical(fields).encode("utf-8"), hashlib.sha256).hexdigest()


def checkpoint_file() -> Path:
    return Path(settings.CHAIN_CHECKPOINT_DIR) / FILE_NAME


def chain_models() -> dict[str, type[ChainedEntry]]:
    """Each chain's name and its entry model."""
    return {m.chain: m for m in apps.get_models() if issubclass(m, ChainedEntry) and getattr(m, "chain", "")}


def read() -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints in the file, oldest first, and a problem for each line that is not a checkpoint the key
    signed (altered, forged or garbled)."""
    found, problems, _last = _read()
    return found, problems


def _read() -> tuple[list[Checkpoint], list[str], str]:
    """:func:`read`, and the MAC of the last line (each line's MAC covers the one before it, so a line taken out
    of the middle breaks the next one)."""
    path = checkpoint_file()
    found: list[Checkpoint] = []
    problems: list[str] = []
    prev = ""
    if not path.exists():
        return found, problems, prev
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            point = Checkpoint(chain=str(data["chain"]), seq=int(data["seq"]), hash=str(data["hash"]),
                               at=str(data["at"]))
            mac = str(data["mac"])
        except (ValueError, KeyError, TypeError):
            problems.append(f"checkpoint line {number} cannot be read")
            continue
        if not hmac.compare_digest(_mac({**point.fields(), "prev": prev}), mac):
            problems.append(f"checkpoint line {number} was not signed with the chain key after the line before it "
                            "(altered, forged, or a line before it removed)")
        else:
            found.append(point)
        prev = mac
    return found, problems, prev


def write(now: datetime | None = None) -> list[Checkpoint]:
    """Append a checkpoint of every chain (also of one that has not moved: the newest line's time shows the
    checkpoints are still being written, ``CHAIN_CHECKPOINT_MAX_AGE_MINUTES``); return what was written. The file
    is flushed to disk before this returns."""
    now = now or timezone.now()
    _found, _problems, prev = _read()
    written = [Checkpoint(chain=head.name, seq=head.last_seq, hash=head.last_hash, at=now.isoformat())
               for head in ChainHead.objects.filter(name__in=chain_models(), last_seq__gt=0).order_by("name")]
    if written:
        path = checkpoint_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            for point in written:
                prev = _mac({**point.fields(), "prev": prev})
                out.write(json.dumps({**point.fields(), "mac": prev}, sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())
    return written


def verify(chain_name: str) -> list[str]:
    """What the checkpoints of ``chain_name`` show is wrong with it now: entries gone since they were
    checkpointed, entries changed, a head moved back, or a checkpoint line not signed with the key. Empty when
    the chain agrees with every checkpoint."""
    model = chain_models()[chain_name]
    points, problems = read()
    points = [p for p in points if p.chain == chain_name]
    max_age = getattr(settings, "CHAIN_CHECKPOINT_MAX_AGE_MINUTES", 0)
    if max_age:
        newest_at = max((datetime.fromisoformat(p.at) for p in points), default=None)
        if newest_at is None or timezone.now() - newest_at > timedelta(minutes=max_age):
            problems.append(f"the newest checkpoint of the {chain_name} chain is "
                            f"{'missing' if newest_at is None else 'from ' + newest_at.isoformat()}, more than "
                            f"{max_age} minutes ago: checkpoints stopped being written, or were removed")
    if not points:
        return problems
    head = ChainHead.objects.filter(name=chain_name).first()
    head_seq = head.last_seq if head else 0
    newest = max(points, key=lambda p: p.seq)
    if head_seq < newest.seq:
        problems.append(f"the {chain_name} chain ends at entry {head_seq}, but entry {newest.seq} was checkpointed "
                        f"at {newest.at}: entries were removed from its end")
    stored = dict(model.objects.filter(seq__in={p.seq for p in points}).values_list("seq", "hash"))
    for point in points:
        if point.seq not in stored:
            if point.seq <= head_seq:
                problems.append(f"entry {point.seq} of the {chain_name} chain, checkpointed at {point.at}, is gone")
        elif not hmac.compare_digest(stored[point.seq], point.hash):
            problems.append(f"entry {point.seq} of the {chain_name} chain differs from the one checkpointed at "
                            f"{point.at}: the chain was rewritten")
    return problems
