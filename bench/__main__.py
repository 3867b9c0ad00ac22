"""`python -m bench` (what `make bench` runs): every figure of SPEC §9, a table, and BENCHMARKS.md."""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    boot_time,
    call_overhead,
    cold_start,
    content_check,
    cost,
    decision_latency,
    long_run,
    memory,
    pending_list,
    risk_check,
    submit_throughput,
)
from bench.report import FigureResult, Row, console_table, error_result, load_average, markdown
from bench.runtime import ROOT, RuntimeProcess

OUTPUT = ROOT / "BENCHMARKS.md"

Figure = Callable[[bool], FigureResult]


def content_check_figure(quick: bool = False) -> FigureResult:
    """Figure 6, from bench/content_check.py (titles per second with 1, 100 and 10,000 listed words)."""
    started = time.perf_counter()
    figures = content_check.run()
    rows = [
        Row(
            f"Content check, {size:,} word{'s' if size > 1 else ''} in the list",
            f"{figures[f'words_{size}']:,.0f} titles/s",
        )
        for size in content_check.LIST_SIZES
    ]
    method = f"""
`bench/content_check.py`, in-process and without AWS: {content_check.TITLE_COUNT:,} generated titles of
about 60 characters (one in five carries an evasion of "forbidden": case, accents, full-width letters,
look-alike Cyrillic, zero-width spaces, separators, leetspeak, repeated letters) are checked with
`chalicelib.domain.content_check.find_matches` against word lists of {", ".join(f"{size:,}" for size in content_check.LIST_SIZES)}
words ("forbidden" plus made-up words), compiled once as the Lambda would at start. One untimed pass warms
the caches; the figure is the best of {content_check.RUNS} timed passes (titles ÷ seconds).
"""
    return FigureResult(
        key="content_check",
        title="Content check",
        rows=rows,
        method=method,
        seconds=time.perf_counter() - started,
    )


def make_test_figure(quick: bool = False) -> FigureResult:
    """The wall time of the last `make test` on this checkout (the Makefile writes it; running it here would double the run)."""
    started = time.perf_counter()
    record = ROOT / ".make-test-seconds"
    if record.exists():
        seconds = int(record.read_text().strip())
        written = datetime.fromtimestamp(record.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")
        rows = [Row("make test wall time", f"{seconds // 60} min {seconds % 60:02d} s (last run {written})")]
    else:
        rows = [Row("make test wall time", "not measured: run `make test` first")]
    method = """
`make test` (ruff, then the whole pytest suite) records its own wall time in `.make-test-seconds` when it
passes; this figure reports the last such run on this checkout rather than running the suite again
inside the benchmark (it would double the benchmark's time and compete with it for the two cores).

History on this 2-core machine (fresh clone, install included): 7 min 46 s for 959 tests in one process
before the suite ran on pytest-xdist; 6 min 24 s for 1,314 tests on 2 workers (`--dist loadfile`) on
2026-12-02 (pytest 375 s; 4 workers took 6 min 48 s). Then, on 2026-12-02 06:36 UTC: 3 min 21 s for
1,605 tests (pytest 181 s; the install took about 16 s from pip's cache, with Debian's chromium already
installed). What took the CPU out, measured before the change: (1) each test worker forks its local
runtimes from a forkserver that has imported moto, chalice and the classifier once
(tests/local_runtime/forked_runtime.py): a runtime starts in about 1 s of CPU instead of 3.3 s and no
longer loads the classifier's model on its first answer; (2) the Makefile keeps bytecode in
.venv/pycache even where the shell sets PYTHONDONTWRITEBYTECODE=1 (this machine does): every process had
compiled moto and botocore from source, about 5 s of CPU each; (3) two speed patches to moto
(a JSON template read as JSON, KMS keys made on first use) and a pinned-version check read once: an
in-process stack deploy, paid by every functional test, went from 0.25 s to 0.06 s (both on the loaded machine); (4) the 1,000-socket
test runs last in its module, so its queued $disconnects no longer hold up the next test (12 s). `make
test-faithful` (speed patches off, each runtime a new `python -m local_runtime` process) is not held to
the 4 minutes; its time is in the same CI run's log.
"""
    return FigureResult(
        key="make_test", title="make test", rows=rows, method=method, seconds=time.perf_counter() - started
    )


TITLES = {
    "decision_latency": "Decision latency",
    "submit_throughput": "Submit throughput",
    "pending_list": "Pending list at scale",
    "cost": "Cost per submission",
    "risk_check": "Risk check",
    "call_overhead": "AWS call overhead",
    "cold_start": "Cold start",
    "content_check": "Content check",
    "boot_time": "Boot time",
    "memory": "Memory",
    "long_run": "Memory over a long run",
    "make_test": "make test",
}
# Run order: quiet, short figures first; the loaded local runtime last. The report follows TITLES' order.
RUN_ORDER = (
    "make_test",
    "cold_start",
    "content_check",
    "boot_time",
    "cost",
    "call_overhead",
    "pending_list",
    "submit_throughput",
    "decision_latency",
    "risk_check",
    "memory",
    "long_run",
)


def _measure(key: str, figure: Callable[[], FigureResult]) -> FigureResult:
    """Run one figure; a failure becomes an error row, never a failed run."""
    print(f"[bench] {TITLES[key]}...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        result = figure()
    except Exception as error:  # a benchmark that breaks is reported, the others still run
        traceback.print_exc()
        result = error_result(key, TITLES[key], error, time.perf_counter() - started)
    print(f"[bench] {TITLES[key]}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return result


def run_all(quick: bool, only: set[str]) -> list[FigureResult]:
    results: dict[str, FigureResult] = {}
    in_process: dict[str, Figure] = {
        "cold_start": cold_start.run,
        "content_check": content_check_figure,
        "boot_time": boot_time.run,
        "cost": cost.run,
        "risk_check": risk_check.run,
        "call_overhead": call_overhead.run,
        "pending_list": pending_list.run,
        "memory": memory.run,
        "make_test": make_test_figure,
        "long_run": long_run.run,
    }
    shared_runtime = [key for key in ("submit_throughput", "decision_latency") if key in only]
    for key in RUN_ORDER:
        if key not in only:
            continue
        if key in in_process:
            results[key] = _measure(key, lambda key=key: in_process[key](quick))
        elif key == shared_runtime[0]:
            results.update(_run_on_one_runtime(quick, shared_runtime))
    return [results[key] for key in TITLES if key in results]


def _run_on_one_runtime(quick: bool, keys: list[str]) -> dict[str, FigureResult]:
    """Throughput, then latency, on one runtime (its boot is measured separately)."""
    figures = {"submit_throughput": submit_throughput.run, "decision_latency": decision_latency.run}
    results: dict[str, FigureResult] = {}
    try:
        runtime = RuntimeProcess().start()
    except Exception as error:
        traceback.print_exc()
        return {key: error_result(key, TITLES[key], error, 0.0) for key in keys}
    try:
        for key in keys:
            results[key] = _measure(key, lambda key=key: figures[key](quick, runtime))
    finally:
        exit_code = runtime.stop()
    if exit_code not in (0, None):
        print(f"[bench] the local runtime exited with {exit_code} after SIGINT", file=sys.stderr)
    return results


def build_parser(prog: str = "python -m bench") -> argparse.ArgumentParser:
    """The benchmark's options; it reads no environment variables (the runtimes it starts get their own)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the benchmarks of SPEC section 9 on the local runtime (under 10 minutes), print a "
        "table and write BENCHMARKS.md.",
        epilog="environment variables: none (each local runtime it starts gets its own ports, token and "
        "timeout; real AWS settings are removed).",
    )
    parser.add_argument("--quick", action="store_true", help="small counts, under a minute (a smoke run)")
    parser.add_argument(
        "--only", default="", help=f"comma-separated figures to run (default: all): {', '.join(TITLES)}"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to write the report (default: BENCHMARKS.md for a full run; nothing for --quick or --only)",
    )
    return parser


def main(argv: list[str] | None = None, *, prog: str = "python -m bench") -> int:
    """Run the chosen figures, print the table and write the report; 0 even when a figure fails."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    only = {key.strip() for key in args.only.split(",") if key.strip()} or set(TITLES)
    unknown = only - set(TITLES)
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(sorted(unknown))}")

    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    load_before = load_average()
    results = run_all(args.quick, only)
    total = time.perf_counter() - started

    print()
    print(console_table(results))
    print(f"\ntotal {total:.0f} s")
    output = args.output
    if output is None and not args.quick and only == set(TITLES):
        output = OUTPUT
    if output is not None:
        output.write_text(
            markdown(
                results,
                root=ROOT,
                started=started_at,
                total_seconds=total,
                quick=args.quick,
                load_before=load_before,
                load_after=load_average(),
            )
        )
        print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
