"""Figure: what the risk check (SPEC §13) costs: runtime CPU with it on and off, Comprehend calls and dollars by body size.

Two parts. Over the local runtime, runtime CPU per clean submission with ``RISK_CHECK`` on and off
(the method of bench/submit_throughput.py, at one concurrency). In-process, one clean submission
per body size, with the app's real ``DetectToxicContent`` requests counted and recorded by
bench/cost.py's call counter, priced with bench/cost.py's model (Comprehend included).
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass

from bench import cost
from bench.in_process import InProcessApp, in_process_app
from bench.report import INFO, FigureResult, Row, check
from bench.runtime import RuntimeProcess
from bench.submit_throughput import Level, measure_level, warm_up

CONCURRENCY = 16
COUNT = 200
QUICK_COUNT = 20
# Fresh runtime per run, in this order: on, off, off, on balances a drift in the machine's load.
SETTINGS_ORDER = ("on", "off", "off", "on")
QUICK_SETTINGS_ORDER = ("on", "off")
TARGET_CPU_MS = 10.0  # SPEC §9: ≤ 10 ms of runtime CPU per submission at concurrency 16 (risk check on by default)
# Body sizes in bytes of UTF-8 (1 KB = 1,024 bytes; the API takes at most 100 × 1,024 bytes of body).
BODY_SIZES = (1024, 10 * 1024, 100 * 1024)
TITLE = "A quiet local story"
SEED = 18

_SENTENCES = (
    "The library on Market Street opens an hour earlier on Saturdays during the summer.",
    "Volunteers planted forty young oak trees along the river path last weekend.",
    "The morning train to the coast was a few minutes late because of maintenance work near the bridge.",
    "Our neighbours held a small bake sale and raised enough money to repaint the community hall.",
    "A local teacher has started an evening class on the history of the town's old mills.",
    "The weather stayed mild all week, with light rain in the afternoons and clear skies at night.",
    "Families gathered in the park to watch the annual kite festival and share picnic lunches.",
    "The council has published a plan to add more bicycle parking near the central station.",
    "Several shops on the high street now close early on Wednesdays to give their staff a longer weekend.",
    "The museum's new exhibition shows photographs of the harbour taken over the last hundred years.",
    "Children from the primary school wrote letters to residents of the care home across the road.",
    "A farmer from the valley brought fresh apples, pears and honey to the Thursday market.",
    "The swimming pool will reopen next month after the replacement of its heating system.",
    "Residents are invited to a meeting about the new bus timetable on Tuesday evening.",
    "The choir practised in the church hall and will sing at the spring concert in April.",
    "Road works on the northern bypass are expected to finish before the end of the month.",
    "A retired engineer repaired the clock on the town hall, which had stopped two years ago.",
    "The football club thanked its supporters for a season of friendly matches and full stands.",
    "Gardeners shared advice on growing tomatoes in small spaces such as balconies and window boxes.",
    "The bakery on the corner has added a wholemeal loaf and a rye bread to its weekly menu.",
)


def prose(size: int, *, seed: int = SEED) -> str:
    """Ordinary English prose (ASCII) of at most ``size`` bytes, cut at a space, the same for the same seed."""
    chooser = random.Random(seed)
    parts: list[str] = []
    length = -1
    while length < size:
        sentence = chooser.choice(_SENTENCES)
        parts.append(sentence)
        length += 1 + len(sentence)
    text = " ".join(parts)
    return text if len(text) <= size else text[: text.rfind(" ", 0, size + 1)]


@dataclass
class SizeCost:
    """One clean submission with a body of ``body_bytes``: its Comprehend requests and its price."""

    label: str
    body_bytes: int
    execution: cost.ExecutionCost
    segments_per_request: list[int]
    units_per_request: list[int]

    @property
    def comprehend_calls(self) -> int:
        return self.execution.calls[cost.DETECT_TOXIC_CONTENT]

    @property
    def segments(self) -> int:
        return sum(self.segments_per_request)


def _label(size: int) -> str:
    return f"{size // 1024} KB"


def measure_sizes(sizes: tuple[int, ...] = BODY_SIZES) -> list[SizeCost]:
    """One clean submission per body size, in-process; the app's AWS calls counted while each ran."""
    with in_process_app() as app:
        return [_measure_size(app, size) for size in sizes]


def _measure_size(app: InProcessApp, size: int) -> SizeCost:
    body = prose(size)
    with cost.CallCounter() as calls:
        submission_id = app.submit(TITLE, body)
        final = cost._final_with(calls.paused(app.submission), submission_id)
        if final["status"] != "APPROVED":
            raise RuntimeError(f"the {_label(size)} submission ended {final['status']}, not APPROVED: {final}")
        arn = calls.paused(cost._execution_arn)(app, submission_id)
        calls.paused(cost._succeeded)(arn)
    execution = cost.count(f"clean, {_label(size)} body", cost.history(arn))
    execution.calls = calls.calls
    requests = calls.requests[cost.DETECT_TOXIC_CONTENT]
    execution.comprehend_units = cost.comprehend_units(requests)
    texts = [cost.detect_toxic_content_texts(params) for params in requests]
    return SizeCost(
        label=_label(size),
        body_bytes=len(body.encode("utf-8")),
        execution=execution,
        segments_per_request=[len(request) for request in texts],
        units_per_request=[cost.request_units(request) for request in texts],
    )


@dataclass
class CpuRun:
    setting: str
    level: Level


def measure_cpu(order: tuple[str, ...], count: int) -> list[CpuRun]:
    """For each setting in ``order``: a fresh runtime with RISK_CHECK set, warmed up, then one level at CONCURRENCY."""
    runs = []
    for setting in order:
        with RuntimeProcess({"RISK_CHECK": setting}) as runtime:
            warm_up(runtime)  # also loads the local classifier (its first DetectToxicContent), uncounted
            level = measure_level(runtime, CONCURRENCY, count)
        if level.checked != count:
            raise RuntimeError(f"RISK_CHECK={setting}: {level.checked}/{count} submissions checked")
        runs.append(CpuRun(setting, level))
    return runs


def _price(value: float) -> str:
    return f"${value:,.2f}"


def _cpu_rows(runs: list[CpuRun], count: int) -> tuple[list[Row], dict[str, float]]:
    means: dict[str, float] = {}
    rows = []
    for setting in ("on", "off"):
        samples = [run.level.cpu_ms_per_submission for run in runs if run.setting == setting]
        throughput = [run.level.checked_per_second for run in runs if run.setting == setting]
        means[setting] = statistics.fmean(samples)
        on = setting == "on"
        rows.append(
            Row(
                f"Runtime CPU per clean submission, risk check {setting}",
                f"{means[setting]:.1f} ms (concurrency {CONCURRENCY}, {count} submissions × {len(samples)} "
                f"run{'s' if len(samples) > 1 else ''}: {', '.join(f'{sample:.1f}' for sample in samples)} ms; "
                f"{statistics.fmean(throughput):.0f}/s checked)",
                f"≤ {TARGET_CPU_MS:.0f} ms" if on else "—",
                check(means[setting], at_most=TARGET_CPU_MS) if on else INFO,
            )
        )
    extra = means["on"] - means["off"]
    share = 100 * extra / means["off"] if means["off"] else 0.0
    rows.append(
        Row(
            "Risk check's local runtime CPU per clean submission (on − off)",
            f"{extra:+.1f} ms ({share:+.0f} %; the local classifier, not Comprehend's latency on AWS)",
        )
    )
    return rows, means


def _size_rows(sizes: list[SizeCost]) -> list[Row]:
    rows = []
    for size in sizes:
        rows.append(
            Row(
                f"Comprehend calls per clean submission, {size.label} body",
                f"{size.comprehend_calls} DetectToxicContent call{'s' if size.comprehend_calls != 1 else ''}, "
                f"{size.segments} segments ({size.body_bytes:,}-byte body + title)",
            )
        )
    for size in sizes:
        execution = size.execution
        rows.append(
            Row(
                f"USD per million clean submissions, {size.label} body",
                f"{_price(execution.usd_per_million)} (Step Functions "
                f"{_price(execution.step_functions_usd_per_million)} + Lambda "
                f"{_price(execution.lambda_usd_per_million)} + Comprehend "
                f"{_price(execution.comprehend_usd_per_million)} for {execution.comprehend_units:,} units)",
            )
        )
    return rows


def run(quick: bool = False) -> FigureResult:
    started = time.perf_counter()
    count = QUICK_COUNT if quick else COUNT
    order = QUICK_SETTINGS_ORDER if quick else SETTINGS_ORDER
    sizes = measure_sizes()
    runs = measure_cpu(order, count)
    cpu_rows, means = _cpu_rows(runs, count)
    rows = cpu_rows + _size_rows(sizes)

    request_lines = "\n".join(
        f"- {size.label} body ({size.body_bytes:,} bytes): {size.comprehend_calls} "
        f"request{'s' if size.comprehend_calls != 1 else ''} of "
        f"{', '.join(map(str, size.segments_per_request))} segments, "
        f"{', '.join(map(str, size.units_per_request))} units; {size.execution.transitions} transitions, "
        f"{size.execution.invocations} Lambda invocations; AWS calls: "
        + ", ".join(f"{name} ×{number}" for name, number in sorted(size.execution.calls.items()))
        for size in sizes
    )
    notes = [
        f"locally the risk check adds {means['on'] - means['off']:+.1f} ms of runtime CPU per clean title-only "
        f"submission ({means['on']:.1f} ms on, {means['off']:.1f} ms off): the packaged classifier plus one more "
        "moto request. On AWS the check costs Comprehend's latency inside CheckContent instead, not measured here.",
        "at the third-party unit price Comprehend is the largest item of the bill as soon as a body is scored, "
        "and it grows with the body (units follow characters, not calls): "
        + ", ".join(f"{_price(size.execution.comprehend_usd_per_million)} at {size.label}" for size in sizes)
        + f" per million, against {_price(sizes[0].execution.step_functions_usd_per_million)} of Step Functions.",
    ]
    method = f"""
**Runtime CPU, risk check on vs off.** The method of Submit throughput (`bench/submit_throughput.py`,
`measure_level`): over the local runtime, {CONCURRENCY} threads each hold one keep-alive connection and POST
clean titles (no body, no listed word) until {count} are accepted, while one more connection polls the oldest
still CHECKING; *runtime CPU* = user + system time of the runtime process (`/proc/<pid>/stat`) over the level
÷ submissions checked. Each run starts a fresh `python -m local_runtime` with `RISK_CHECK` set, in the order
{", ".join(order)} (so a drift in the machine's load falls on both settings), and first makes the throughput
figure's warm-up submissions (which also load the local classifier, about a second, once per process); the
row gives the mean of that setting's runs and each run. With the check on, every submission makes one more
AWS request (`DetectToxicContent`, answered by moto with `alt-profanity-check`'s scikit-learn model,
`local_runtime/comprehend.py`), all inside the one runtime process. **This is the local model's cost, not
Comprehend's**: on AWS the model runs in Comprehend and CheckContent waits for its answer (network and
service latency, not measured here). The machine has 2 cores shared with other work, so every run is
noisy: compare the samples of one setting with each other before reading the difference, and do not read
it from `--quick` (one run of {QUICK_COUNT} submissions per setting).

**Comprehend calls per submission.** In-process on moto's `mock_aws` (the stack of the Cost figure): one
clean submission titled "{TITLE}" with a body of ordinary English prose (sentences about a town's news,
ASCII, cut at a space to at most 1,024, 10,240 and 102,400 bytes: 1, 10 and 100 KB, the last the API's
maximum body), each run to APPROVED. bench/cost.py's call counter wraps botocore's `_make_api_call` and
counts every AWS call the app makes while it runs, by operation, and keeps each `DetectToxicContent`
request's parameters: the calls and segments reported are the requests the app actually sent (split by
`chalicelib/integrations/toxicity.py`, ≤ 1 KB of UTF-8 per segment, ≤ 10 segments per call), not a formula.

{request_lines}

**USD per million submissions** use the Cost figure's model (Step Functions transitions and Lambda
invocations from the execution history, each invocation billed as {1000 * cost.LAMBDA_SECONDS:.0f} ms at
{int(cost.LAMBDA_MEMORY_GB * 1024)} MB) plus Comprehend. {cost.COMPREHEND_METHOD} The Lambda duration
assumption is the same for every size: on AWS, CheckContent waits for each of its sequential Comprehend
requests, so a long body makes it run (and bill) longer than that; not modelled. DynamoDB (a 100 KB body
is written and read several times), API Gateway and data transfer are not counted.
"""
    return FigureResult(
        key="risk_check",
        title="Risk check",
        rows=rows,
        method=method,
        notes=notes,
        seconds=time.perf_counter() - started,
    )
