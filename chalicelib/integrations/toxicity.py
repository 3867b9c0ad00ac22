"""The toxicity model's side of the risk check (SPEC §13): Amazon Comprehend DetectToxicContent, in segments and batches.

Title and body are read as a reader sees them (markup rendered, as the word list sees through
it), cut into segments of at most 1 KB of UTF-8 and sent ten to a call, the limits of
DetectToxicContent. A submission keeps the highest ``Toxicity`` and each label's highest score.
A 300-character title is at most 2 segments; a body of English prose is 1 segment per 1 KB, 11
per 10 KB and 104 per 100 KB (the API's limit), so with a short title 1, 2 and 11 calls.
"""

from __future__ import annotations

import logging
import random
import re
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

from chalicelib.domain.content_check import markup
from chalicelib.domain.risk import DEFAULT_MODEL_NAME, RiskAssessment
from chalicelib.log import log_event

if TYPE_CHECKING:
    from mypy_boto3_comprehend import ComprehendClient

logger = logging.getLogger(__name__)

SEGMENT_MAX_BYTES = 1024  # DetectToxicContent: "each string has a maximum size of 1 KB"
SEGMENTS_PER_CALL = 10  # "a list of up to 10 text strings" (10 KB in all: 10 full segments fit)
# Packing whole words wastes at most half of each segment, so a 100 KB body and a 300-character
# title (at most 1,200 bytes) never need more than 2 x 102,400 / 1,024 + 2 = 202 segments: 21
# calls. Text beyond that (possible only when NFKC expands compatibility characters) is not
# scored partly: the assessment is an error and the submission goes to a human.
MAX_CALLS = 21
MAX_SEGMENTS = MAX_CALLS * SEGMENTS_PER_CALL
LANGUAGE_CODE: Final = "en"
TOO_LONG_ERROR = "RiskCheckTextTooLong"
UNEXPECTED_RESPONSE_ERROR = "RiskCheckUnexpectedResponse"
OUT_OF_TIME_ERROR = "RiskCheckOutOfTime"

# Inside a 30 s Lambda: three attempts per call (backing off 0.2 s, then 0.4 s, each jittered down
# to half), and no new attempt once the whole check has used the time budget: with botocore's
# one attempt of at most 2 s to connect and 4 s to answer (aws.py), a check ends within ~16 s.
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_FIRST_BACKOFF_SECONDS = 0.2
DEFAULT_TIME_BUDGET_SECONDS = 10.0
_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "InternalServerException",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?\u2026\u3002])\s+")
_SURROGATE = re.compile("[\ud800-\udfff]")


def readable_text(text: str) -> str:
    """``text`` as a reader sees it: markup rendered, NFKC forms, no invisible format characters, single spaces."""
    readings = markup.read(text)
    visible = readings.rendered.text if readings is not None else text
    if not visible.isascii():  # ASCII has no compatibility forms and no format characters: skip the per-character pass
        visible = unicodedata.normalize("NFKC", _SURROGATE.sub("\ufffd", visible))
        visible = "".join(character for character in visible if unicodedata.category(character) != "Cf")
    return " ".join(visible.split())


def segments(title: str, body: str) -> list[str]:
    """The non-empty segments of title and body (the title's first), each at most SEGMENT_MAX_BYTES of UTF-8."""
    return [segment for text in (title, body) for segment in _segments_of(readable_text(text))]


def batches(all_segments: Sequence[str]) -> list[list[str]]:
    """``all_segments`` in calls of at most SEGMENTS_PER_CALL."""
    return [
        list(all_segments[start : start + SEGMENTS_PER_CALL])
        for start in range(0, len(all_segments), SEGMENTS_PER_CALL)
    ]


def _segments_of(text: str) -> Iterator[str]:
    """Whole sentences where they fit, else whole words, else a word cut at a character boundary."""
    if not text:
        return
    if _size(text) <= SEGMENT_MAX_BYTES:
        yield text
        return
    current: list[str] = []
    size = 0
    for piece in _pieces(text):
        piece_size = _size(piece)
        if current and size + 1 + piece_size > SEGMENT_MAX_BYTES:
            yield " ".join(current)
            current, size = [], 0
        size += piece_size + (1 if current else 0)
        current.append(piece)
    if current:
        yield " ".join(current)


def _pieces(text: str) -> Iterator[str]:
    """Sentences of at most SEGMENT_MAX_BYTES; a longer sentence as its words, a longer word in cuts."""
    for sentence in _SENTENCE_BREAK.split(text):
        if _size(sentence) <= SEGMENT_MAX_BYTES:
            yield sentence
            continue
        for word in sentence.split(" "):
            if _size(word) <= SEGMENT_MAX_BYTES:
                yield word
            else:
                yield from _cut(word)


def _cut(word: str) -> Iterator[str]:
    """``word`` in pieces of at most SEGMENT_MAX_BYTES, never inside a UTF-8 multi-byte character."""
    encoded = word.encode("utf-8")
    start = 0
    while start < len(encoded):
        end = min(start + SEGMENT_MAX_BYTES, len(encoded))
        while end < len(encoded) and encoded[end] & 0xC0 == 0x80:  # a continuation byte: step back
            end -= 1
        yield encoded[start:end].decode("utf-8")
        start = end


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


class ComprehendRiskScorer:
    """Scores a submission with DetectToxicContent; answers with an error assessment, never an exception, when AWS fails."""

    def __init__(
        self,
        client: ComprehendClient,
        *,
        model_name: str = DEFAULT_MODEL_NAME,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        first_backoff_seconds: float = DEFAULT_FIRST_BACKOFF_SECONDS,
        time_budget_seconds: float = DEFAULT_TIME_BUDGET_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._client = client
        self._model_name = model_name
        self._max_attempts = max(1, max_attempts)
        self._first_backoff_seconds = first_backoff_seconds
        self._time_budget_seconds = time_budget_seconds
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter

    @property
    def model_name(self) -> str:
        return self._model_name

    def assess(self, title: str, body: str, *, submission_id: str | None = None) -> RiskAssessment:
        """The highest toxicity and each label's highest score over every segment of title and body.

        Empty text (once markup and spaces are gone) scores 0.0 without a call. A transient
        failure is retried with backoff; one that persists, any other AWS error, or text beyond
        MAX_SEGMENTS gives ``RiskAssessment.failed(code)``. Never raises for an AWS answer.
        """
        all_segments = segments(title, body)
        if len(all_segments) > MAX_SEGMENTS:
            return self._failure(TOO_LONG_ERROR, submissionId=submission_id, segments=len(all_segments))
        started = self._clock()
        toxicity = 0.0
        labels: dict[str, float] = {}
        calls = batches(all_segments)
        for number, batch in enumerate(calls, start=1):
            results = self._detect(batch, started=started, submission_id=submission_id)
            highest = results if isinstance(results, str) else _keep_highest(results, toxicity, labels)
            if isinstance(highest, str):
                return self._failure(highest, submissionId=submission_id, call=number, calls=len(calls))
            toxicity = highest
        return RiskAssessment.scored(toxicity, labels, model=self._model_name)

    def _detect(self, batch: list[str], *, started: float, submission_id: str | None) -> list[dict[str, Any]] | str:
        """One call's results (one per segment), or the error code that ended its attempts."""
        from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
        from botocore.exceptions import ConnectionError as BotocoreConnectionError

        attempt, code = 1, OUT_OF_TIME_ERROR
        while True:
            if self._clock() - started >= self._time_budget_seconds:  # earlier calls used the budget up
                return code
            try:
                response = self._client.detect_toxic_content(
                    TextSegments=[{"Text": text} for text in batch], LanguageCode=LANGUAGE_CODE
                )
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code") or "ClientError"
                status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
                transient = code in _TRANSIENT_CODES or status == 429 or status >= 500
            except (BotocoreConnectionError, HTTPClientError) as error:  # timeouts, dropped connections
                code, transient = type(error).__name__, True
            except BotoCoreError as error:  # no credentials, a request botocore refused to send
                code, transient = type(error).__name__, False
            else:
                results = list(response.get("ResultList") or [])
                if len(results) != len(batch):
                    return UNEXPECTED_RESPONSE_ERROR
                return [dict(result) for result in results]
            if not transient or attempt >= self._max_attempts:
                return code
            delay = self._first_backoff_seconds * 2 ** (attempt - 1) * (0.5 + self._jitter() / 2)
            if self._clock() - started + delay >= self._time_budget_seconds:
                return code
            log_event(logger, "risk_check.retry", error=code, attempt=attempt, submissionId=submission_id)
            self._sleep(delay)
            attempt += 1

    def _failure(self, code: str, **fields: Any) -> RiskAssessment:
        # Counts and codes only: never the article's text.
        log_event(logger, "risk_check.failed", level=logging.WARNING, error=code, model=self._model_name, **fields)
        return RiskAssessment.failed(code)


def _keep_highest(results: list[dict[str, Any]], toxicity: float, labels: dict[str, float]) -> float | str:
    """The highest of ``toxicity`` and the results' ``Toxicity``, each label's highest kept in ``labels``.

    UNEXPECTED_RESPONSE_ERROR for a score that is not a finite number in [0, 1].
    """
    try:
        for result in results:
            toxicity = max(toxicity, _score(result.get("Toxicity")))
            for label in result.get("Labels") or []:
                name = label.get("Name")
                if isinstance(name, str) and name:
                    labels[name] = max(labels.get(name, 0.0), _score(label.get("Score")))
    except (TypeError, ValueError):
        return UNEXPECTED_RESPONSE_ERROR
    return toxicity


def _score(value: Any) -> float:
    if value is None:
        return 0.0
    number = float(value)
    if not 0.0 <= number <= 1.0:  # also false for NaN
        raise ValueError(f"score out of range: {number}")
    return number
