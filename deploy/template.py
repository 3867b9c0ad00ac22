"""The stateful stack's template, with the state machine definition rendered into it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deploy.definition import function_arns, render_definition

TEMPLATE_PATH = Path(__file__).resolve().parent / "stateful-stack.json"


def stack_name(stage: str) -> str:
    return f"content-moderation-{stage}-state"


def build_template(*, stage: str, region: str, account_id: str, partition: str = "aws") -> dict[str, Any]:
    """The template as deployed: ``statemachine.json`` rendered by the shared helper.

    The definition is rendered here rather than with ``DefinitionSubstitutions`` because
    moto's CloudFormation reads only ``DefinitionString``; the result is the same on AWS.
    """
    template = json.loads(TEMPLATE_PATH.read_text())
    definition = render_definition(function_arns(stage, region=region, account_id=account_id, partition=partition))
    template["Resources"]["StateMachine"]["Properties"]["DefinitionString"] = definition
    template["Parameters"]["Stage"]["Default"] = stage  # the definition names this stage's functions
    return template
