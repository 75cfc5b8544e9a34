"""The trading idea both bots share: a moving-average crossover on 1-second bars."""

from __future__ import annotations

from collections.abc import Sequence

FAST, SLOW = 5, 20


def sma(values: Sequence[float], n: int) -> float:
    window = values[-n:]
    return sum(window) / len(window)


def side_for(closes: Sequence[float]) -> str:
    """``buy`` when the fast average is above the slow one, else ``sell``."""
    return "buy" if sma(closes, FAST) > sma(closes, SLOW) else "sell"


def limit_price(side: str, last: float) -> float:
    """A limit a few ticks inside the market, so some orders fill and some rest."""
    return round(last * (0.9995 if side == "buy" else 1.0005), 2)
