"""Seeds: one run seed, and everything else derived from it by hashing.

A derived seed depends only on the run seed and the names passed in (test node id,
scenario name, fault index), never on test order or on which xdist worker runs the
test, so the same run seed replays the same faults under ``-n 0`` and ``-n auto``.
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["derive_seed", "new_run_seed", "rng"]


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
