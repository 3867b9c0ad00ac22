"""The AWS side in-process: moto running our CloudFormation stack and the app's Lambdas, and its HTTP endpoint.

:class:`AwsServer` is the runtime's; :func:`in_process_stack` is the same stack without the HTTP
endpoint or IAM enforcement, for the tests and the in-process benchmarks. Both deploy it with
:func:`deploy_into_moto`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from local_runtime import interpreter_clock
from local_runtime.interpreter_clock import InterpreterClock, ManualClock, RealTimeClock
from local_runtime.settings import LOOPBACK
from local_runtime.sigv4 import AwsCredentials, SignedOnly

logger = logging.getLogger(__name__)

REGION = "us-east-1"
# moto's default account: ARNs it hands out (and the rendered function ARNs) use it.
ACCOUNT_ID = "123456789012"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local-runtime",
    "AWS_SECRET_ACCESS_KEY": "local-runtime",
    "AWS_SESSION_TOKEN": "local-runtime",
}
# Step Functions runs the real definition; Lambda uses the simple (no-Docker) backend,
# whose invoke the dispatcher replaces with the app's own functions.
MOTO_CONFIG: dict[str, dict[str, Any]] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}


def isolate_from_real_aws(environ: Any = os.environ) -> None:
    """Make every boto3 client in this process talk to moto with fake credentials.

    A developer's shell often holds real credentials, a profile or endpoint overrides;
    any of them would send the local runtime's calls somewhere real. Environment
    credentials win over files, and the config files are pointed at nothing.
    """
    for name in list(environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            del environ[name]
    environ.update(FAKE_CREDENTIALS)
    environ["AWS_DEFAULT_REGION"] = REGION
    environ["AWS_REGION"] = REGION
    environ["AWS_CONFIG_FILE"] = os.devnull
    environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    environ["AWS_EC2_METADATA_DISABLED"] = "true"


@dataclass(frozen=True)
class StackOutputs:
    """What the app needs from the stateful stack, under the names the template outputs."""

    submissions_table: str
    reviews_table: str
    connections_table: str
    state_machine_arn: str
    all: dict[str, str]

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> StackOutputs:
        return cls(
            submissions_table=outputs["SubmissionsTableName"],
            reviews_table=outputs["ReviewsTableName"],
            connections_table=outputs["ConnectionsTableName"],
            state_machine_arn=outputs["StateMachineArn"],
            all=dict(outputs),
        )


class AwsServer:
    """moto in this process (``mock_aws``), loaded with our stack, and its HTTP endpoint for outside tools.

    The app's boto3 clients and the Step Functions interpreter reach moto's backends through
    ``mock_aws``'s botocore hook: no socket, no HTTP parsing, no server thread per call (the HTTP
    hop was about 30% of the runtime's CPU per submission). The same backends are also served
    over HTTP on ``port`` so the AWS CLI and other tools can inspect tables and executions.
    """

    def __init__(
        self,
        chalice_app: Any,
        *,
        stage: str,
        credentials: AwsCredentials,
        port: int = 0,
        delivery: Any = None,
        sender_email: str | None = None,
        outbox: Any = None,
    ) -> None:
        self._chalice_app = chalice_app
        self._credentials = credentials
        self._stage = stage
        self._delivery = delivery  # deploy.definition.DeliverySettings: the bus and webhook retry schedule
        self._sender_email = sender_email
        self._outbox = outbox
        self._requested_port = port
        self._mock: Any = None
        self._endpoint: AwsEndpoint | None = None
        # The interpreter's clock: real time, advanced on request (POST /_local/clock/advance).
        self.clock = RealTimeClock()
        self._previous_clock: InterpreterClock | None = None
        self.port = 0
        self.dispatcher: Any = None
        # The app's own key pair once the deploy policy is enforced (see iam_enforcement).
        self.app_credentials: AwsCredentials | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def bind(self) -> None:
        """Take the HTTP port now, so a port in use fails before anything starts."""
        self._endpoint = AwsEndpoint(LOOPBACK, self._requested_port, self._credentials, self.clock)
        self.port = self._endpoint.port

    def start(self) -> StackOutputs:
        """Start moto in-process, route its Lambda calls to the app, deploy the stack, serve HTTP; return the outputs."""
        from moto import mock_aws

        from local_runtime.iam_enforcement import enforce_deployed_policy
        from local_runtime.lambda_dispatch import LambdaDispatcher, install
        from local_runtime.moto_hooks import install_moto_patches, quiet_moto_server_logs

        install_moto_patches()
        quiet_moto_server_logs()
        self._previous_clock = interpreter_clock.install(self.clock)
        if self._endpoint is None:
            self.bind()
        credentials = {name: os.environ[name] for name in FAKE_CREDENTIALS if name in os.environ}
        self._mock = mock_aws(config=MOTO_CONFIG)
        self._mock.start()
        os.environ.update(credentials)  # mock_aws swaps in its own; the runtime's stay in force
        self.dispatcher = LambdaDispatcher.for_chalice_app(self._chalice_app)
        install(self.dispatcher)
        if self._outbox is not None:
            from local_runtime import outbox

            outbox.install(self._outbox)
        outputs = self._deploy()
        self.app_credentials = enforce_deployed_policy(
            stage=self._stage,
            region=REGION,
            account_id=ACCOUNT_ID,
            runtime_credentials=self._credentials,
            sender_email=self._sender_email,
        )
        assert self._endpoint is not None
        self._endpoint.start()
        return outputs

    def _deploy(self) -> StackOutputs:
        # No deletion protection: the tables live in memory and vanish with the process anyway.
        outputs = deploy_into_moto(
            stage=self._stage,
            delivery=self._delivery,
            sender_email=self._sender_email,
            deletion_protection=False,
        )
        logger.debug("stack outputs: %s", outputs)
        return StackOutputs.from_outputs(outputs)

    def stop(self) -> None:
        from local_runtime import outbox
        from local_runtime.iam_enforcement import stop_enforcing
        from local_runtime.lambda_dispatch import uninstall

        if self._endpoint is not None:
            self._endpoint.stop()
            self._endpoint = None
        if self._mock is not None:
            stop_enforcing()
            self._mock.stop()
            self._mock = None
        uninstall()
        outbox.uninstall()
        if self._previous_clock is not None:
            interpreter_clock.install(self._previous_clock)
            self._previous_clock = None


def deploy_into_moto(
    *, stage: str, delivery: Any = None, sender_email: str | None = None, deletion_protection: bool = True
) -> dict[str, str]:
    """Deploy the stateful stack into the moto this process runs (``mock_aws`` started); return its outputs.

    ``delivery`` is a ``deploy.definition.DeliverySettings`` (the default schedule if None); with
    ``sender_email``, SES's sender identity is verified as it would be on AWS.
    """
    import boto3

    from deploy.stack import deploy_stack

    cloudformation = boto3.client("cloudformation", region_name=REGION)
    # A custom bus must exist before anything is put on it (on AWS, it is the platform's to create).
    bus = getattr(delivery, "event_bus_name", "default")
    if bus != "default":
        boto3.client("events", region_name=REGION).create_event_bus(Name=bus)
    with warnings.catch_warnings():
        # moto's CloudFormation has no CloudWatch alarms: it skips them (alarms exist on AWS only).
        warnings.filterwarnings("ignore", message=r"Tried to parse AWS::CloudWatch::Alarm", category=UserWarning)
        outputs = deploy_stack(
            cloudformation,
            stage=stage,
            region=REGION,
            account_id=ACCOUNT_ID,
            deletion_protection=deletion_protection,
            delivery=delivery,
        )
    if sender_email:  # SES sends only from a verified identity (in its sandbox, also only to verified ones)
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=sender_email)
    return outputs


@contextmanager
def in_process_stack(*, stage: str, delivery: Any = None, sender_email: str | None = None) -> Iterator[dict[str, str]]:
    """moto in this process with the Step Functions interpreter, our stack deployed, the app's settings pointing at it.

    What the tests' ``aws`` fixture and the in-process benchmarks run on; yields the stack's outputs.
    The caller sets the credentials and the app's other settings beforehand, and installs another
    interpreter clock if it wants one; the app's Lambda calls go nowhere until it routes them
    (``lambda_dispatch.dispatching``). The stack's variables are set for the duration and put back
    afterwards; executions still running at the end are stopped before the mock goes.
    """
    from moto import mock_aws

    from chalicelib import service
    from deploy.stack import app_environment
    from local_runtime.moto_hooks import install_moto_patches

    with mock_aws(config=MOTO_CONFIG):
        install_moto_patches()
        outputs = deploy_into_moto(stage=stage, delivery=delivery, sender_email=sender_email)
        with _environment_set(app_environment(outputs)):
            service.reset()
            try:
                yield outputs
            finally:
                _stop_running_executions(outputs["StateMachineArn"])
                service.reset()


@contextmanager
def _environment_set(values: dict[str, str]) -> Iterator[None]:
    """``values`` in ``os.environ`` for the duration; each variable is put back as it was (or removed) afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _stop_running_executions(state_machine_arn: str) -> None:
    """Executions run on moto's threads: stop them before the mock goes, so none runs on after it.

    moto's StopExecution takes effect at the execution's next step; one parked in a task-token wait
    keeps its RUNNING status until the wait ends (never, on a test's ManualClock), though it can do
    nothing more. So the stops are repeated (a worker still starting misses one) until every
    execution has ended or is parked, stopped, in such a wait: no time is spent waiting for those.
    """
    import boto3

    client = boto3.client("stepfunctions", region_name=REGION)
    for _attempt in range(20):
        running = client.list_executions(stateMachineArn=state_machine_arn, statusFilter="RUNNING")["executions"]
        if not running:
            return
        for execution in running:
            try:
                client.stop_execution(executionArn=execution["executionArn"])
            except Exception:  # moto cannot stop an execution whose worker is still starting: try again
                pass
        if all(_stopped_and_parked(execution["executionArn"]) for execution in running):
            return
        time.sleep(0.05)


def _stopped_and_parked(execution_arn: str) -> bool:
    """The execution took its stop and waits for a task token on the interpreter clock: it cannot run another step.

    Woken (by a token or the clock), it finds its program stopped and ends. Only a clock that can
    tell (``ManualClock`` and ``RealTimeClock``) makes this True; on moto's own clock the caller
    keeps to its attempts.
    """
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    is_waiting_on = getattr(interpreter_clock.active(), "is_waiting_on", None)
    try:
        execution = stepfunctions_parser_backends[ACCOUNT_ID][REGION].describe_execution(execution_arn)
    except Exception:  # gone with a reset: nothing of it runs
        return True
    if execution.status != "RUNNING":
        return True
    environment = getattr(execution.exec_worker, "env", None)  # None while the worker is still starting
    if is_waiting_on is None or environment is None or isinstance(environment.program_state(), ProgramRunning):
        return False
    # An execution ending this moment may have no pool left (see release_finished_executions).
    endpoints = list(getattr(environment.callback_pool_manager, "_pool", {}).values())
    return any(is_waiting_on(endpoint._notify_event) for endpoint in endpoints)


class AwsEndpoint:
    """moto's own WSGI application (the one ``moto_server`` runs) on loopback, over this process's backends.

    Only requests SigV4-signed with the runtime's credentials reach moto (``sigv4.SignedOnly``), or
    the interpreter's clock control under ``/_local/clock`` (``clock_control``).
    Bound at construction, served from :meth:`start` on a thread, one thread per request.
    """

    def __init__(self, host: str, port: int, credentials: AwsCredentials, clock: ManualClock) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        from local_runtime.clock_control import ClockControl

        application = SignedOnly(ClockControl(DomainDispatcherApplication(create_backend_app), clock), credentials)
        self._server = make_server(host, port, application, threaded=True, request_handler=MotoRequestHandler)
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-endpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
