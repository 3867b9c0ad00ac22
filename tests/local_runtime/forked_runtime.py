"""Start ``python -m local_runtime`` for a test in a fraction of the time: forked from a process that has imported it.

Starting the runtime is mostly importing moto, chalice and the local classifier (about 2.5 s of CPU
of 3.3 s). A test worker starts some 15 runtimes, so each worker keeps one multiprocessing
*forkserver* that imports those libraries once (with no thread running and in an environment of its
own), and every runtime is a fork of it that then runs exactly what ``python -m local_runtime`` runs:
the test's environment and working directory, stdout and stderr into the test's files, then
``local_runtime.__main__.main``. Nothing of the project (``local_runtime``, ``chalicelib``, ``app``)
is imported before the fork, so the runtime reads its settings from the test's environment as a
fresh process does.

``LOCAL_RUNTIME_TEST_START=subprocess`` starts a real ``python -m local_runtime`` process instead
(``make test-faithful`` does, so CI runs the suite both ways).
"""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from multiprocessing.context import ForkServerContext
from pathlib import Path

START_SETTING = "LOCAL_RUNTIME_TEST_START"

# Third-party modules only, none of which reads a setting of ours when imported: moto's services that
# the runtime's start and first requests load, chalice's local server, websockets and the classifier.
PRELOADED_MODULES = [
    "boto3",
    "botocore.session",
    "moto.apigateway.models",
    "moto.autoscaling.models",
    "moto.awslambda.models",
    "moto.awslambda_simple.models",
    "moto.batch.models",
    "moto.cloudformation.models",
    "moto.cloudformation.responses",
    "moto.cloudformation.urls",
    "moto.cloudwatch.models",
    "moto.comprehend.models",
    "moto.comprehend.responses",
    "moto.comprehend.urls",
    "moto.core.models",
    "moto.core.responses",
    "moto.datapipeline.models",
    "moto.dynamodb.models",
    "moto.dynamodb.responses",
    "moto.dynamodb.urls",
    "moto.dynamodbstreams.models",
    "moto.ec2.models",
    "moto.ecr.models",
    "moto.ecs.models",
    "moto.efs.models",
    "moto.elb.models",
    "moto.elbv2.models",
    "moto.emr.models",
    "moto.events.models",
    "moto.iam.models",
    "moto.iot.models",
    "moto.kinesis.models",
    "moto.kms.models",
    "moto.logs.models",
    "moto.organizations.models",
    "moto.rds.models",
    "moto.redshift.models",
    "moto.route53.models",
    "moto.s3.models",
    "moto.sagemaker.models",
    "moto.secretsmanager.models",
    "moto.ses.models",
    "moto.ses.responses",
    "moto.ses.urls",
    "moto.sns.models",
    "moto.sqs.models",
    "moto.ssm.models",
    "moto.stepfunctions.models",
    "moto.stepfunctions.responses",
    "moto.stepfunctions.urls",
    "moto.sts.models",
    "moto.backends",
    "moto.moto_server.werkzeug_app",
    "moto.stepfunctions.parser.models",
    "chalice.cli.factory",
    "chalice.local",
    "websockets.asyncio.server",
    "websockets.asyncio.client",
    "profanity_check",  # unpickles its model when imported: about a second, paid once per worker
]

_lock = threading.Lock()
_context: ForkServerContext | None = None


def forking_enabled() -> bool:
    return os.environ.get(START_SETTING, "fork") != "subprocess"


def _forkserver() -> ForkServerContext:
    global _context
    with _lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOADED_MODULES)
            # One BLAS thread: the classifier's numpy must start no thread pool in the process that forks.
            os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
            _context = context
        return _context


def _run_runtime(env: dict[str, str], cwd: str, stdout_path: str, stderr_path: str) -> None:
    """In the fork: become ``python -m local_runtime`` with ``env``, writing to the two files."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for descriptor, path in ((1, stdout_path), (2, stderr_path)):
        file = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(file, descriptor)
        os.close(file)
    # Unbuffered, as PYTHONUNBUFFERED=1 makes a new interpreter's streams.
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True, line_buffering=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True, line_buffering=True)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from local_runtime.__main__ import main

    sys.exit(main([]))


class ForkedRuntimeProcess:
    """The parts of ``subprocess.Popen`` the tests use, for a runtime forked by the worker's forkserver."""

    def __init__(self, process: multiprocessing.process.BaseProcess, args: list[str]) -> None:
        self._process = process
        self.args = args

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return None if self._process.is_alive() else self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def fork_runtime(env: dict[str, str], cwd: Path, stdout_path: Path, stderr_path: Path) -> ForkedRuntimeProcess:
    process = _forkserver().Process(
        target=_run_runtime, args=(env, str(cwd), str(stdout_path), str(stderr_path)), daemon=True
    )
    process.start()
    return ForkedRuntimeProcess(process, [sys.executable, "-m", "local_runtime"])
