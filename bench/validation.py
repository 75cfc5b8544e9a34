"""Rows/s of validate_edge on kline payloads, against the same checks written with numpy.

Payloads are what exchanges send: lists of 12-field kline rows with string numbers and
millisecond open times. Both sides start from that list and end with a validated frame
(or arrays), so conversion is counted on both. Prints one JSON object.

Usage: python bench/validation.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from harness.market import MarketData
from harness.schemas import OHLCV, validate_edge

SIZES = (1_000, 10_000, 100_000)


def numpy_validate(rows: list[list[Any]]) -> dict[str, np.ndarray]:
    """The OHLCV contract by hand: the baseline."""
    ts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    cols = {
        name: np.array([r[i] for r in rows], dtype=np.float64)
        for i, name in enumerate(("open", "high", "low", "close", "volume"), start=1)
    }
    o, h, lo, c, v = (cols[k] for k in ("open", "high", "low", "close", "volume"))
    ok = (
        np.isfinite(o).all()
        and np.isfinite(h).all()
        and np.isfinite(lo).all()
        and np.isfinite(c).all()
        and np.isfinite(v).all()
        and (o > 0).all()
        and (h > 0).all()
        and (lo > 0).all()
        and (c > 0).all()
        and (v >= 0).all()
        and (np.diff(ts) > 0).all()
        and (h >= np.maximum(o, c)).all()
        and (lo <= np.minimum(o, c)).all()
        and (h >= lo).all()
    )
    if not ok:
        raise ValueError("invalid")
    return {"ts": ts, **cols}


def best_rate(fn: Callable[[], Any], rows: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return rows / best


def stages(rows: list[list[Any]]) -> dict[str, float]:
    """Where validate_edge's time goes at this size (seconds): building the frame, or pandera."""
    start = time.perf_counter()
    frame = pd.DataFrame(
        {
            name: [r[i] for r in rows]
            for i, name in enumerate(("ts", "open", "high", "low", "close", "volume"))
        }
    )
    frame["ts"] = pd.to_datetime(frame["ts"], unit="ms", utc=True)
    built = time.perf_counter()
    OHLCV.validate(frame, lazy=True)
    done = time.perf_counter()
    return {"build_frame_s": round(built - start, 4), "pandera_validate_s": round(done - built, 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    pandera_rps: dict[str, float] = {}
    numpy_rps: dict[str, float] = {}
    breakdown: dict[str, dict[str, float]] = {}
    for n in SIZES:
        rows = MarketData(1).ohlcv_payload(n)
        validate_edge(rows[:100], OHLCV)  # warm up imports and caches
        pandera_rps[str(n)] = round(
            best_rate(lambda r=rows: validate_edge(r, OHLCV), n, args.repeat)
        )
        numpy_rps[str(n)] = round(best_rate(lambda r=rows: numpy_validate(r), n, args.repeat))
        breakdown[str(n)] = stages(rows)
    print(
        json.dumps(
            {
                "benchmark": "validation",
                "python": sys.version.split()[0],
                "pandera_rows_per_s": pandera_rps,
                "numpy_rows_per_s": numpy_rps,
                "ratio_100k": round(numpy_rps["100000"] / pandera_rps["100000"], 2),
                "breakdown": breakdown,
            }
        )
    )


if __name__ == "__main__":
    main()
