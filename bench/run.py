"""``make bench``: run every ``bench/bench_*.py`` in turn and print one table of all figures.

Each script prints its progress and, last, a ``BENCH-JSON {...}`` line (also written to
``bench/results/<name>.json``); this collects those rows into one table with the machine's
core count and writes it all to ``bench/results/bench.json``. Benchmarks never run as part
of ``make test``. Exits non-zero when a script could not run (a missed target is a figure,
not a failure).

    .venv/bin/python bench/run.py [--quick] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402

# Cheapest first; those that share the bench database run one after the other.
ORDER = [
    "record_pipeline",
    "pdf",
    "import",
    "api_write",
    "chain",
    "reads",
    "pages",
    "export",
    "submission",
    "latency",
]


def scripts(only: list[str]) -> list[Path]:
    found = {p.stem.removeprefix("bench_"): p for p in HERE.glob("bench_*.py")}
    names = [n for n in ORDER if n in found] + sorted(set(found) - set(ORDER))
    if only:
        unknown = set(only) - set(found)
        if unknown:
            raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
        names = [n for n in names if n in only]
    return [found[n] for n in names]


def run_one(script: Path, quick: bool) -> tuple[dict | None, float]:
    """Run one script, echoing its output; returns its BENCH-JSON document and seconds."""
    started = time.perf_counter()
    cmd = [sys.executable, str(script), *(["--quick"] if quick else [])]
    proc = subprocess.Popen(
        cmd,
        cwd=common.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    doc = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(common.MARKER):
            doc = json.loads(line[len(common.MARKER) :])
        else:
            print("   " + line, end="", flush=True)
    proc.wait()
    if proc.returncode != 0:
        doc = None
    return doc, time.perf_counter() - started


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"


def table(rows: list[dict]) -> str:
    head = ("benchmark", "metric", "median", "unit", "runs", "target", "met")
    body = [
        (
            r["benchmark"],
            r["metric"],
            fmt(r["median"]),
            r["unit"],
            " / ".join(fmt(v) for v in r["runs"]),
            r.get("target") or "",
            {True: "yes", False: "NO", None: ""}[r.get("met")],
        )
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]
    lines = [
        "  ".join(str(x).ljust(w) for x, w in zip(head, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every script with --quick")
    parser.add_argument("--only", nargs="*", default=[], help="names, e.g. reads submission")
    args = parser.parse_args()

    rows: list[dict] = []
    failed: list[str] = []
    durations: dict[str, float] = {}
    started = time.perf_counter()
    for script in scripts(args.only):
        name = script.stem.removeprefix("bench_")
        print(f"== {script.name}", flush=True)
        doc, seconds = run_one(script, args.quick)
        durations[name] = round(seconds, 1)
        if doc is None:
            failed.append(name)
            print(f"   {script.name} FAILED", flush=True)
            continue
        rows += doc["rows"]
    # Memory rows come from two benchmarks: show them together, last.
    rows = [r for r in rows if r["benchmark"] != "memory"] + [
        r for r in rows if r["benchmark"] == "memory"
    ]
    total = time.perf_counter() - started
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print()
    print(f"Factu benchmarks, {when}, {common.cores()} cores{' (--quick)' if args.quick else ''}")
    print(table(rows))
    print(
        f"{len(rows)} figures in {total / 60:.1f} min" + (f"; FAILED: {failed}" if failed else "")
    )
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    (common.RESULTS / "bench.json").write_text(
        json.dumps(
            {
                "date": when,
                "cores": common.cores(),
                "quick": args.quick,
                "load_average": os.getloadavg(),
                "seconds": durations,
                "failed": failed,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    written = common.RESULTS / "bench.json"
    if written.is_relative_to(common.ROOT):  # BENCH_RESULTS_DIR may be elsewhere
        written = written.relative_to(common.ROOT)
    print(f"written: {written}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
