"""Figure 7: from starting `python -m local_runtime` until /health answers and the WebSocket port accepts."""

from __future__ import annotations

import http.client
import socket
import statistics
import time

from bench.report import FigureResult, Row, check
from bench.runtime import HOST, RuntimeProcess

RUNS = 3
QUICK_RUNS = 1
BOOT_TIMEOUT_SECONDS = 60.0
POLL_INTERVAL_SECONDS = 0.01
TARGET_SECONDS = 3.0


def _health_answers(port: int) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=1.0)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1.0):
            return True
    except OSError:
        return False


def boot_once() -> tuple[float, int | None]:
    """Seconds from Popen until both ports answer, and the runtime's exit code after SIGINT."""
    runtime = RuntimeProcess()
    runtime.spawn()
    try:
        health = websocket = False
        while not (health and websocket):
            runtime.ensure_alive()
            if time.perf_counter() - runtime.started_at > BOOT_TIMEOUT_SECONDS:
                raise TimeoutError(f"the runtime did not answer within {BOOT_TIMEOUT_SECONDS:.0f} s")
            health = health or _health_answers(runtime.rest_port)
            websocket = websocket or _accepts(runtime.ws_port)
            if not (health and websocket):
                time.sleep(POLL_INTERVAL_SECONDS)
        booted = time.perf_counter() - runtime.started_at
    finally:
        exit_code = runtime.stop()
    return booted, exit_code


def run(quick: bool = False) -> FigureResult:
    runs = QUICK_RUNS if quick else RUNS
    started = time.perf_counter()
    samples: list[float] = []
    exit_codes: list[int | None] = []
    for _ in range(runs):
        booted, exit_code = boot_once()
        samples.append(booted)
        exit_codes.append(exit_code)
    median = statistics.median(samples)
    rows = [
        Row(
            "Boot time (local runtime ready)",
            f"{median:.2f} s (runs: {', '.join(f'{sample:.2f}' for sample in samples)})",
            f"≤ {TARGET_SECONDS:.0f} s",
            check(median, at_most=TARGET_SECONDS),
        )
    ]
    notes = []
    if any(code != 0 for code in exit_codes):
        notes.append(f"after SIGINT the runtime exited with {exit_codes} (expected 0 each time).")
    method = f"""
The clock starts just before `subprocess.Popen([python, "-m", "local_runtime"])` (dependencies
installed, `.pyc` files already written by earlier runs; free loopback ports chosen by the OS; admin
token, `REVIEW_TIMEOUT_SECONDS=3600`, `LOG_LEVEL=WARNING`). Every {1000 * POLL_INTERVAL_SECONDS:.0f} ms the
benchmark tries `GET /health` on a new connection and a TCP connect to the WebSocket port; the clock
stops when both have succeeded. The time covers the interpreter start, imports, moto's server, the
CloudFormation stack deployed into it, and the three servers. The runtime is then stopped with SIGINT.
Median of {runs} runs.
"""
    return FigureResult(
        key="boot_time",
        title="Boot time",
        rows=rows,
        method=method,
        notes=notes,
        seconds=time.perf_counter() - started,
    )
