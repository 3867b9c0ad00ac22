"""The AWS side in-process: a moto server running our CloudFormation stack and the app's Lambdas."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from local_runtime.settings import LOOPBACK

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

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> StackOutputs:
        return cls(
            submissions_table=outputs["SubmissionsTableName"],
            reviews_table=outputs["ReviewsTableName"],
            connections_table=outputs["ConnectionsTableName"],
            state_machine_arn=outputs["StateMachineArn"],
        )


class AwsServer:
    """moto's ``ThreadedMotoServer`` on loopback, configured and loaded with our stack.

    The server (not ``mock_aws``) is used because moto's Step Functions interpreter calls
    Lambda over HTTP at ``localhost:MOTO_PORT``: the executions need a real endpoint.
    """

    def __init__(self, chalice_app: Any, *, stage: str, port: int = 0) -> None:
        self._chalice_app = chalice_app
        self._stage = stage
        self._requested_port = port
        self._server: Any = None
        self.port = 0
        self.dispatcher: Any = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> StackOutputs:
        """Start moto, route its Lambda calls to the app, deploy the stack; return its outputs.

        Sets MOTO_PORT (the interpreter reads it on every call) before anything can run
        an execution, and AWS_ENDPOINT_URL so the app's own clients reach the server.
        """
        from moto.core.config import default_user_config
        from moto.server import ThreadedMotoServer

        from local_runtime.lambda_dispatch import LambdaDispatcher, install
        from local_runtime.moto_hooks import install_moto_patches, quiet_moto_server_logs

        install_moto_patches()
        quiet_moto_server_logs()
        for section, values in MOTO_CONFIG.items():
            default_user_config[section] = {**default_user_config.get(section, {}), **values}  # type: ignore[literal-required]
        self.dispatcher = LambdaDispatcher.for_chalice_app(self._chalice_app)
        install(self.dispatcher)

        self._server = ThreadedMotoServer(ip_address=LOOPBACK, port=self._requested_port, verbose=False)
        self._server.start()
        self.port = int(self._server.get_host_and_port()[1])
        os.environ["MOTO_PORT"] = str(self.port)
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint_url
        return self._deploy()

    def _deploy(self) -> StackOutputs:
        import boto3

        from deploy.stack import deploy_stack

        cloudformation = boto3.client("cloudformation", region_name=REGION, endpoint_url=self.endpoint_url)
        # No deletion protection: the tables live in memory and vanish with the process anyway.
        outputs = deploy_stack(
            cloudformation, stage=self._stage, region=REGION, account_id=ACCOUNT_ID, deletion_protection=False
        )
        logger.debug("stack outputs: %s", outputs)
        return StackOutputs.from_outputs(outputs)

    def stop(self) -> None:
        from local_runtime.lambda_dispatch import uninstall

        if self._server is not None:
            self._server.stop()
            self._server = None
        uninstall()
