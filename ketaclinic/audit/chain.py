"""Hash chaining for append-only logs (the audit trail and the custody ledger).

Each entry's hash covers its own canonical content and the previous entry's hash, so editing,
deleting or reordering any entry breaks every hash after it. Pure functions: no Django.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

GENESIS = "0" * 64


def canonical(content: Mapping[str, object]) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(prev_hash: str, content: Mapping[str, object]) -> str:
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical(content).encode("utf-8"))
    return digest.hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify(entries: Iterable[tuple[int, str, str, Mapping[str, object]]], expected_last_seq: int | None) -> ChainBreak | None:
    """Check entries given as (seq, prev_hash, hash, content) in seq order. Return the first break, or None."""
    prev_hash = GENESIS
    expected_seq = 1
    for seq, stored_prev, stored_hash, content in entries:
        if seq != expected_seq:
            return ChainBreak(expected_seq, f"entry {expected_seq} is missing (next present entry is {seq})")
        if stored_prev != prev_hash:
            return ChainBreak(seq, f"entry {seq} does not point at the hash of entry {seq - 1}")
        if entry_hash(prev_hash, content) != stored_hash:
            return ChainBreak(seq, f"entry {seq} was altered after it was written (hash mismatch)")
        prev_hash = stored_hash
        expected_seq += 1
    if expected_last_seq is not None and expected_seq - 1 != expected_last_seq:
        return ChainBreak(expected_seq, f"entries {expected_seq}–{expected_last_seq} are missing from the end")
    return None
