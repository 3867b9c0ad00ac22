"""Waiting for the stack: its events printed as they arrive (a scripted fake CloudFormation, then moto's)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from deploy.stack import POLL_SECONDS, format_event, watch_stack
from deploy.template import stack_name
from tests.deploy.conftest import FakeChalice
from tests.deploy.test_deploy_command import STAGE, run_deploy, run_destroy

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/content-moderation-dev-state/1"
EVENT_LINE = re.compile(r"^    \d\d:\d\d:\d\d  (\S+) +(\S+)(?:  (.*))?$")
STARTED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def event(number: int, logical_id: str, status: str, reason: str | None = None) -> dict[str, Any]:
    recorded = {
        "EventId": f"event-{number}",
        "StackId": STACK_ID,
        "LogicalResourceId": logical_id,
        "ResourceStatus": status,
        "Timestamp": STARTED + timedelta(seconds=number),
    }
    if reason:
        recorded["ResourceStatusReason"] = reason
    return recorded


@dataclass
class ScriptedCloudFormation:
    """Answers each poll from a script: (stack status, events so far oldest first); records the calls.

    Serves describe_stack_events newest first, ``page_size`` a page, as CloudFormation does.
    """

    polls: list[tuple[str, list[dict[str, Any]]]]
    page_size: int = 2
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    poll: int = 0

    def describe_stacks(self, **arguments: Any) -> dict[str, Any]:
        self.calls.append(("describe_stacks", arguments))
        status, _ = self.polls[self.poll]
        return {"Stacks": [{"StackId": STACK_ID, "StackStatus": status}]}

    def describe_stack_events(self, **arguments: Any) -> dict[str, Any]:
        self.calls.append(("describe_stack_events", arguments))
        newest_first = self.polls[self.poll][1][::-1]
        start = int(arguments.get("NextToken", 0))
        page = {"StackEvents": newest_first[start : start + self.page_size]}
        if start + self.page_size < len(newest_first):
            page["NextToken"] = str(start + self.page_size)
        return page

    def advance(self, seconds: float) -> None:
        """The injected sleep: the next poll sees the next step of the script."""
        assert seconds == POLL_SECONDS
        self.poll += 1


CREATE = [
    event(1, "content-moderation-dev-state", "CREATE_IN_PROGRESS", "User Initiated"),
    event(2, "SubmissionsTable", "CREATE_IN_PROGRESS"),
    event(3, "ReviewsTable", "CREATE_IN_PROGRESS"),
    event(4, "SubmissionsTable", "CREATE_COMPLETE"),
    event(5, "ReviewsTable", "CREATE_COMPLETE"),
    event(6, "content-moderation-dev-state", "CREATE_COMPLETE"),
]


def test_events_are_printed_oldest_first_as_each_poll_brings_them_and_never_twice() -> None:
    cloudformation = ScriptedCloudFormation(
        [("CREATE_IN_PROGRESS", CREATE[:1]), ("CREATE_IN_PROGRESS", CREATE[:4]), ("CREATE_COMPLETE", CREATE)]
    )
    printed: list[str] = []

    watch_stack(cloudformation, STACK_ID, "CREATE_COMPLETE", echo=printed.append, sleep=cloudformation.advance)

    assert printed == [format_event(item) for item in CREATE]
    assert cloudformation.poll == 2  # slept twice, then saw CREATE_COMPLETE
    matches = [EVENT_LINE.match(line) for line in printed]
    assert all(matches)
    assert [(match[1], match[2], match[3]) for match in matches if match][:2] == [
        ("content-moderation-dev-state", "CREATE_IN_PROGRESS", "User Initiated"),
        ("SubmissionsTable", "CREATE_IN_PROGRESS", None),
    ]
    # Each poll pages back only as far as the newest event it had already shown.
    event_calls = [arguments for name, arguments in cloudformation.calls if name == "describe_stack_events"]
    assert len(event_calls) == 1 + 2 + 2


def test_an_update_shows_only_the_events_after_the_horizon() -> None:
    update = [
        event(7, "content-moderation-dev-state", "UPDATE_IN_PROGRESS", "User Initiated"),
        event(8, "StateMachine", "UPDATE_COMPLETE"),
        event(9, "content-moderation-dev-state", "UPDATE_COMPLETE"),
    ]
    cloudformation = ScriptedCloudFormation([("UPDATE_COMPLETE", CREATE + update)])
    printed: list[str] = []

    watch_stack(
        cloudformation,
        STACK_ID,
        "UPDATE_COMPLETE",
        horizon="event-6",
        echo=printed.append,
        sleep=cloudformation.advance,
    )

    assert printed == [format_event(item) for item in update]


def test_a_rollback_raises_with_the_first_failed_resources_reason_after_printing_it() -> None:
    failed = [
        *CREATE[:3],
        event(4, "SubmissionsTable", "CREATE_FAILED", "Table already exists: content-moderation-dev-submissions"),
        event(5, "ReviewsTable", "CREATE_FAILED", "Resource creation cancelled"),
        event(6, "content-moderation-dev-state", "ROLLBACK_IN_PROGRESS", "The following resource(s) failed"),
        event(7, "content-moderation-dev-state", "ROLLBACK_COMPLETE"),
    ]
    cloudformation = ScriptedCloudFormation([("ROLLBACK_IN_PROGRESS", failed[:6]), ("ROLLBACK_COMPLETE", failed)])
    printed: list[str] = []

    with pytest.raises(RuntimeError, match="ended ROLLBACK_COMPLETE, not CREATE_COMPLETE") as raised:
        watch_stack(cloudformation, STACK_ID, "CREATE_COMPLETE", echo=printed.append, sleep=cloudformation.advance)

    assert str(raised.value).index("SubmissionsTable: Table already exists") < str(raised.value).index("ReviewsTable")
    assert printed[-1] == format_event(failed[-1])  # the stream reached the end before the error
    assert any("CREATE_FAILED  Table already exists" in line for line in printed)


def test_deploy_prints_the_new_stacks_events_while_it_waits(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    _, printed = run_deploy(clients, project, fake_chalice)
    lines = printed.splitlines()

    stack_events = [match.groups() for line in lines if (match := EVENT_LINE.match(line))]
    assert stack_events[0] == (stack_name(STAGE), "CREATE_IN_PROGRESS", "User Initiated")
    assert stack_events[-1] == (stack_name(STAGE), "CREATE_COMPLETE", None)
    # Between announcing the stack and the next step, as they happen.
    first = next(index for index, line in enumerate(lines) if EVENT_LINE.match(line))
    assert "creating or updating CloudFormation stack" in lines[first - 1]
    assert "running chalice deploy" in printed.partition(lines[first])[2]


def test_a_second_deploy_prints_no_old_events_and_destroy_prints_the_deletion(
    clients: Any, project: Path, fake_chalice: FakeChalice
) -> None:
    run_deploy(clients, project, fake_chalice)
    _, second = run_deploy(clients, project, fake_chalice)  # up to date: nothing happens, nothing is printed
    assert not [line for line in second.splitlines() if EVENT_LINE.match(line)]

    printed = run_destroy(clients, project, fake_chalice, delete_data=True)

    statuses = [match[2] for line in printed.splitlines() if (match := EVENT_LINE.match(line))]
    assert statuses == ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_COMPLETE"]
