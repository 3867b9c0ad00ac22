"""The Chalice project on disk: the stage's settings in .chalice/config.json, its policy file, its deployed record."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.definition import DeliverySettings
from deploy.names import WEBHOOK_SECRET_PARAMETER, Target, parameter_name
from deploy.policy import functions_with_own_policy, policy_text, render_function_policy, render_policy
from deploy.stack import app_environment

PROJECT_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_STAGE = "dev"  # a new stage starts as a copy of this one
# Chalice 1.34 names the WebSocket API's stage after ``api_gateway_stage`` (it has no separate setting).
DEFAULT_API_GATEWAY_STAGE = "api"
# Set in plain text these would win over the SSM parameters (see chalicelib/integrations/secrets_store.py).
PLAIN_SECRETS = ("ADMIN_TOKEN", "LINK_SIGNING_SECRET", "WEBHOOK_SECRET")
# Outcome delivery settings the deploy command takes from its environment into the stage's config.
OUTCOME_VARIABLES = ("EVENT_BUS_NAME", "WEBHOOK_URL", "SENDER_EMAIL")
_EVENT_BUS_NAME = re.compile(r"[A-Za-z0-9._-]{1,256}")


class ProjectError(Exception):
    """The Chalice project is not in a state the deploy command can work with."""


@dataclass(frozen=True)
class DeployedUrls:
    """What ``chalice deploy`` recorded in .chalice/deployed/{stage}.json."""

    rest_api_url: str
    websocket_api_url: str
    function_names: tuple[str, ...]
    rest_api_id: str = ""
    websocket_api_id: str = ""


def config_path(project_dir: Path) -> Path:
    return project_dir / ".chalice" / "config.json"


def policy_file_name(stage: str) -> str:
    return f"policy-{stage}.json"


def function_policy_file_name(stage: str, function: str) -> str:
    """The policy file of a function that has its own (see deploy/function-policies.json)."""
    return f"policy-{stage}-{function}.json"


def deployed_record_path(project_dir: Path, stage: str) -> Path:
    return project_dir / ".chalice" / "deployed" / f"{stage}.json"


def stage_environment(stage: str, outputs: dict[str, str]) -> dict[str, str]:
    """The environment variables the deploy command owns: where the stack's resources and parameters are."""
    return {
        "STAGE": stage,
        **app_environment(outputs),
        "ADMIN_TOKEN_PARAMETER": parameter_name(stage, "admin-token"),
        "LINK_SIGNING_SECRET_PARAMETER": parameter_name(stage, "link-signing-secret"),
        "WEBSOCKET_URL_PARAMETER": parameter_name(stage, "websocket-url"),
        "WEBHOOK_SECRET_PARAMETER": parameter_name(stage, WEBHOOK_SECRET_PARAMETER),
    }


@dataclass(frozen=True)
class OutcomeSettings:
    """Where a stage delivers outcomes (SPEC §12): its event bus, webhook URL and e-mail sender."""

    event_bus_name: str = "default"
    webhook_url: str | None = None
    sender_email: str | None = None

    def environment(self) -> dict[str, str]:
        """The app's variables for these settings (unset ones are left out)."""
        values = {
            "EVENT_BUS_NAME": self.event_bus_name,
            "WEBHOOK_URL": self.webhook_url,
            "SENDER_EMAIL": self.sender_email,
        }
        return {name: value for name, value in values.items() if value}

    def delivery(self) -> DeliverySettings:
        """The state machine's settings: this bus and AWS's day-long webhook retry schedule."""
        return DeliverySettings(event_bus_name=self.event_bus_name)


def outcome_settings(project_dir: Path, stage: str, environ: Mapping[str, str]) -> OutcomeSettings:
    """EVENT_BUS_NAME, WEBHOOK_URL and SENDER_EMAIL from ``environ``, else as the stage's config has them.

    A later deploy without them keeps what an earlier one set. Raises ProjectError for a webhook
    URL that is not https:// (AWS never posts in plain text), a bad sender or bus name.
    """
    from chalicelib.domain.submission import EMAIL_MAX_CHARACTERS, EMAIL_PATTERN

    stage_config = load_config(project_dir).get("stages", {}).get(stage, {})
    configured = stage_config.get("environment_variables", {})
    value = {name: (environ.get(name) or configured.get(name) or None) for name in OUTCOME_VARIABLES}
    bus = value["EVENT_BUS_NAME"] or "default"
    if not _EVENT_BUS_NAME.fullmatch(bus):
        raise ProjectError(f"EVENT_BUS_NAME {bus!r} is not an event bus name")
    url = value["WEBHOOK_URL"]
    if url is not None and not url.startswith("https://"):
        raise ProjectError("WEBHOOK_URL must start with https:// on AWS")
    sender = value["SENDER_EMAIL"]
    if sender is not None and (len(sender) > EMAIL_MAX_CHARACTERS or not re.fullmatch(EMAIL_PATTERN, sender)):
        raise ProjectError("SENDER_EMAIL must be an e-mail address (a verified SES identity)")
    return OutcomeSettings(event_bus_name=bus, webhook_url=url, sender_email=sender)


def load_config(project_dir: Path) -> dict[str, Any]:
    return json.loads(config_path(project_dir).read_text())


def websocket_stage(config: dict[str, Any], stage: str) -> str:
    """The WebSocket API's stage name, looked up the way chalice does (the policy scopes ManageConnections to it)."""
    stage_config = config.get("stages", {}).get(stage, {})
    return stage_config.get("api_gateway_stage") or config.get("api_gateway_stage") or DEFAULT_API_GATEWAY_STAGE


def sync_stage_config(project_dir: Path, stage: str, environment: dict[str, str]) -> bool:
    """Make the stage's settings in config.json match ``environment``; write only on a change.

    The rest of the file is kept as it is. A stage missing from the file starts as a copy of
    ``dev``. Returns whether the file was written. Raises ProjectError when the stage would
    deploy a plain-text secret or an autogenerated policy.
    """
    path = config_path(project_dir)
    original = path.read_text()
    config = json.loads(original)
    stages = config.setdefault("stages", {})
    if stage not in stages:
        stages[stage] = _new_stage(stages.get(TEMPLATE_STAGE, {}))
    stage_config = stages[stage]
    stage_config.setdefault("iam_policy_file", policy_file_name(stage))
    functions = stage_config.setdefault("lambda_functions", {})
    for function in functions_with_own_policy():
        functions.setdefault(function, {}).setdefault("iam_policy_file", function_policy_file_name(stage, function))
    variables = stage_config.setdefault("environment_variables", {})
    variables.update(environment)

    _validate(config, stage, path)

    updated = json.dumps(config, indent=2) + "\n"
    if updated == original:
        return False
    path.write_text(updated)
    return True


def check_stage_config(project_dir: Path, stage: str) -> None:
    """Fail before anything is deployed if the stage would ship a plain-text secret or an autogenerated policy."""
    path = config_path(project_dir)
    _validate(json.loads(path.read_text()), stage, path)


def _validate(config: dict[str, Any], stage: str, path: Path) -> None:
    stage_config = config.get("stages", {}).get(stage, {})
    variables = {**config.get("environment_variables", {}), **stage_config.get("environment_variables", {})}
    plain = [name for name in PLAIN_SECRETS if name in variables]
    if plain:
        raise ProjectError(
            f"{path} sets {', '.join(plain)} in plain text for stage {stage!r}; remove it: "
            "on AWS the secrets are read from SSM Parameter Store"
        )
    if stage_config.get("autogen_policy", config.get("autogen_policy", True)):
        raise ProjectError(f"{path}: autogen_policy must be false (the policy is {policy_file_name(stage)})")


def write_policy(project_dir: Path, target: Target) -> bool:
    """Render the stage's policy, and each function's own, into the files its config names; write only on a change."""
    config = load_config(project_dir)
    stage_config = config["stages"][target.stage]
    sender = stage_config.get("environment_variables", {}).get("SENDER_EMAIL")
    ws_stage = websocket_stage(config, target.stage)
    directory = project_dir / ".chalice"
    policies = {
        stage_config.get("iam_policy_file", policy_file_name(target.stage)): render_policy(
            target, websocket_stage=ws_stage, sender_email=sender
        )
    }
    for function in functions_with_own_policy():
        function_config = stage_config.get("lambda_functions", {}).get(function, {})
        name = function_config.get("iam_policy_file", function_policy_file_name(target.stage, function))
        policies[name] = render_function_policy(target, function, websocket_stage=ws_stage, sender_email=sender)
    changed = False
    for name, policy in policies.items():
        path, text = directory / name, policy_text(policy)
        if not (path.exists() and path.read_text() == text):
            path.write_text(text)
            changed = True
    return changed


def read_deployed(project_dir: Path, stage: str) -> DeployedUrls | None:
    """The URLs, API ids and function names chalice recorded for ``stage``, or None if nothing is deployed."""
    path = deployed_record_path(project_dir, stage)
    if not path.exists():
        return None
    resources = {resource["name"]: resource for resource in json.loads(path.read_text()).get("resources", [])}
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in resources.values():
        by_type.setdefault(resource["resource_type"], []).append(resource)
    rest = by_type.get("rest_api", [{}])[0]
    websocket = by_type.get("websocket_api", [{}])[0]
    functions = tuple(resource["lambda_arn"].rsplit(":", 1)[-1] for resource in by_type.get("lambda_function", []))
    return DeployedUrls(
        rest_api_url=rest.get("rest_api_url", ""),
        websocket_api_url=websocket.get("websocket_api_url", ""),
        function_names=functions,
        rest_api_id=rest.get("rest_api_id", ""),
        websocket_api_id=websocket.get("websocket_api_id", ""),
    )


def _new_stage(template: dict[str, Any]) -> dict[str, Any]:
    stage = copy.deepcopy(template)
    stage.pop("iam_policy_file", None)  # the new stage's own files, named by sync_stage_config
    for function in stage.get("lambda_functions", {}).values():
        function.pop("iam_policy_file", None)
    return stage
