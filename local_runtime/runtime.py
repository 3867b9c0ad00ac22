"""Wires the pieces together: moto (AWS), Chalice's local server (REST), the WebSocket gateway and its management API."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, TypeVar

from local_runtime.aws_server import ACCOUNT_ID, REGION
from local_runtime.comprehend import LOCAL_MODEL_NAME
from local_runtime.settings import LOOPBACK, PortInUseError, RuntimeSettings, url_host

T = TypeVar("T")

logger = logging.getLogger(__name__)

# Settings the app reads from SSM on AWS; locally the plain values are set instead.
_AWS_ONLY_VARIABLES = (
    "ADMIN_TOKEN_PARAMETER",
    "LINK_SIGNING_SECRET_PARAMETER",
    "WEBSOCKET_URL_PARAMETER",
    "WEBHOOK_SECRET_PARAMETER",
)


class LocalRuntime:
    """The whole system in one process; :meth:`start` brings it up, :meth:`stop` takes it down.

    Order matters: every server is bound first (a port in use fails at once, and the real
    ports go into the app's settings); moto must be up (and MOTO_PORT set) before the
    stack is deployed and any execution runs; nothing is served before the settings are final.
    """

    def __init__(self, environ: MutableMapping[str, str] | None = None) -> None:
        self._environ = environ if environ is not None else os.environ
        self.settings: RuntimeSettings | None = None
        self.aws: Any = None
        self.gateway: Any = None
        self.management: Any = None
        self.rest: Any = None

    # --- URLs, valid once started ---------------------------------------------------------

    @property
    def rest_url(self) -> str:
        return f"http://{url_host(self._settings.host)}:{self.rest.port}"

    @property
    def websocket_url(self) -> str:
        return f"ws://{url_host(self._settings.host)}:{self.gateway.port}"

    @property
    def management_url(self) -> str:
        return f"http://{LOOPBACK}:{self.management.port}"

    @property
    def moto_url(self) -> str:
        return str(self.aws.endpoint_url)

    @property
    def admin_token(self) -> str:
        return self._settings.admin_token

    @property
    def _settings(self) -> RuntimeSettings:
        if self.settings is None:
            raise RuntimeError("the runtime is not started")
        return self.settings

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Bring everything up; on any failure, take down what was started and re-raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        from local_runtime.aws_server import AwsServer, isolate_from_real_aws
        from local_runtime.management_api import ManagementAPI
        from local_runtime.rest_server import RestServer, load_stage_config
        from local_runtime.settings import LOCAL_STAGE
        from local_runtime.websocket_gateway import WebSocketGateway, app_websocket_handlers

        environ = self._environ
        isolate_from_real_aws(environ)
        # The stage's environment_variables (none unless someone adds a "local" stage to
        # .chalice/config.json) fill gaps only: the user's shell and the runtime's own values win.
        stage_variables: dict[str, str] = {}
        config, chalice_app = load_stage_config(LOCAL_STAGE, stage_variables)
        for name, value in stage_variables.items():
            environ.setdefault(name, value)
        settings = self.settings = RuntimeSettings.from_environ(environ)
        # The app's clients sign with these: the @connections API accepts nothing else.
        environ.pop("AWS_SESSION_TOKEN", None)
        environ["AWS_ACCESS_KEY_ID"] = settings.aws_credentials.access_key_id
        environ["AWS_SECRET_ACCESS_KEY"] = settings.aws_credentials.secret_access_key

        # Who may call @connections: the runtime's own credentials, and the app's once the deployed
        # policy is known to allow it (added below, after moto's IAM holds the app's identity).
        management_signers = [settings.aws_credentials]
        handlers = app_websocket_handlers(chalice_app)
        self.gateway = _bind(
            "WS_PORT",
            settings.ws_port,
            lambda: WebSocketGateway(
                handlers,
                host=settings.host,
                port=settings.ws_port,
                stage=settings.stage,
                function_prefix=f"content-moderation-{settings.stage}",
                idle_timeout_seconds=settings.ws_idle_timeout_seconds,
                max_connection_seconds=settings.ws_max_connection_seconds,
            ),
        )
        self.management = _bind(
            "WS_MANAGEMENT_PORT",
            settings.ws_management_port,
            lambda: ManagementAPI(
                self.gateway, host=LOOPBACK, port=settings.ws_management_port, credentials=management_signers
            ),
        )
        self.rest = _bind(
            "PORT",
            settings.port,
            lambda: RestServer(
                chalice_app,
                config,
                host=settings.host,
                port=settings.port,
                read_timeout_seconds=settings.request_read_timeout_seconds,
            ),
        )

        from deploy.stack import app_environment

        self.aws = AwsServer(
            chalice_app,
            stage=settings.stage,
            port=settings.aws_port,
            credentials=settings.aws_credentials,
            delivery=settings.delivery(),
            sender_email=settings.sender_email,
            outbox=settings.local_outbox.resolve(),
        )
        _bind("AWS_PORT", settings.aws_port, self.aws.bind)
        outputs = self.aws.start()
        self._run_functions_under_the_deployed_policy(environ, management_signers)

        for name in _AWS_ONLY_VARIABLES:
            environ.pop(name, None)
        environ.update(
            {
                "STAGE": settings.stage,
                **app_environment(outputs.all),
                "ADMIN_TOKEN": settings.admin_token,
                "LINK_SIGNING_SECRET": settings.link_signing_secret,
                "MODERATION_WORDS": settings.moderation_words,
                "REVIEW_TIMEOUT_SECONDS": str(settings.review_timeout_seconds),
                "PUBLIC_BASE_URL": self.rest_url,
                "WEBSOCKET_URL": self.websocket_url,
                "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": self.management_url,
                "WEBHOOK_SECRET": settings.webhook_secret,
                "SENDER_EMAIL": settings.sender_email,
                "EVENT_BUS_NAME": settings.event_bus_name,
                # The risk check calls Comprehend as on AWS; locally a packaged classifier answers it.
                "RISK_MODEL_NAME": LOCAL_MODEL_NAME,
            }
        )
        if settings.webhook_url:
            environ["WEBHOOK_URL"] = settings.webhook_url
        else:  # an empty value would read as "set" to nothing: no webhook at all
            environ.pop("WEBHOOK_URL", None)
        from chalicelib import service

        service.reset()  # the app re-reads its settings (and builds its clients) on next use

        self.gateway.start()
        self.management.start()
        self.rest.start()
        logger.info("local runtime started: %s %s", self.rest_url, self.websocket_url)

    def _run_functions_under_the_deployed_policy(
        self, environ: MutableMapping[str, str], management_signers: list[Any]
    ) -> None:
        """The app's clients sign as the IAM user holding deploy/lambda-policy.json (moto enforces it).

        The @connections API is not moto: it accepts the app's signature only if that policy
        allows ``execute-api:ManageConnections``, as API Gateway would.
        """
        from local_runtime.iam_enforcement import policy_allows_managing_connections

        app = self.aws.app_credentials
        environ["AWS_ACCESS_KEY_ID"] = app.access_key_id
        environ["AWS_SECRET_ACCESS_KEY"] = app.secret_access_key
        if policy_allows_managing_connections(stage=self._settings.stage, region=REGION, account_id=ACCOUNT_ID):
            management_signers.append(app)

    def stop(self) -> None:
        """Stop what was started; safe to call twice or after a failed start.

        Front doors first (no new work), then the gateway (closes the sockets), then the
        @connections API and moto last, so handlers still running can finish their calls.
        """
        for name in ("rest", "gateway", "management", "aws"):
            server = getattr(self, name)
            if server is None:
                continue
            setattr(self, name, None)
            try:
                server.stop()
            except Exception:
                logger.exception("error while stopping the %s server", name)

    # --- what the user sees ----------------------------------------------------------------------

    def banner(self) -> str:
        """The URLs, the admin token and commands that work as pasted."""
        settings = self._settings
        rest, ws, token = self.rest_url, self.websocket_url, settings.admin_token
        token_note = (
            "generated; set ADMIN_TOKEN to choose your own" if settings.admin_token_generated else "from ADMIN_TOKEN"
        )
        secret_note = (
            "generated; set WEBHOOK_SECRET to keep one" if settings.webhook_secret_generated else "from WEBHOOK_SECRET"
        )
        webhook = settings.webhook_url or "none (set WEBHOOK_URL to get signed POSTs; events still go on the bus)"
        retries = settings.delivery()
        credentials = settings.aws_credentials
        credentials_note = (
            "credentials generated for this run; set LOCAL_AWS_ACCESS_KEY_ID and LOCAL_AWS_SECRET_ACCESS_KEY to fix them"
            if settings.aws_credentials_generated
            else "credentials from LOCAL_AWS_ACCESS_KEY_ID and LOCAL_AWS_SECRET_ACCESS_KEY"
        )
        return "\n".join(
            [
                "content-moderation is running locally (no AWS account, no Docker).",
                "",
                f"  REST API and pages   {rest}   (submit page {rest}/ , admin dashboard {rest}/admin)",
                f"  WebSocket            {ws}/?submissionId=<id>",
                f"  admin token          {token}   ({token_note})",
                f"  moderation words     {settings.moderation_words}   (MODERATION_WORDS)",
                f"  review timeout       {settings.review_timeout_seconds} s   (REVIEW_TIMEOUT_SECONDS)",
                f"  risk check           {_risk_line(self._environ)}",
                f"  client limits        a whole REST request within {settings.request_read_timeout_seconds:g} s "
                "(REQUEST_READ_TIMEOUT_SECONDS); WebSocket "
                f"{settings.ws_idle_timeout_seconds:g} s idle, {settings.ws_max_connection_seconds:g} s per connection "
                "(WS_IDLE_TIMEOUT_SECONDS, WS_MAX_CONNECTION_SECONDS; API Gateway's 10 min and 2 h)",
                f"  internal             AWS (moto) {self.moto_url}, @connections API {self.management_url}",
                f"                       (AWS_PORT; region {REGION}; SigV4-signed requests only, with the credentials below)",
                f"  outcome events       event bus {settings.event_bus_name!r} on the AWS endpoint above   (EVENT_BUS_NAME)",
                f"  webhook              {webhook}",
                f"  webhook secret       {settings.webhook_secret}   ({secret_note}; verify with standardwebhooks)",
                f"  webhook retries      {retries.webhook_retry_max_attempts} after {retries.webhook_retry_interval_seconds} s, "
                f"x{retries.webhook_retry_backoff_rate:g} each   (WEBHOOK_RETRY_*; on AWS about a day)",
                f"  e-mails              written to {settings.local_outbox.resolve()}/*.eml, from {settings.sender_email}   "
                "(LOCAL_OUTBOX)",
                f"  text messages        written to {settings.local_outbox.resolve()}/*.sms (the number, a blank line, "
                "the text)",
                "",
                "State lives in memory and is lost when this process stops.",
                "",
                "Try it (in another terminal):",
                "  # 1. submit a title that trips the check (note the submissionId)",
                f"  curl -s -X POST {rest}/submissions -H 'Content-Type: application/json' "
                '-d \'{"title": "This is forbidden"}\'',
                "  # 2. watch it live: connect, then type the subscribe message",
                f"  {_python_command()} -m websockets '{ws}/?submissionId=<submissionId>'",
                '  {"action": "subscribe", "submissionId": "<submissionId>"}',
                "  # 3. find its review (note the reviewId)",
                f"  curl -s '{rest}/reviews?status=pending' -H 'Authorization: Bearer {token}'",
                "  # 4. approve it; the decision arrives on the socket",
                f"  curl -s -X POST {rest}/reviews/<reviewId>/approve -H 'Authorization: Bearer {token}'",
                "  #    or reject it with a reason (the header matters: curl -d alone sends a form, refused with 415)",
                f"  curl -s -X POST {rest}/reviews/<reviewId>/reject -H 'Authorization: Bearer {token}' "
                "-H 'Content-Type: application/json' -d '{\"reason\": \"off-topic\"}'",
                "",
                f"Inspect tables and executions with the AWS CLI ({credentials_note}):",
                f"  export AWS_ACCESS_KEY_ID={credentials.access_key_id} "
                f"AWS_SECRET_ACCESS_KEY={credentials.secret_access_key} AWS_DEFAULT_REGION={REGION}",
                f"  aws --endpoint-url {self.moto_url} stepfunctions list-executions "
                f"--state-machine-arn {self._environ.get('STATE_MACHINE_ARN', '<arn>')} --max-items 5",
                f"  aws --endpoint-url {self.moto_url} dynamodb scan --table-name "
                f"{self._environ.get('REVIEWS_TABLE', '<table>')} --max-items 5",
                "",
                "Skip ahead to review deadlines (moves Step Functions' timers only, not the app's clock; "
                "signs with the export above):",
                f"  {_python_command()} -m local_runtime.advance_clock {settings.review_timeout_seconds} "
                f"--endpoint-url {self.moto_url}",
                "",
                "Press Ctrl-C to stop.",
            ]
        )


def _python_command() -> str:
    """How to run this interpreter from the project folder (``.venv/bin/python`` has ``websockets``)."""
    import sys
    from pathlib import Path

    from local_runtime.rest_server import PROJECT_DIR

    executable = Path(sys.executable)
    try:
        return str(executable.relative_to(PROJECT_DIR))
    except ValueError:
        return "python"


def _bind(setting: str, port: int, create: Callable[[], T]) -> T:
    """Create a server, turning "address in use" into an error that names the setting to change."""
    try:
        return create()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUseError(setting, port) from None
        raise


def _risk_line(environ: Mapping[str, str]) -> str:
    """The banner's risk-check line: on or off, the thresholds, and what scores locally."""
    if environ.get("RISK_CHECK", "on").strip().lower() == "off":
        return "off   (RISK_CHECK)"
    review = environ.get("RISK_REVIEW_THRESHOLD") or "0.5"
    reject = environ.get("RISK_REJECT_THRESHOLD")
    reject_note = f"refuse at >= {reject}" if reject else "never refuse automatically"
    return (
        f"{LOCAL_MODEL_NAME} answers Comprehend DetectToxicContent; review at >= {review}, {reject_note}"
        "   (RISK_CHECK, RISK_REVIEW_THRESHOLD, RISK_REJECT_THRESHOLD)"
    )
