"""The audit trail: an append-only list of events per submission (SPEC §11).

Events live in their own table (``submissionId`` + ``eventId``) rather than beside the
submission: the Lambda policy grants only PutItem and Query on it, so no code path can change
or delete an event, and a busy submission's history never grows the submission item that every
status read and subscribe loads. ``eventId`` starts with the event's time, so one Query returns
the events in the order they happened; each writer derives the rest of the id from what it
records, so a retried step rewrites nothing and adds no duplicate.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from chalicelib.domain.history import FORBIDDEN_FIELDS, HistoryEvent
from chalicelib.integrations.aws import conditional_write, dynamodb_value, plain, query_all
from chalicelib.log import log_event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

logger = logging.getLogger(__name__)

# Items carry these beside the event's own fields.
_KEYS = ("submissionId", "eventId")


class DynamoDBHistoryStore:
    """Appends events to, and reads, the history table (``ports.HistoryStore``)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def append(self, submission_id: str, event: str, *, at: str, key: str = "", **fields: Any) -> bool:
        """Record ``event`` at ``at`` (ISO 8601 UTC); ``key`` tells apart events of one kind at one time.

        The write is conditional: the same event written twice (a retried step) is kept once, and
        only the write that stored it returns True (what counts events counts on that).
        A failure to write history is logged, never raised: the audit trail must not undo or
        block the step it records (it returns False: an event not in the trail is not counted).
        """
        item = {
            "submissionId": submission_id,
            "eventId": f"{at}#{event}#{key}",
            "at": at,
            "event": event,
            **{
                name: dynamodb_value(value)
                for name, value in fields.items()
                if name not in FORBIDDEN_FIELDS and value is not None
            },
        }
        try:
            written = conditional_write(
                self._table.put_item, Item=item, ConditionExpression="attribute_not_exists(eventId)"
            )
        except Exception as error:  # botocore's errors, or anything a transient failure raises
            log_event(
                logger,
                "history.write_failed",
                level=logging.ERROR,
                submissionId=submission_id,
                historyEvent=event,
                error=type(error).__name__,
            )
            return False
        return written is not None

    def events(self, submission_id: str) -> list[HistoryEvent]:
        """Every event of a submission, oldest first (consistent reads, every page)."""
        items = query_all(
            self._table,
            KeyConditionExpression="submissionId = :submission",
            ExpressionAttributeValues={":submission": submission_id},
            ConsistentRead=True,
        )
        return [
            HistoryEvent(
                at=item["at"],
                event=item["event"],
                fields={name: plain(value) for name, value in item.items() if name not in (*_KEYS, "at", "event")},
            )
            for item in items
        ]
