"""The scenarios ``bench/run.py`` measures, one module each (see ``bench/README.md``):

1. ``cold_sync``   a never-opened notebook, session request to synced peer
2. ``fanout``      one writer's edits timed to every peer; ``sustain``: the highest rate
                   whose p99 stays under the limit
3. ``memory``      RSS at rest, per room, after edits, after eviction
4. ``store``       the store's size on disk
5. ``durability``  edits surviving kill -9

``common`` holds what they share (profiles, the two servers, notebooks, clients) and
``table`` the printed comparison. Percentiles come from ``bench/stats.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
for folder in (BENCH, BENCH.parent):  # `client`, `stats`; `tandem` from the repository
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
