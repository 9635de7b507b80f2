"""The one percentile every bench script reports with.

Nearest rank: the ``q``-th percentile of ``n`` values is the smallest value that at least
``q`` percent of the values are less than or equal to, i.e. ``sorted(values)[k - 1]``
with ``k = max(1, ceil(q / 100 * n))``. It is always one of the measured values (never
an interpolation), and ``inf`` (an edit that never arrived) sorts last, so a p99 is
``inf`` exactly when more than 1% of the values are lost.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["percentile"]


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank ``q``-th percentile (0 < q <= 100) of ``values``, in any order;
    ``nan`` when there are none."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
