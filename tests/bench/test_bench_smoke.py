"""Smoke test: the benchmark modules import, the in-process figures run in quick mode, the report renders."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

MODULES = (
    "bench.__main__",
    "bench.boot_time",
    "bench.cold_start",
    "bench.content_check",
    "bench.cost",
    "bench.decision_latency",
    "bench.long_run",
    "bench.memory",
    "bench.pending_list",
    "bench.submit_throughput",
)


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name: str) -> None:
    assert importlib.import_module(name)


def test_cost_figure_runs_in_process() -> None:
    from bench import cost

    result = cost.run(quick=True)

    rows = {row.figure: row for row in result.rows}
    assert rows["Cost per clean submission"].status in ("pass", "miss")
    assert rows["Cost per flagged submission"].status in ("pass", "miss")


def test_pending_list_page_is_one_index_query() -> None:
    from bench import pending_list

    result = pending_list.run(quick=True)

    calls = next(row for row in result.rows if row.figure.endswith("AWS calls per page"))
    assert calls.status == "pass", calls.result


def test_report_renders_every_row() -> None:
    from bench.report import FigureResult, Row, console_table, markdown

    results = [FigureResult("demo", "Demo", [Row("Demo figure", "1 ms", "≤ 2 ms", "pass")], "How it was measured.")]

    text = markdown(
        results,
        root=Path(__file__).resolve().parents[2],
        started=datetime.now(UTC),
        total_seconds=1.0,
        quick=True,
        load_before="0 / 0 / 0",
        load_after="0 / 0 / 0",
    )

    assert "| Demo figure | 1 ms | ≤ 2 ms | ✅ pass |" in text
    assert "### 1. Demo" in text and "## Machine" in text
    assert "Demo figure" in console_table(results)
