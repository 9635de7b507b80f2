"""The side-by-side table ``bench/run.py`` prints."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from scenarios.sustain import LATENCY_LIMIT_MS


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isinf(value):
            return "lost"
        if math.isnan(value):
            return "-"
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def ratio(t: Any, r: Any) -> str:
    try:
        t, r = float(t), float(r)
    except (TypeError, ValueError):
        return "-"
    if math.isinf(t) or math.isinf(r) or math.isnan(t) or math.isnan(r):
        return "-"
    if r == 0:
        return "-" if t == 0 else "inf"
    return f"{t / r:.2f}x"


def table(results: dict[str, Any]) -> str:
    t, r = results["tandem"], results["reference"]
    rows: list[tuple[str, Any, Any, bool]] = []  # label, tandem, reference, show ratio

    def add(label: str, tv: Any, rv: Any, show_ratio: bool = True) -> None:
        rows.append((label, tv, rv, show_ratio))

    def section(title: str) -> None:
        rows.append((title, None, None, False))

    section("1. cold sync, PUT to synced (median, ms)")
    for size in t["cold_sync"]:
        add(
            f"   {size} cells", t["cold_sync"][size]["median_ms"], r["cold_sync"][size]["median_ms"]
        )
    section("2. fan-out latency, one writer (ms)")
    for key in t["fanout"]:
        tf, rf = t["fanout"][key], r["fanout"][key]
        for q in ("p50", "p95", "p99"):
            add(f"   {tf['peers']} peers @ {tf['rate']}/s {q}", tf[f"{q}_ms"], rf[f"{q}_ms"])
        if tf["lost"] or rf["lost"]:
            add(
                f"   {tf['peers']} peers @ {tf['rate']}/s undelivered",
                tf["lost"],
                rf["lost"],
                False,
            )
    section(
        f"   highest rate with p99 <= {LATENCY_LIMIT_MS:.0f} ms, "
        f"{t['sustain']['peers']} peers (edits/s)"
    )
    first_rate = (t["sustain"]["steps"] or r["sustain"]["steps"] or [{"rate": 0}])[0]["rate"]

    def sustained(result: dict[str, Any]) -> Any:
        if not result["max_rate"]:
            return f"<{first_rate}"
        # no step failed: the server kept up with the highest rate tried
        return result["max_rate"] if result["stopped"] else f">={result['max_rate']}"

    add("   sustained rate", sustained(t["sustain"]), sustained(r["sustain"]))
    for step_t, step_r in zip_longest_steps(t["sustain"]["steps"], r["sustain"]["steps"]):
        rate = (step_t or step_r)["rate"]
        add(f"     p99 @ {rate}/s", step_t and step_t["p99_ms"], step_r and step_r["p99_ms"])
    section("3. server memory (MiB)")
    tm, rm = t["memory"], r["memory"]
    add("   baseline RSS", tm["baseline_mib"], rm["baseline_mib"])
    add(f"   per open {tm['cells']}-cell room", tm["per_room_mib"], rm["per_room_mib"])
    add(
        f"   growth after {tm['edits']:,} edits to one cell",
        tm["edits_delta_mib"],
        rm["edits_delta_mib"],
    )
    add("   RSS after rooms closed + evicted", tm["after_evict_mib"], rm["after_evict_mib"])
    add("   retained vs baseline", tm["retained_mib"], rm["retained_mib"])
    add(
        "   rooms evicted by then",
        f"{tm['rooms_evicted']}/{tm['rooms_to_evict']}",
        f"{rm['rooms_evicted']}/{rm['rooms_to_evict']}",
        False,
    )
    section("4. store on disk (KiB)")
    ts, rs = t["store"], r["store"]
    add(
        f"   live, after {ts['edits']:,} edits",
        ts["store_live_bytes"] / 1024,
        rs["store_live_bytes"] / 1024,
    )
    add(
        "   after clean shutdown",
        ts["store_after_shutdown_bytes"] / 1024,
        rs["store_after_shutdown_bytes"] / 1024,
    )
    add("   document's own Y update", ts["doc_update_bytes"] / 1024, rs["doc_update_bytes"] / 1024)
    add("   update rows in the store", ts["store_rows"], rs["store_rows"], False)
    section("5. durability: edits surviving kill -9")
    td, rd = t["durability"], r["durability"]
    add(f"   of {td['edits']} seen by a peer", td["survived"], rd["survived"], False)

    width = max(len(label) for label, *_ in rows) + 2
    lines = [f"{'':<{width}}{'Tandem':>12}{'reference':>12}{'T/ref':>9}", "-" * (width + 33)]
    for label, tv, rv, show in rows:
        if tv is None and rv is None and not show:
            lines.append(label)
            continue
        lines.append(
            f"{label:<{width}}{fmt(tv):>12}{fmt(rv):>12}{(ratio(tv, rv) if show else ''):>9}"
        )
    return "\n".join(lines)


def zip_longest_steps(
    a: list[dict[str, Any]], b: list[dict[str, Any]]
) -> Iterator[tuple[Any, Any]]:
    by_rate_a = {s["rate"]: s for s in a}
    by_rate_b = {s["rate"]: s for s in b}
    for rate in sorted(set(by_rate_a) | set(by_rate_b)):
        yield by_rate_a.get(rate), by_rate_b.get(rate)
