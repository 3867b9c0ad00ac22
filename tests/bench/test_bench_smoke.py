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
    "bench.risk_check",
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
    assert "comprehend.DetectToxicContent ×1" in rows["AWS API calls per clean submission"].result
    assert "Comprehend $300.00 for 3 units" in rows["USD per million clean submissions"].result


def test_comprehend_units_per_request_round_up_per_100_characters_with_a_3_unit_minimum() -> None:
    from bench.cost import comprehend_units, request_units

    assert request_units(["short title"]) == 3
    assert request_units(["a" * 300]) == 3
    assert request_units(["a" * 301]) == 4
    assert request_units(["a" * 150, "b" * 151]) == 4  # the request's segments together
    assert comprehend_units([{"TextSegments": [{"Text": "a" * 1000}]}, {"TextSegments": [{"Text": "b"}]}]) == 13


def test_risk_check_prose_fits_its_size_and_lists_no_word() -> None:
    from bench.risk_check import BODY_SIZES, prose

    for size in BODY_SIZES:
        text = prose(size)
        assert size - 120 < len(text.encode("utf-8")) <= size
        assert text.isascii() and "forbidden" not in text.lower()


def test_risk_check_counts_the_comprehend_calls_the_app_makes() -> None:
    from bench.risk_check import measure_sizes

    (one_kb, ten_kb) = measure_sizes((1024, 10 * 1024))

    assert (one_kb.comprehend_calls, one_kb.segments) == (1, 2)  # the title, and the body in one segment
    assert ten_kb.comprehend_calls == len(ten_kb.segments_per_request) == 2
    assert max(ten_kb.segments_per_request) == 10
    assert ten_kb.execution.comprehend_units == sum(ten_kb.units_per_request) > 100
    assert (one_kb.execution.transitions, one_kb.execution.invocations) == (5, 2)


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
