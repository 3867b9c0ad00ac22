"""Command line for the deploy commands: builds the boto3 session and hands its clients to deploy.commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from deploy.commands import ClientFactory, DeployError, deploy, destroy
from deploy.stack import DEFAULT_ACCESS_LOG_RETENTION_DAYS
from deploy.template import access_log_retention_choices

# Read by `deploy` (into the stage's .chalice/config.json); unset keeps what that stage already has.
DEPLOY_SETTINGS_HELP = """environment variables:
  EVENT_BUS_NAME  the bus outcome events go on [the stage's config, else default]
  WEBHOOK_URL     the platform's webhook, https:// [the stage's config, else none]
  SENDER_EMAIL    the verified SES identity outcome e-mails come from [the stage's config, else none]
  ALARM_EMAIL     subscribed to the alarm topic [the stack's value, else none]
  ALARM_PENDING_AGE_SECONDS
                  the oldest pending review older than this raises an alarm [the stack's value, else 21600]
  API_THROTTLE_RATE_LIMIT, API_THROTTLE_BURST_LIMIT
                  the REST API stage's requests a second and burst, every method [50, 100]
  WEBSOCKET_THROTTLE_RATE_LIMIT, WEBSOCKET_THROTTLE_BURST_LIMIT
                  the WebSocket API stage's messages a second and burst, every route [50, 100]

"""
AWS_SETTINGS_HELP = """AWS credentials and region come from the usual chain: AWS_PROFILE (or --profile), AWS_REGION or
AWS_DEFAULT_REGION (or --region), AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ~/.aws/config.
`make deploy STAGE=prod` / `make destroy STAGE=prod` pass --stage."""
COMMANDS = {
    "deploy": "create or update the stateful stack and the SSM parameters, then run `chalice deploy`",
    "destroy": "run `chalice delete`; with --delete-data also delete the stack, its tables and parameters",
}


def build_parser(prog: str = "python -m deploy") -> argparse.ArgumentParser:
    """``deploy`` and ``destroy`` as subcommands; each one's ``--help`` lists its options and environment."""
    parser = argparse.ArgumentParser(prog=prog, description="Deploy content-moderation to AWS (see docs/deploy.md).")
    commands = parser.add_subparsers(dest="command", required=True)
    retention_choices = access_log_retention_choices()
    for name, help_text in COMMANDS.items():
        command = commands.add_parser(
            name,
            help=help_text,
            description=help_text[0].upper() + help_text[1:] + ".",
            epilog=(DEPLOY_SETTINGS_HELP if name == "deploy" else "") + AWS_SETTINGS_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_argument("--stage", default="dev", help="Chalice stage (default: dev)")
        command.add_argument("--profile", help="AWS profile (default: the usual credential chain)")
        command.add_argument("--region", help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION / profile)")
        if name == "deploy":
            command.add_argument(
                "--access-log-retention-days",
                type=int,
                choices=retention_choices,
                default=DEFAULT_ACCESS_LOG_RETENTION_DAYS,
                metavar="DAYS",
                help=f"days the API Gateway access logs are kept (default: {DEFAULT_ACCESS_LOG_RETENTION_DAYS}; "
                f"one of {', '.join(map(str, retention_choices))})",
            )
        if name == "destroy":
            command.add_argument(
                "--delete-data",
                action="store_true",
                help="also delete the tables (turning deletion protection off), the state machine and the secrets",
            )
    return parser


def parse_arguments(argv: Sequence[str] | None = None, *, prog: str = "python -m deploy") -> argparse.Namespace:
    return build_parser(prog).parse_args(argv)


def session_clients(profile: str | None, region: str | None) -> ClientFactory:
    """Clients from one boto3 session, so every call uses the same credentials and region."""
    import boto3

    session = boto3.session.Session(profile_name=profile, region_name=region)
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = session.client(service)
        return cache[service]

    return client


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m deploy") -> int:
    """Run ``deploy`` or ``destroy``; 0 on success, 1 with a one-line error, 2 for bad arguments."""
    arguments = parse_arguments(argv, prog=prog)
    from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

    # chalice runs as a subprocess: hand it the same profile (the region is passed by deploy.commands).
    environment = {**os.environ, "AWS_PROFILE": arguments.profile} if arguments.profile else None
    try:
        clients = session_clients(arguments.profile, arguments.region)
        if arguments.command == "deploy":
            deploy(
                arguments.stage,
                clients=clients,
                environment=environment,
                settings=os.environ,
                access_log_retention_days=arguments.access_log_retention_days,
            )
        else:
            destroy(arguments.stage, clients=clients, delete_data=arguments.delete_data, environment=environment)
    except NoRegionError:
        print(
            "error: no AWS region configured: set AWS_REGION (or AWS_DEFAULT_REGION), or pass --region", file=sys.stderr
        )
        return 1
    except (DeployError, RuntimeError, BotoCoreError, ClientError) as error:  # one line for the user, not a traceback
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
