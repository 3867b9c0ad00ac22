"""Small adjustments that let moto run our stack the way AWS does."""

from __future__ import annotations


def route_cloudformation_state_machines_to_interpreter() -> None:
    """Make CloudFormation-created state machines executable.

    moto's CloudFormation registers ``AWS::StepFunctions::StateMachine`` in the plain Step
    Functions backend, while with ``execute_state_machine`` the API serves the interpreter's
    backend, so the stack's state machine would be invisible to StartExecution. The
    interpreter's backend is a subclass of the plain one, so CloudFormation can use it directly.
    """
    import moto.stepfunctions.models as plain_models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    plain_models.stepfunctions_backends = stepfunctions_parser_backends
