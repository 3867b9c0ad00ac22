"""Patches to moto's Step Functions interpreter: what it costs per execution, not what it does.

Each function fixes one thing, is idempotent, and refuses to run on a moto other than the pinned
one (``local_runtime.moto_version``); ``tests/local_runtime/test_moto_patches.py`` checks that each
still reaches the moto code it replaces.
"""

from __future__ import annotations

import functools
from typing import Any

from local_runtime.moto_version import require_pinned_moto

# One entry per distinct definition (tests render a few, the runtime one): plenty.
_PROGRAM_CACHE_SIZE = 64
# One entry per distinct JSONPath string in the definitions: a few dozen at most.
_JSONPATH_CACHE_SIZE = 1024


def cache_parsed_programs() -> None:
    """Parse each state machine definition once, not on every StartExecution.

    moto runs the ANTLR parser over the whole definition when the state machine is created and
    again for every execution (``ExecutionWorker._get_evaluation_entrypoint``): a quarter of the
    runtime's CPU per submission. The parsed ``Program`` is a tree of components whose evaluation
    state lives in each execution's ``Environment``, so one tree can serve every execution of the
    same definition. Failed parses are not cached (``lru_cache`` does not keep exceptions).
    """
    require_pinned_moto()
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    parse = AmazonStateLanguageParser.__dict__["parse"].__func__
    if getattr(parse, "caches_programs", False):
        return
    cached = functools.lru_cache(maxsize=_PROGRAM_CACHE_SIZE)(parse)
    cached.caches_programs = True  # type: ignore[attr-defined]
    AmazonStateLanguageParser.parse = staticmethod(cached)  # type: ignore[method-assign]


def cache_jsonpath_parsers() -> None:
    """Compile each JSONPath expression once instead of on every evaluation.

    ``jsonpath_ng.parse`` builds a PLY parser each call, and moto's interpreter calls it for
    every ``InputPath``, ``ResultPath``, ``Parameters`` path and Choice variable of every
    state: 17% of the runtime's CPU per submission. Compiled expressions hold no per-call state
    (``find`` and ``update_or_create`` work on the data they are given), so they can be shared.
    """
    require_pinned_moto()
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module in (json_path, result_path):
        parse = module.parse
        if getattr(parse, "caches_expressions", False):
            continue
        cached: Any = functools.lru_cache(maxsize=_JSONPATH_CACHE_SIZE)(parse)
        cached.caches_expressions = True
        module.parse = cached  # type: ignore[attr-defined]
