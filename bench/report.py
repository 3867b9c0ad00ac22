"""Figure results, the machine description, the console table and BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

PASS = "pass"
MISS = "miss"
INFO = "info"
ERROR = "error"
_MARKERS = {PASS: "✅ pass", MISS: "❌ miss", INFO: "—", ERROR: "⚠️ error"}


@dataclass
class Row:
    """One line of the results table."""

    figure: str
    result: str
    target: str = "—"
    status: str = INFO


@dataclass
class FigureResult:
    """Everything one benchmark reports: its table rows, how it was measured, and what it found."""

    key: str
    title: str
    rows: list[Row]
    method: str
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def check(value: float, *, at_most: float | None = None, at_least: float | None = None) -> str:
    """``pass`` when ``value`` meets every bound given, else ``miss``."""
    if at_most is not None and value > at_most:
        return MISS
    if at_least is not None and value < at_least:
        return MISS
    return PASS


def error_result(key: str, title: str, error: BaseException, seconds: float) -> FigureResult:
    message = f"{type(error).__name__}: {error}".strip()
    return FigureResult(
        key=key,
        title=title,
        rows=[Row(title, f"not measured ({message[:200]})", status=ERROR)],
        method="The benchmark raised before it could report; see the console output of `make bench`.",
        seconds=seconds,
    )


# --- the machine ---------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def os_description() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return f"{line.split('=', 1)[1].strip(chr(34))}, Linux {platform.release()}"
    except OSError:
        pass
    return platform.platform()


def memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def git_revision(root: Path) -> str:
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return completed.stdout.strip() or "unknown"


def machine(root: Path) -> list[tuple[str, str]]:
    return [
        ("CPU", cpu_model()),
        ("Cores", str(os.cpu_count())),
        ("Memory", memory_total()),
        ("OS", os_description()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        (
            "Packages",
            ", ".join(f"{name} {package_version(name)}" for name in ("chalice", "boto3", "moto", "websockets")),
        ),
        ("Commit", git_revision(root)),
    ]


# --- output ----------------------------------------------------------------------------------


def console_table(results: list[FigureResult]) -> str:
    rows = [row for result in results for row in result.rows]
    headers = ("figure", "result", "target", "status")
    cells = [
        (row.figure, row.result, row.target, row.status.upper() if row.status == MISS else row.status) for row in rows
    ]
    widths = [max(len(header), *(len(cell[index]) for cell in cells)) for index, header in enumerate(headers)]
    line = "  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * width for width in widths)]
    out += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(out)


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(
    results: list[FigureResult],
    *,
    root: Path,
    started: datetime,
    total_seconds: float,
    quick: bool,
    load_before: str,
    load_after: str,
) -> str:
    out = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python -m bench{' --quick' if quick else ''}`) on "
        f"{started.astimezone(UTC).strftime('%Y-%m-%d %H:%M UTC')}; the whole run took {total_seconds:.0f} s.",
        "Benchmarks are not tests: nothing here fails a build. A ❌ marks a target we miss today.",
    ]
    if quick:
        out += ["", "**Quick mode**: small counts for a smoke run; these figures are not the reference ones."]
    out += ["", "## Results", "", "| Figure | Result | Target | Status |", "|---|---|---|---|"]
    for result in results:
        for row in result.rows:
            out.append(
                f"| {_escape(row.figure)} | {_escape(row.result)} | {_escape(row.target)} | {_MARKERS[row.status]} |"
            )
    findings = [(result.title, note) for result in results for note in result.notes]
    if findings:
        out += ["", "## Findings", ""]
        out += [f"- **{title}**: {note}" for title, note in findings]
    out += ["", "## Method", ""]
    for index, result in enumerate(results, start=1):
        out += [
            f"### {index}. {result.title}",
            "",
            result.method.strip(),
            "",
            f"_Measured in {result.seconds:.1f} s._",
            "",
        ]
    out += ["## Machine", "", "| | |", "|---|---|"]
    out += [f"| {name} | {_escape(value)} |" for name, value in machine(root)]
    out += [
        f"| Load average (1/5/15 min) before the run | {load_before} |",
        f"| Load average after the run | {load_after} |",
        "",
        "The figures depend on the machine and on what else runs on it: a high load average "
        "(other processes competing for the two cores) makes every local-runtime figure worse.",
        "",
        "## How to reproduce",
        "",
        "```sh",
        "make bench               # every figure, writes BENCHMARKS.md (under 10 minutes on 2 cores)",
        ".venv/bin/python -m bench --quick   # small counts, under a minute: a smoke run",
        "```",
        "",
        "Each figure lives in its own module under `bench/`; the local-runtime figures start "
        "`python -m local_runtime` as a subprocess on free loopback ports, the others run the app "
        "in-process on moto's `mock_aws`. Nothing leaves 127.0.0.1.",
        "",
    ]
    return "\n".join(out)
