"""What the benchmarks share: a child process per measured run (with its peak RSS), load averages, tables, JSON.

Writes nothing itself except through `write_results` (bench/results/<name>-<time>.json).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_child(cmd: list[str], log_path: Path, env: dict | None = None, cwd: Path = REPO) -> dict:
    """Run `cmd` to completion; returns its exit status, wall seconds, peak RSS and the load average around it.

    wait4 reports the child's own high-water RSS (ru_maxrss, KiB on Linux), so a run is measured alone even
    when earlier runs in this process were larger.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    before = load_average()
    started = time.time()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "rc": proc.returncode,
        "wall_seconds": round(time.time() - started, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "load_before": before,
        "load_after": load_average(),
        "log": str(log_path),
    }


def median_of(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def table(headers: list[str], rows: list[list]) -> str:
    """A GitHub-flavoured markdown table (pastes into bench/README.md as is)."""
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join(
        [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in cells[1:]]
    )


def write_results(name: str, payload: dict, out_dir: Path | None = None) -> Path:
    out_dir = Path(out_dir or REPO / "bench" / "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str), encoding="utf-8")
    return path
