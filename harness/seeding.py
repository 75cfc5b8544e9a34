"""Seeds: one run seed, and everything else derived from it by hashing.

A derived seed depends only on the run seed and the names passed in (test node id,
scenario name, fault index), never on test order or on which xdist worker runs the
test, so the same run seed replays the same faults under ``-n 0`` and ``-n auto``.
"""

from __future__ import annotations

import hashlib
import random
import re

from harness.errors import UsageError, messages

__all__ = [
    "derive_seed",
    "in_shard",
    "new_run_seed",
    "parse_shard",
    "rng",
    "seed_for_test",
    "strip_sweep",
]


def new_run_seed() -> int:
    """A fresh run seed: short enough to read aloud and type back."""
    return random.SystemRandom().randrange(1, 2**32)


def derive_seed(run_seed: int, *parts: object) -> int:
    """A 63-bit seed from the run seed and any number of names."""
    text = "\x1f".join([str(int(run_seed)), *(str(p) for p in parts)])
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & (2**63 - 1)


def rng(run_seed: int, *parts: object) -> random.Random:
    """A ``random.Random`` seeded from the run seed and the names."""
    return random.Random(derive_seed(run_seed, *parts))


_SWEEP_ID = re.compile(r"^sweep\d+$")


def strip_sweep(nodeid: str) -> str:
    """The node id without its ``sweepN`` parametrization id, wherever pytest put it
    (``t[sweep0]``, ``t[sweep0-order-ack-lost]``, ``t[a-sweep2-b]``): the K seeds of one
    test share this id."""
    head, bracket, rest = nodeid.partition("[")
    if not bracket or not rest.endswith("]"):
        return nodeid
    ids = rest[:-1].split("-")
    kept = [part for part in ids if not _SWEEP_ID.match(part)]
    if len(kept) == len(ids):
        return nodeid
    return f"{head}[{'-'.join(kept)}]" if kept else head


def seed_for_test(
    run_seed: int, nodeid: str, *, fixed: int | None = None, sweep: int | None = None
) -> int:
    """A test's seed: ``fixed`` when the test pins one, else derived from the run seed and
    the node id (for a sweep, from the id without its sweep part and the sweep number)."""
    if fixed is not None:
        return int(fixed)
    if sweep is not None:
        return derive_seed(run_seed, strip_sweep(nodeid), "sweep", sweep)
    return derive_seed(run_seed, nodeid)


def parse_shard(value: str) -> tuple[int, int]:
    """``"I/N"`` -> (I, N) with 1 <= I <= N; ``UsageError`` otherwise."""
    try:
        index, total = (int(v) for v in str(value).split("/"))
    except ValueError:
        raise UsageError(messages.bad_shard(str(value))) from None
    if not 1 <= index <= total:
        raise UsageError(messages.bad_shard(str(value)))
    return index, total


def in_shard(nodeid: str, index: int, total: int) -> bool:
    """Whether a test belongs to shard ``index`` of ``total`` (a split by node id only, so
    every job of a CI matrix computes the same split)."""
    return derive_seed(0, nodeid) % total == index - 1
