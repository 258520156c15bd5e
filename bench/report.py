"""The figures as Markdown tables, a verdict per target, and one plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .latency import LatencyRun
    from .suite import Results

MS = 1000.0
TARGET_ROUND_TRIPS = 2
TARGET_LATENCY_RATIO = 1.3
TARGET_CONFLICTS = 0.5
TARGET_RATE = 2000.0
TARGET_RSS_MIB = 40.0


def write_report(results: Results, out: Path) -> str:
    """Write ``report.md`` and ``latency.png`` under ``out``; return the
    Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    text = "\n".join(_report(results)) + "\n"
    (out / "report.md").write_text(text)
    _plot(results.latency, out / "latency.png")
    return text + f"\nWritten: {out / 'report.md'}, {out / 'latency.png'}"


def _report(results: Results) -> list[str]:
    s = results.sizes
    lines = [
        "# macvlan-ipam benchmark",
        "",
        f"{'Quick' if results.quick else 'Full'} run, "
        f"{results.seconds:.0f} s.  Pool: one /16 range "
        "(65,533 usable addresses), filled at random.  Latency: whole "
        f"plugin process, up to {s.samples} runs per command and level.",
        "",
        *_table(["machine", ""], list(results.machine.items())),
        "",
        "## Targets",
        "",
        *_table(["target", "measured", "verdict"], _targets(results)),
        "",
        "## Latency of one plugin process (ms)",
        "",
        *_latency(results),
        "",
        "Peak RSS is the process's own high-water mark, measured by a "
        f"small reaper process; below about {_floor(results):.1f} MiB "
        "(the reaper's own) it cannot tell.",
        "",
        "## Store round trips of our plugin",
        "",
        "Counted in process on the plugin's code path (cold store and "
        "cursor files per call), and at the etcd server (gRPC calls per "
        "command of real plugin processes).",
        "",
        *_round_trips(results),
        "",
        "## Plugin processes side by side (ADD/s, median of repeats)",
        "",
        *_throughput(results),
        "",
        "## In-process allocator on one etcd",
        "",
        "Each client is a process with its own store connection.  "
        "ADD/s if idle = cores / CPU time per ADD (client + etcd): what "
        "the machine could do with nothing else running.",
        "",
        *_in_process(results),
    ]
    return lines


def _table(head: list[str], rows: Sequence[tuple[object, ...]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |"]
    lines.append("|" + "|".join("---" for _ in head) + "|")
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _latency(results: Results) -> list[str]:
    rows: list[tuple[object, ...]] = []
    for run in results.latency:
        for lv in run.levels:
            rows.append(
                (
                    run.name,
                    f"{lv.fill:.0%}",
                    _ms(lv.add.p50, lv.add.p90, lv.add.p99),
                    _ms(lv.delete.p50, lv.delete.p90, lv.delete.p99),
                    f"{lv.check.p50 * MS:.0f}",
                    f"{lv.add.count}/{lv.check.count}/{lv.delete.count}",
                    f"{lv.max_rss_kib / 1024:.1f}",
                )
            )
        for level in run.skipped:
            rows.append((run.name, f"{level:.0%}", "no fill method", "", ""))
    head = ["implementation", "fill", "ADD p50/p90/p99",
            "DEL p50/p90/p99", "CHECK p50", "runs A/C/D",
            "peak RSS MiB"]  # fmt: skip
    return _table(head, rows)


def _floor(results: Results) -> float:
    floors = [lv.floor_kib for run in results.latency for lv in run.levels]
    return max(floors, default=0) / 1024


def _ms(*seconds: float) -> str:
    return " / ".join(f"{x * MS:.0f}" for x in seconds)


def _round_trips(results: Results) -> list[str]:
    rows: list[tuple[object, ...]] = []
    for run in results.latency:
        for lv in run.levels:
            rt = lv.round_trips
            if rt is None:
                continue
            rows.append(
                (
                    f"{lv.fill:.0%}",
                    f"{rt.add.mean:.3f} / {rt.add.worst} / {rt.add.over_two}",
                    f"{rt.check.mean:.2f} / {rt.check.worst}",
                    f"{rt.delete.mean:.2f} / {rt.delete.worst}",
                    *(
                        _rpcs(lv.rpcs.get(c, {}))
                        for c in ("ADD", "CHECK", "DEL")
                    ),
                )
            )
    head = ["fill", "ADD mean / max / calls >2", "CHECK mean / max",
            "DEL mean / max", "server: per ADD", "per CHECK",
            "per DEL"]  # fmt: skip
    return _table(head, rows)


def _rpcs(by_method: dict[str, float]) -> str:
    return ", ".join(f"{m} {n:.2f}" for m, n in sorted(by_method.items()))


def _throughput(results: Results) -> list[str]:
    rows: list[tuple[object, ...]] = []
    for name, rates in results.throughput.items():
        cells = []
        for r in rates:
            cell = f"{r.adds_per_second:.1f}"
            if r.rpcs_per_add is not None:
                cell += f" ({r.rpcs_per_add:.2f} RPC/ADD)"
            if r.failures:
                cell += f" {r.failures} failed"
            cells.append(cell)
        rows.append((name, *cells))
    first = next(iter(results.throughput.values()))
    workers = [f"{r.workers} workers" for r in first]
    return _table(["implementation", *workers], rows)


def _in_process(results: Results) -> list[str]:
    cores = int(results.machine.get("cores", "1"))
    rows = [
        (
            r.clients,
            "one node" if r.same_node else "own node each",
            f"{r.fill:.0%}",
            r.adds,
            f"{r.adds_per_second:.0f}",
            f"{r.conflicts_per_add:.3f}",
            f"{r.round_trips_per_add:.2f}",
            r.duplicates,
            f"{r.client_cpu_ms:.2f} + {r.server_cpu_ms:.2f}",
            f"{r.capacity(cores):.0f}",
        )
        for r in results.in_process
    ]
    head = ["clients", "nodes", "fill", "ADDs", "ADD/s", "conflicts/ADD",
            "round trips/ADD", "duplicates", "CPU ms/ADD client + etcd",
            "ADD/s if idle"]  # fmt: skip
    return _table(head, rows)


def _targets(results: Results) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    cores = int(results.machine.get("cores", "1"))
    ours = results.latency[0]
    counted = [lv for lv in ours.levels if lv.round_trips]
    worst_add = max(
        lv.round_trips.add.worst for lv in counted if lv.round_trips
    )
    over = sum(lv.round_trips.add.over_two for lv in counted if lv.round_trips)
    calls = sum(
        len(lv.round_trips.add.calls) for lv in counted if lv.round_trips
    )
    rows.append(
        (
            "round trips per cold ADD <= 2, 0-99% full",
            f"max {worst_add}; {over} of {calls} ADDs took more",
            _verdict(worst_add <= TARGET_ROUND_TRIPS),
        )
    )
    worst_other = max(
        max(lv.round_trips.delete.worst, lv.round_trips.check.worst)
        for lv in counted
        if lv.round_trips
    )
    rows.append(
        (
            "DEL / CHECK <= 2, any pool size",
            f"max {worst_other}",
            _verdict(worst_other <= TARGET_ROUND_TRIPS),
        )
    )
    paired = results.paired
    if paired is not None:
        rows.append(
            (
                f"ADD p50 at {paired.fill:.0%} <= 1.3 x at 0% "
                "(pools measured in alternation)",
                f"{paired.ratio:.2f} x ({paired.full.p50 * MS:.0f} vs "
                f"{paired.empty.p50 * MS:.0f} ms, {paired.full.count} "
                "pairs)",
                _verdict(paired.ratio <= TARGET_LATENCY_RATIO),
            )
        )
    eight = [r for r in results.in_process if r.clients == 8]
    spread = [r for r in eight if not r.same_node]
    if spread:
        worst = max(r.conflicts_per_add for r in spread)
        rows.append(
            (
                "conflicts per ADD < 0.5, 8 nodes at once",
                ", ".join(
                    f"{r.conflicts_per_add:.3f} at {r.fill:.0%}"
                    for r in spread
                ),
                _verdict(worst < TARGET_CONFLICTS),
            )
        )
        empty = spread[0]
        rows.append(
            (
                ">= 2000 ADD/s in process, 8 clients, no duplicates",
                f"{empty.adds_per_second:.0f} ADD/s (CPU bound if idle: "
                f"{empty.capacity(cores):.0f}), {empty.duplicates} "
                "duplicates",
                _verdict(
                    empty.adds_per_second >= TARGET_RATE
                    and empty.duplicates == 0
                ),
            )
        )
    for run in results.latency[:2]:
        rss = max(lv.max_rss_kib for lv in run.levels) / 1024
        rows.append(
            (
                f"peak RSS of one plugin process <= 40 MiB ({run.name})",
                f"{rss:.1f} MiB",
                _verdict(rss <= TARGET_RSS_MIB),
            )
        )
    return rows


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _plot(runs: list[LatencyRun], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4.5), dpi=120)
    for run in runs:
        if not run.levels:
            continue
        fills = [lv.fill * 100 for lv in run.levels]
        p50 = [lv.add.p50 * MS for lv in run.levels]
        p90 = [lv.add.p90 * MS for lv in run.levels]
        (line,) = axes.plot(fills, p50, marker="o", label=run.name)
        axes.fill_between(fills, p50, p90, color=line.get_color(), alpha=0.15)
    axes.set_yscale("log")
    axes.set_xlabel("pool fill (% of a /16)")
    axes.set_ylabel("ADD latency, whole process (ms, log)")
    axes.set_title("ADD latency vs fill: median, shaded to p90")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)
