"""Patch to moto's CloudFormation: a JSON template is parsed as JSON, not by PyYAML's pure-Python loader.

Every in-process test deploys the stack (``aws_server.in_process_stack``), and moto reads each
template with ``yaml.load`` first, which took about a third of that deploy's CPU for our 100 KB
JSON template. JSON is YAML, and a JSON document has no tags or unquoted scalars for the YAML
loader to resolve differently, so ``json.loads`` gives the same dict. Anything that is not JSON
(a YAML template) still goes to moto's own parser. A speed patch (``moto_hooks``).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from local_runtime.moto_version import require_pinned_moto


def parse_json_templates_as_json() -> None:
    """Let moto's ``Stack.parse_template`` read a JSON template with ``json.loads``. Idempotent."""
    require_pinned_moto()
    from moto.cloudformation.models import Stack

    original = Stack.__dict__["parse_template"].__func__
    if getattr(original, "reads_json_as_json", False):
        return

    @functools.wraps(original)
    def parse_template(template: str) -> dict[str, Any]:
        if template.lstrip().startswith("{"):
            try:
                parsed = json.loads(template)
            except ValueError:
                pass
            else:
                if isinstance(parsed, dict):
                    return parsed
        return original(template)  # type: ignore[no-any-return]

    parse_template.reads_json_as_json = True  # type: ignore[attr-defined]
    Stack.parse_template = staticmethod(parse_template)  # type: ignore[method-assign]
