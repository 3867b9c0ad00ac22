"""The local Amazon Comprehend ``DetectToxicContent``: Comprehend's request checks and answer shape, scored offline.

moto 5.2.5 has no ``DetectToxicContent``; :func:`answer_detect_toxic_content` adds it to moto's
``ComprehendResponse``, so a ``boto3.client("comprehend")`` under ``mock_aws`` and the AWS CLI on
the runtime's ``AWS_PORT`` get the same answer, through moto's usual SigV4 and IAM checks.

The scores come from ``alt-profanity-check`` 1.7.2 (MIT; a TF-IDF vectorizer and a calibrated
linear SVM pickled for scikit-learn 1.7.2, about 1 MB inside the wheel, loaded from the package,
never downloaded). It gives one probability that a text is offensive, and it is mapped honestly:

- ``Toxicity`` = that probability;
- ``PROFANITY`` and ``INSULT`` = that probability (what its training data labels as offensive);
- ``HATE_SPEECH``, ``GRAPHIC``, ``HARASSMENT_OR_ABUSE``, ``SEXUAL``, ``VIOLENCE_OR_THREAT`` = 0.0
  (it has no signal for them).

These are not Comprehend's numbers: only the shape is Comprehend's. The model is a development
dependency (requirements-dev.txt) and lives here only: nothing in ``chalicelib/`` or ``app.py``
may import this module or ``profanity_check`` (chalicelib ships to Lambda, where Comprehend answers).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from moto.core.exceptions import JsonRESTError

from local_runtime.moto_version import require_pinned_moto

logger = logging.getLogger(__name__)

# What scored a text locally, for docs and logs; never put in the Comprehend answer.
LOCAL_MODEL_NAME = "alt-profanity-check 1.7.2 (local)"

# Comprehend's limits for DetectToxicContent (API reference, TextSegments: "A list of up to 10 text
# strings. Each string has a maximum size of 1 KB, and the maximum size of the list is 10 KB").
MAX_SEGMENTS = 10
MAX_SEGMENT_BYTES = 1024

# botocore's ToxicContentType enum, in the order Comprehend's documented example answer lists them.
LABEL_NAMES = (
    "PROFANITY",
    "HATE_SPEECH",
    "INSULT",
    "GRAPHIC",
    "HARASSMENT_OR_ABUSE",
    "SEXUAL",
    "VIOLENCE_OR_THREAT",
)
# The labels the classifier's one probability stands for; the others are always 0.0.
SCORED_LABELS = frozenset({"PROFANITY", "INSULT"})
# botocore's LanguageCode enum for this operation; the API reference says only English is supported.
LANGUAGE_CODES = ("en", "es", "fr", "de", "it", "pt", "ar", "hi", "ja", "ko", "zh", "zh-TW")
SUPPORTED_LANGUAGE = "en"
# Comprehend's documented example scores have four decimals.
_SCORE_DECIMALS = 4


class ValidationException(JsonRESTError):
    """A request outside the service model's constraints (required member, ``min``, enum).

    AWS's JSON services check these before the operation runs and answer ``ValidationException``
    in this wording; Comprehend's DetectToxicContent does too ("1 validation error detected: Value
    null at 'textSegments' failed to satisfy constraint: Member must not be null", quoted from a
    real answer in a public project's notes). botocore checks ``min`` and required members itself
    before sending, so only clients that skip its validation (other SDKs, raw HTTP) see these.
    """

    def __init__(self, member: str, constraint: str, value: str | None = None) -> None:
        shown = f" {value}" if value is not None else ""  # sensitive members are named without their value
        super().__init__(
            "ValidationException",
            f"1 validation error detected: Value{shown} at '{member}' failed to satisfy constraint: {constraint}",
        )


class SerializationException(JsonRESTError):
    """A member of the wrong JSON type (a number for a string, an object for a list): AWS's JSON protocol error."""

    def __init__(self) -> None:
        super().__init__("SerializationException", "")


class InvalidRequestException(JsonRESTError):
    """One of the operation's declared errors: the request is invalid."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidRequestException", message)


class TextSizeLimitExceededException(JsonRESTError):
    """One of the operation's declared errors: a text segment is over 1 KB of UTF-8."""

    def __init__(self, index: int, size: int) -> None:
        super().__init__(
            "TextSizeLimitExceededException",
            f"Input text size exceeds limit. Max length of each text segment allowed is {MAX_SEGMENT_BYTES} "
            f"bytes while in this request the text size of segment {index} is {size} bytes",
        )


class UnsupportedLanguageException(JsonRESTError):
    """One of the operation's declared errors: a language of the enum that toxicity detection does not take."""

    def __init__(self, language: str) -> None:
        super().__init__(
            "UnsupportedLanguageException",
            f"Toxicity detection does not support the language '{language}'; the supported language is "
            f"'{SUPPORTED_LANGUAGE}'",
        )


def detect_toxic_content(request: dict[str, Any]) -> dict[str, Any]:
    """Answer one DetectToxicContent request (its JSON parameters) as Comprehend does: one result per segment, in order.

    Raises ``SerializationException`` or ``ValidationException`` for a request outside the
    service model, ``UnsupportedLanguageException`` for a language other than ``en``,
    ``InvalidRequestException`` for more than 10 segments and ``TextSizeLimitExceededException``
    for a segment over 1 KB of UTF-8 (all moto ``JsonRESTError``s, answered with status 400).
    """
    texts, language = _validated(request)
    if language != SUPPORTED_LANGUAGE:
        raise UnsupportedLanguageException(language)
    if len(texts) > MAX_SEGMENTS:
        # The model declares no maximum (so this is no ValidationException) and Comprehend's own
        # wording for it is not published: of the operation's declared errors (InvalidRequest,
        # TextSizeLimitExceeded, UnsupportedLanguage, InternalServer) InvalidRequest is the one
        # that fits a request outside a documented limit; batch operations have
        # BatchSizeLimitExceededException, which this operation does not declare.
        raise InvalidRequestException(
            f"The number of text segments ({len(texts)}) exceeds the limit of {MAX_SEGMENTS} per request"
        )
    for index, text in enumerate(texts, start=1):
        size = len(text.encode("utf-8"))
        if size > MAX_SEGMENT_BYTES:
            raise TextSizeLimitExceededException(index, size)
    return {"ResultList": [_toxic_labels(probability) for probability in classifier.probabilities(texts)]}


def _request_parameters(body: str | bytes | None) -> dict[str, Any]:
    """The request's JSON object; a body that is not one is AWS's ``SerializationException``."""
    try:
        parameters = json.loads(body or "{}")
    except ValueError:
        raise SerializationException() from None
    if not isinstance(parameters, dict):
        raise SerializationException()
    return parameters


def _validated(request: dict[str, Any]) -> tuple[list[str], str]:
    """The segments' texts and the language code, once they satisfy the service model's shapes."""
    segments = request.get("TextSegments")
    language = request.get("LanguageCode")
    if segments is None:
        raise ValidationException("textSegments", "Member must not be null", "null")
    if language is None:
        raise ValidationException("languageCode", "Member must not be null", "null")
    if not isinstance(segments, list) or not isinstance(language, str):
        raise SerializationException()
    if not segments:
        raise ValidationException("textSegments", "Member must have length greater than or equal to 1")
    texts = []
    for index, segment in enumerate(segments, start=1):
        if not isinstance(segment, dict):
            raise SerializationException()
        text = segment.get("Text")
        member = f"textSegments.{index}.member.text"
        if text is None:
            raise ValidationException(member, "Member must not be null", "null")
        if not isinstance(text, str):
            raise SerializationException()
        if not text:
            raise ValidationException(member, "Member must have length greater than or equal to 1")
        texts.append(text)
    if language not in LANGUAGE_CODES:
        raise ValidationException(
            "languageCode", f"Member must satisfy enum value set: [{', '.join(LANGUAGE_CODES)}]", f"'{language}'"
        )
    return texts, language


def _toxic_labels(probability: float) -> dict[str, Any]:
    """One ``ToxicLabels`` entry: every label Comprehend names, scored as the module docstring says."""
    score = round(probability, _SCORE_DECIMALS)
    return {
        "Labels": [{"Name": name, "Score": score if name in SCORED_LABELS else 0.0} for name in LABEL_NAMES],
        "Toxicity": score,
    }


class LocalClassifier:
    """``alt-profanity-check``'s model, loaded on first use, once per process, whichever thread asks first."""

    def __init__(self, load: Callable[[], Callable[[Sequence[str]], Sequence[float]]] | None = None) -> None:
        self._load = load or _load_profanity_check
        self._predict: Callable[[Sequence[str]], Sequence[float]] | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._predict is not None

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        """The probability that each text is offensive, in [0, 1], in order."""
        predict = self._predict
        if predict is None:
            with self._lock:
                if self._predict is None:
                    started = time.perf_counter()
                    self._predict = self._load()
                    logger.info("loaded %s in %.2f s", LOCAL_MODEL_NAME, time.perf_counter() - started)
                predict = self._predict
        return [min(1.0, max(0.0, float(value))) for value in predict(list(texts))]


def _load_profanity_check() -> Callable[[Sequence[str]], Sequence[float]]:
    # profanity_check unpickles its vectorizer and model when imported (about a second, with
    # scikit-learn, numpy and scipy): imported here, so only the first DetectToxicContent pays.
    from profanity_check import predict_prob  # type: ignore[import-untyped]

    return predict_prob  # type: ignore[no-any-return]


# The process's one classifier: the runtime's threads and moto's server threads share it.
classifier = LocalClassifier()


def answer_detect_toxic_content() -> None:
    """Give moto's Comprehend the ``DetectToxicContent`` action, answered by :func:`detect_toxic_content`.

    moto dispatches a Comprehend request (in-process under ``mock_aws``, or on its HTTP server) to
    ``ComprehendResponse.call_action``, which authenticates and authorises it (IAM enforcement
    included, as ``comprehend:DetectToxicContent`` on ``*``, as AWS authorises it) and then calls
    the method named after the ``X-Amz-Target`` action. Adding that one method is the whole patch:
    moto's dispatch, auth and error serialisation stay its own. Idempotent.
    """
    require_pinned_moto()
    from moto.comprehend.responses import ComprehendResponse
    from moto.core import responses

    existing = ComprehendResponse.__dict__.get("detect_toxic_content")
    if getattr(existing, "answers_locally", False):
        return

    def detect_toxic_content_action(self: Any) -> str:
        return json.dumps(detect_toxic_content(_request_parameters(self.body)))

    detect_toxic_content_action.answers_locally = True  # type: ignore[attr-defined]
    ComprehendResponse.detect_toxic_content = detect_toxic_content_action  # type: ignore[attr-defined]
    # cache_response_method_names keeps each response class's method names: forget Comprehend's,
    # in case it was listed before this method existed.
    cache_clear = getattr(responses.method_names_from_class, "cache_clear", None)  # type: ignore[attr-defined]
    if cache_clear is not None:
        cache_clear()
