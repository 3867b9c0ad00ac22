"""Figure 5: `import app` in a fresh interpreter, against the same import plus eager boto3 clients."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from bench.report import FigureResult, Row, check
from bench.runtime import ROOT

RUNS = 10
QUICK_RUNS = 3
TARGET_MS = 60.0
TARGET_SPEEDUP = 5.0
SUBPROCESS_TIMEOUT_SECONDS = 60

LAZY = """
import time
started = time.perf_counter()
import app
print(time.perf_counter() - started)
"""

# What the app would pay if it built its clients at module level instead of on first use.
EAGER = """
import time
started = time.perf_counter()
import app
import boto3
boto3.resource("dynamodb")
boto3.client("stepfunctions")
boto3.client("apigatewaymanagementapi", endpoint_url="https://example.execute-api.us-east-1.amazonaws.com/api")
print(time.perf_counter() - started)
"""


def _environ() -> dict[str, str]:
    """Fake credentials and the app's settings: nothing can reach AWS, nothing is read from ~/.aws."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "SUBMISSIONS_TABLE": "bench-submissions",
            "REVIEWS_TABLE": "bench-reviews",
            "CONNECTIONS_TABLE": "bench-connections",
            "REVIEWERS_TABLE": "bench-reviewers",
            "HISTORY_TABLE": "bench-history",
            "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:bench",
            "ADMIN_TOKEN": "bench",
            "LINK_SIGNING_SECRET": "bench",
        }
    )
    return environ


def time_import(script: str) -> float:
    """Seconds the script reports, run in a fresh interpreter with cwd at the project root."""
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=_environ(),
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the import failed: {completed.stderr[-2000:]}")
    return float(completed.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> FigureResult:
    runs = QUICK_RUNS if quick else RUNS
    started = time.perf_counter()
    time_import(LAZY)  # warm the OS file cache and write .pyc files, so every timed run starts alike
    lazy: list[float] = []
    eager: list[float] = []
    for _ in range(runs):  # interleaved, so a burst of load on the machine hits both alike
        lazy.append(time_import(LAZY))
        eager.append(time_import(EAGER))
    lazy_ms = 1000 * statistics.median(lazy)
    eager_ms = 1000 * statistics.median(eager)
    speedup = eager_ms / lazy_ms
    rows = [
        Row("Cold start: import app", f"{lazy_ms:.1f} ms", f"≤ {TARGET_MS:.0f} ms", check(lazy_ms, at_most=TARGET_MS)),
        Row("Cold start: import app + eager boto3 clients", f"{eager_ms:.1f} ms"),
        Row(
            "Cold start speedup (eager / lazy)",
            f"{speedup:.1f}x",
            f"≥ {TARGET_SPEEDUP:.0f}x",
            check(speedup, at_least=TARGET_SPEEDUP),
        ),
    ]
    method = f"""
Each sample is a fresh `python -c` subprocess (cwd = project root, fake AWS credentials and the app's
settings in the environment, `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` pointed at
`/dev/null`) that reads `time.perf_counter()` around the imports and prints the difference, so
interpreter start-up is excluded. **Lazy** (the app as it is): `import app`; the app builds its boto3
session and clients on first use (`chalicelib/integrations/aws.py`). **Eager** (what a module-level client would
cost): `import app`, then `import boto3` and `boto3.resource("dynamodb")`, `boto3.client("stepfunctions")`,
`boto3.client("apigatewaymanagementapi", endpoint_url=…)`. One untimed run warms the file cache and
the `.pyc` files; then {runs} lazy and {runs} eager runs, interleaved; the figure is the median of each.
"""
    return FigureResult(
        key="cold_start",
        title="Cold start",
        rows=rows,
        method=method,
        seconds=time.perf_counter() - started,
    )
