"""Keyed hash chaining for append-only logs (the audit trail and the custody ledger).

Each entry's hash is an HMAC-SHA256, under the clinic's chain key, of its own canonical content and the previous
entry's hash: editing, deleting or reordering any entry breaks every hash after it, and because the key is kept
outside the database (``ketaclinic/audit/keys.py``), someone who can write to the database cannot re-hash an
edited chain so that it verifies. Deleting the newest entries and moving the head back is caught by the
checkpoints kept outside the database (``ketaclinic/audit/checkpoints.py``). Pure functions: no Django.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

GENESIS = "0" * 64


def canonical(content: Mapping[str, object]) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(prev_hash: str, content: Mapping[str, object], key: bytes) -> str:
    """HMAC-SHA256 under ``key`` of the previous hash, a newline and the entry's canonical content, in hex."""
    if len(key) < 32:
        raise ValueError("A chain key has at least 32 bytes.")
    mac = hmac.new(key, digestmod=hashlib.sha256)
    mac.update(prev_hash.encode("ascii"))
    mac.update(b"\n")
    mac.update(canonical(content).encode("utf-8"))
    return mac.hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify(entries: Iterable[tuple[int, str, str, Mapping[str, object]]], expected_last_seq: int | None,
           key: bytes) -> ChainBreak | None:
    """Check entries given as (seq, prev_hash, hash, content) in seq order under ``key``. Return the first break,
    or None."""
    prev_hash = GENESIS
    expected_seq = 1
    for seq, stored_prev, stored_hash, content in entries:
        if seq != expected_seq:
            return ChainBreak(expected_seq, f"entry {expected_seq} is missing (next present entry is {seq})")
        if stored_prev != prev_hash:
            return ChainBreak(seq, f"entry {seq} does not point at the hash of entry {seq - 1}")
        if not hmac.compare_digest(entry_hash(prev_hash, content, key), stored_hash):
            return ChainBreak(seq, f"entry {seq} was altered after it was written, or written without the chain key "
                                   "(hash mismatch)")
        prev_hash = stored_hash
        expected_seq += 1
    if expected_last_seq is not None and expected_seq - 1 != expected_last_seq:
        return ChainBreak(expected_seq, f"entries {expected_seq}–{expected_last_seq} are missing from the end")
    return None
