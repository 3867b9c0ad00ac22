"""Figure 2: clean submissions per second, accepted and fully checked, at concurrency 1, 4 and 16 (local runtime)."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass

from bench.report import INFO, FigureResult, Row, check
from bench.runtime import RuntimeProcess, submit_all

CONCURRENCY_LEVELS = (1, 4, 16)
COUNT = 200
QUICK_COUNT = 20
WARM_UP = 5
LEVEL_SUBMIT_SECONDS = 60.0  # a level stops submitting after this, and reports what it managed
CHECK_TIMEOUT_SECONDS = 120.0
POLL_INTERVAL_SECONDS = 0.01
TARGET_PER_SECOND = 100.0
ROUND_TRIPS = 20
NAGLE_SUSPECT_MS = 30.0  # a no-op request on loopback should take about a millisecond


@dataclass
class Level:
    concurrency: int
    submitted: int
    checked: int
    accept_seconds: float
    check_seconds: float
    cpu_seconds: float

    @property
    def cores_busy(self) -> float:
        """CPU-seconds the runtime used per wall-clock second (1.0 = one core, the GIL's ceiling)."""
        return self.cpu_seconds / self.check_seconds if self.check_seconds else 0.0

    @property
    def cpu_ms_per_submission(self) -> float:
        return 1000 * self.cpu_seconds / self.checked if self.checked else 0.0

    @property
    def accepted_per_second(self) -> float:
        return self.submitted / self.accept_seconds if self.accept_seconds else 0.0

    @property
    def checked_per_second(self) -> float:
        return self.checked / self.check_seconds if self.check_seconds else 0.0


def _wait_checked(runtime: RuntimeProcess, submission_ids: list[str], *, timeout: float) -> None:
    """Block until none of ``submission_ids`` is CHECKING (raise after ``timeout``)."""
    client = runtime.client()
    deadline = time.monotonic() + timeout
    try:
        for submission_id in submission_ids:
            while client.status_of(submission_id) == "CHECKING":
                if time.monotonic() > deadline:
                    raise TimeoutError(f"submissions still CHECKING after {timeout}s")
                time.sleep(POLL_INTERVAL_SECONDS)
    finally:
        client.close()


def warm_up(runtime: RuntimeProcess) -> None:
    """WARM_UP clean submissions, one at a time, waited for until checked (not counted by any figure)."""
    warm = submit_all(runtime, [f"Warm-up {index}" for index in range(WARM_UP)], 1)
    _wait_checked(runtime, warm, timeout=CHECK_TIMEOUT_SECONDS)


def rest_round_trip(runtime: RuntimeProcess) -> float:
    """Median seconds for GET /health on one keep-alive connection (after one untimed request)."""
    client = runtime.client()
    try:
        client.call("GET", "/health")
        samples = []
        for _ in range(ROUND_TRIPS):
            started = time.perf_counter()
            client.call("GET", "/health")
            samples.append(time.perf_counter() - started)
    finally:
        client.close()
    return statistics.median(samples)


def measure_level(runtime: RuntimeProcess, concurrency: int, count: int) -> Level:
    """``concurrency`` keep-alive clients POST ``count`` clean titles as fast as they are answered.

    A separate poller walks the accepted ids in order, polling the oldest still-CHECKING one, and
    stamps the moment the last of them is checked.
    """
    lock = threading.Lock()
    accepted: list[str] = []
    next_index = 0
    last_accepted_at = 0.0
    errors: list[BaseException] = []
    cpu_before = runtime.cpu_seconds()
    started = time.perf_counter()
    submit_deadline = started + LEVEL_SUBMIT_SECONDS
    check_deadline = submit_deadline + CHECK_TIMEOUT_SECONDS

    def submitter() -> None:
        nonlocal next_index, last_accepted_at
        client = runtime.client()
        try:
            while time.perf_counter() < submit_deadline:
                with lock:
                    if next_index >= count:
                        return
                    index = next_index
                    next_index += 1
                submission_id = client.submit(f"Throughput sample c{concurrency} #{index}: a quiet local story")
                with lock:
                    accepted.append(submission_id)
                    last_accepted_at = time.perf_counter()
        except BaseException as error:  # re-raised by the caller's thread
            errors.append(error)
        finally:
            client.close()

    threads = [threading.Thread(target=submitter, name=f"bench-c{concurrency}-{n}") for n in range(concurrency)]
    for thread in threads:
        thread.start()
    poller = runtime.client()
    checked = 0
    try:
        while time.perf_counter() < check_deadline and not errors:
            with lock:
                oldest = accepted[checked] if checked < len(accepted) else None
            if oldest is None:
                if not any(thread.is_alive() for thread in threads):
                    with lock:
                        if checked == len(accepted):
                            break
                    continue
                time.sleep(POLL_INTERVAL_SECONDS)
            elif poller.status_of(oldest) == "CHECKING":
                time.sleep(POLL_INTERVAL_SECONDS)
            else:
                checked += 1
    finally:
        poller.close()
        for thread in threads:
            thread.join(timeout=30)
    check_seconds = time.perf_counter() - started
    cpu_seconds = runtime.cpu_seconds() - cpu_before
    if errors:
        runtime.ensure_alive()
        raise errors[0]
    accept_seconds = last_accepted_at - started
    return Level(concurrency, len(accepted), checked, accept_seconds, check_seconds, cpu_seconds)


def run(quick: bool = False, runtime: RuntimeProcess | None = None) -> FigureResult:
    count = QUICK_COUNT if quick else COUNT
    if runtime is None:
        with RuntimeProcess() as own:
            return run(quick, own)
    started = time.perf_counter()
    warm_up(runtime)
    levels = [measure_level(runtime, concurrency, count) for concurrency in CONCURRENCY_LEVELS]
    round_trip_ms = 1000 * rest_round_trip(runtime)

    rows = []
    for level in levels:
        is_target = level.concurrency == CONCURRENCY_LEVELS[-1]
        partial = "" if level.checked == count else f", {level.checked}/{count} checked"
        rows.append(
            Row(
                f"Submit throughput, concurrency {level.concurrency}",
                f"{level.checked_per_second:.1f}/s checked ({level.accepted_per_second:.1f}/s accepted{partial}; "
                f"runtime CPU {level.cores_busy:.2f} cores, {level.cpu_ms_per_submission:.0f} ms per submission)",
                f"≥ {TARGET_PER_SECOND:.0f}/s" if is_target else "—",
                check(level.checked_per_second, at_least=TARGET_PER_SECOND) if is_target else INFO,
            )
        )
    rows.append(Row("REST round trip, GET /health on a keep-alive connection", f"{round_trip_ms:.1f} ms (median)"))
    busiest = max(levels, key=lambda level: level.concurrency)
    ceiling = 1000 / busiest.cpu_ms_per_submission if busiest.cpu_ms_per_submission else 0.0
    notes = [
        f"at concurrency {busiest.concurrency} the local runtime (one Python process, so one thread runs Python "
        f"at a time) used {busiest.cores_busy:.2f} CPU-seconds per second and {busiest.cpu_ms_per_submission:.0f} ms "
        f"of CPU per checked submission: one core can then check at most ≈ {ceiling:.0f} submissions/s, whatever "
        f"the client concurrency. {TARGET_PER_SECOND:.0f}/s needs ≤ {1000 / TARGET_PER_SECOND:.0f} ms of CPU per "
        "submission in the runtime (the app, moto's server and its Step Functions interpreter together)."
    ]
    if busiest.checked_per_second < TARGET_PER_SECOND:
        notes.append(
            f"missed by {TARGET_PER_SECOND - busiest.checked_per_second:.0f}/s "
            f"({busiest.checked_per_second:.0f}/s of {TARGET_PER_SECOND:.0f}/s; "
            f"{busiest.cpu_ms_per_submission:.0f} ms of CPU per submission against {1000 / TARGET_PER_SECOND:.0f}). "
            "What would close it: the rest is per-call emulator overhead, split under AWS call overhead (moto's "
            "DynamoDB itself does a few percent of a call's work; the rest is boto3, botocore and moto turning "
            "the call into HTTP and back), times the calls each submission makes (see Cost), plus the "
            "interpreter's own Python per state. A direct "
            "in-process path from botocore's parameters to moto's backends for the handful of operations the "
            "app uses would remove most of the first (it means re-implementing moto's request handling, IAM "
            "check included, outside moto); fewer AWS calls per submission would cut it on AWS too; and a second "
            "process for the interpreter would lift the one-core (GIL) ceiling, but moto's backends live in one "
            "process."
        )
    if round_trip_ms > NAGLE_SUSPECT_MS:
        notes.append(
            f"a trivial `GET /health` takes {round_trip_ms:.0f} ms on a kept-alive connection: the signature of "
            "Nagle's algorithm meeting delayed ACKs (the REST server writes the headers and the body in separate "
            "sends and leaves `disable_nagle_algorithm` False), which adds about 40 ms to every REST answer."
        )
    method = f"""
Over the local runtime, with clean titles (no listed word), so each execution runs CheckContent →
RouteChecked → RecordOutcome (→ PublishEvent → DeliverWebhooks) and the submission ends APPROVED. For each concurrency level
({", ".join(map(str, CONCURRENCY_LEVELS))}), that many threads each hold one keep-alive HTTP/1.1
connection and POST `/submissions` back to back until {count} are accepted (202) or
{LEVEL_SUBMIT_SECONDS:.0f} s have passed. Meanwhile one more connection polls `GET /submissions/{{id}}`
for the oldest accepted submission still CHECKING (every {1000 * POLL_INTERVAL_SECONDS:.0f} ms while it waits).
*Checked/s* = submissions no longer CHECKING ÷ time from the first POST to the moment the last one was
seen checked; *accepted/s* = 202 answers ÷ time until the last one. *Runtime CPU* = user + system
time of the runtime process (`/proc/<pid>/stat`) over the level ÷ its wall time, and ÷ submissions
checked. {WARM_UP} warm-up submissions run first and are not counted. The levels run one after the other
on the same runtime. Afterwards, `GET /health` is timed {ROUND_TRIPS} times on one keep-alive connection
(median), as the floor under every REST figure.
"""
    return FigureResult(
        key="submit_throughput",
        title="Submit throughput",
        rows=rows,
        method=method,
        notes=notes,
        seconds=time.perf_counter() - started,
    )
