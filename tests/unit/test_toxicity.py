"""ComprehendRiskScorer against botocore's Stubber on a real Comprehend client: segments, batches, aggregation, retries."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from chalicelib.domain.risk import RiskAssessment
from chalicelib.integrations import toxicity
from chalicelib.integrations.toxicity import ComprehendRiskScorer, batches, readable_text, segments

LABELS = ("GRAPHIC", "HARASSMENT_OR_ABUSE", "HATE_SPEECH", "INSULT", "PROFANITY", "SEXUAL", "VIOLENCE_OR_THREAT")
_WORDS = "the moderation team reads every article that the model is unsure about before it is published".split()


def prose(size: int) -> str:
    """English-like sentences of 7 to 15 words, cut to exactly ``size`` bytes (ASCII)."""
    sentences, length, index = [], 0, 0
    while length < size + 200:
        words = [_WORDS[(index + offset) % len(_WORDS)] for offset in range(7 + index % 9)]
        sentence = " ".join(words).capitalize() + "."
        sentences.append(sentence)
        length += len(sentence) + 1
        index += 1
    return " ".join(sentences)[:size]


def result(toxicity: float, **labels: float) -> dict[str, Any]:
    return {"Toxicity": toxicity, "Labels": [{"Name": name, "Score": labels.get(name, 0.0)} for name in LABELS]}


def answer(*results: dict[str, Any]) -> dict[str, Any]:
    return {"ResultList": list(results)}


class Recorder:
    """Keeps the parameters of every DetectToxicContent call and every sleep; the clock moves only by sleeping."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.sleeps: list[float] = []
        self.now = 0.0

    def record_call(self, params: dict[str, Any], **_: Any) -> None:
        self.calls.append([segment["Text"] for segment in params["TextSegments"]])

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def comprehend() -> Any:
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    return session.client(
        "comprehend", region_name="us-east-1", config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    )


@pytest.fixture
def recorder(comprehend: Any) -> Iterator[Recorder]:
    recorder = Recorder()
    event = "provide-client-params.comprehend.DetectToxicContent"
    comprehend.meta.events.register(event, recorder.record_call)
    yield recorder
    comprehend.meta.events.unregister(event, recorder.record_call)


@pytest.fixture
def stubber(comprehend: Any) -> Iterator[Stubber]:
    with Stubber(comprehend) as stub:
        yield stub
        stub.assert_no_pending_responses()


def scorer_for(client: Any, recorder: Recorder, **options: Any) -> ComprehendRiskScorer:
    return ComprehendRiskScorer(client, sleep=recorder.sleep, clock=recorder.clock, jitter=lambda: 1.0, **options)


def answer_every_call(stubber: Stubber, call_sizes: list[int]) -> None:
    for size in call_sizes:
        stubber.add_response("detect_toxic_content", answer(*[result(0.01)] * size))


# --- what is sent -------------------------------------------------------------------------------


def test_title_and_body_are_sent_as_a_reader_sees_them_in_one_call(comprehend, recorder, stubber):
    stubber.add_response(
        "detect_toxic_content",
        answer(result(0.2, INSULT=0.1), result(0.8, INSULT=0.75)),
        {"TextSegments": [{"Text": "A title"}, {"Text": "you are an idiot"}], "LanguageCode": "en"},
    )

    risk = scorer_for(comprehend, recorder).assess("  A\ttitle ", "<p><b>you</b> are an <i>id&#105;ot</i></p>")

    assert risk.score == 0.8
    assert risk.labels["INSULT"] == 0.75


def test_the_highest_toxicity_and_each_labels_highest_score_are_kept_across_segments_and_calls(
    comprehend, recorder, stubber
):
    body = prose(12 * 1024)  # 13 body segments: two calls
    sent = segments("Title", body)
    assert [len(batch) for batch in batches(sent)] == [10, 4]
    first = [result(0.1)] * 10
    first[3] = result(0.6, INSULT=0.9, PROFANITY=0.2)
    second = [result(0.05)] * 4
    second[2] = result(0.7, PROFANITY=0.65, INSULT=0.1, GRAPHIC=0.3)
    stubber.add_response("detect_toxic_content", answer(*first))
    stubber.add_response("detect_toxic_content", answer(*second))

    risk = scorer_for(comprehend, recorder).assess("Title", body)

    assert recorder.calls == batches(sent)
    assert risk.score == 0.7
    assert risk.labels == {label: 0.0 for label in LABELS} | {"INSULT": 0.9, "PROFANITY": 0.65, "GRAPHIC": 0.3}
    assert risk.model == "comprehend:DetectToxicContent" and risk.error is None


@pytest.mark.parametrize(
    ("body_bytes", "body_segments", "calls"),
    [(1024, 1, 1), (10 * 1024, 11, 2), (100 * 1024, 104, 11)],
)
def test_a_1_kb_10_kb_and_100_kb_body_take_1_2_and_11_calls_of_at_most_10_segments_of_1_kb(
    comprehend, recorder, stubber, body_bytes, body_segments, calls
):
    body = prose(body_bytes)
    assert len(body.encode()) == body_bytes
    assert len(segments("", body)) == body_segments
    sent = segments("A title", body)  # the title is one more segment
    answer_every_call(stubber, [len(batch) for batch in batches(sent)])

    risk = scorer_for(comprehend, recorder).assess("A title", body)

    assert risk.error is None
    assert len(recorder.calls) == calls
    assert all(1 <= len(call) <= toxicity.SEGMENTS_PER_CALL for call in recorder.calls)
    assert all(1 <= len(text.encode()) <= toxicity.SEGMENT_MAX_BYTES for call in recorder.calls for text in call)
    assert " ".join(text for call in recorder.calls for text in call) == "A title " + body  # nothing lost


def test_sentences_stay_whole_when_they_fit():
    body = prose(5 * 1024)
    assert all(segment.endswith(".") for segment in segments("", body)[:-1])


def test_a_body_of_markup_only_is_not_sent_and_scores_zero(comprehend, recorder, stubber):
    risk = scorer_for(comprehend, recorder).assess("", "<p><b></b></p>&nbsp;<!-- a comment --><br/>\u200b")

    assert risk == RiskAssessment(score=0.0, labels={}, model="comprehend:DetectToxicContent")
    assert recorder.calls == []


def test_empty_title_and_body_make_no_call_and_score_zero(comprehend, recorder, stubber):
    assert scorer_for(comprehend, recorder).assess("", "").to_dict() == {
        "score": 0.0,
        "labels": {},
        "model": "comprehend:DetectToxicContent",
    }
    assert recorder.calls == []


@pytest.mark.parametrize(
    "body",
    [
        "😀" * 2000,  # 4-byte characters, no spaces: one long word, cut
        "日本語のテキストです" * 400,  # 3-byte characters
        "Ελληνικά και кириллица " * 300 + "👩‍👩‍👧‍👦" * 300,  # 2-byte words, then ZWJ sequences
        "é" * 5000,  # 2 bytes each: 1024 is a boundary
        "a" + "€" * 2000,  # 1 + 3n bytes: the cut must step back
    ],
)
def test_emoji_and_other_scripts_are_cut_at_character_boundaries_within_1_kb(comprehend, recorder, stubber, body):
    sent = segments("", body)
    answer_every_call(stubber, [len(batch) for batch in batches(sent)])

    risk = scorer_for(comprehend, recorder).assess("", body)

    assert risk.error is None
    texts = [text for call in recorder.calls for text in call]
    assert texts == sent
    assert all(1 <= len(text.encode("utf-8")) <= toxicity.SEGMENT_MAX_BYTES for text in texts)
    assert "".join(texts).replace(" ", "") == readable_text(body).replace(" ", "")


def test_a_long_emoji_title_takes_two_segments():
    assert [len(segment.encode()) for segment in segments("😀" * 300, "")] == [1024, 176]


def test_compatibility_forms_and_invisible_characters_are_read_as_a_reader_sees_them():
    assert readable_text("ｉｄｉｏｔ and idi\u00adot and i\u200bdiot") == "idiot and idiot and idiot"


def test_text_that_expands_beyond_the_cap_is_not_scored_and_goes_to_a_human(comprehend, recorder, stubber):
    body = "\ufdfa" * (100 * 1024 // 3)  # NFKC turns each 3-byte character into 18 characters (33 bytes)

    risk = scorer_for(comprehend, recorder).assess("", body)

    assert risk == RiskAssessment.failed(toxicity.TOO_LONG_ERROR)
    assert recorder.calls == []


def test_the_cap_allows_any_body_and_title_the_api_accepts():
    worst = "x" * 513 + " "  # each word takes a segment of its own: the worst packing
    body = (worst * (100 * 1024 // len(worst)))[: 100 * 1024]
    title = "😀" * 300
    assert len(segments(title, body)) <= toxicity.MAX_SEGMENTS


# --- retries and errors -------------------------------------------------------------------------


def test_throttling_then_success_is_retried_after_a_backoff_and_scored(comprehend, recorder, stubber):
    stubber.add_client_error("detect_toxic_content", "ThrottlingException", http_status_code=400)
    stubber.add_client_error("detect_toxic_content", "TooManyRequestsException", http_status_code=429)
    stubber.add_response("detect_toxic_content", answer(result(0.3, INSULT=0.3)))

    risk = scorer_for(comprehend, recorder).assess("", "hello")

    assert risk.score == 0.3
    assert recorder.sleeps == [0.2, 0.4]
    assert len(recorder.calls) == 3


def test_backoff_is_jittered_between_half_and_the_whole_delay(comprehend, recorder, stubber):
    stubber.add_client_error("detect_toxic_content", "ThrottlingException", http_status_code=400)
    stubber.add_response("detect_toxic_content", answer(result(0.3)))
    scorer = ComprehendRiskScorer(comprehend, sleep=recorder.sleep, clock=recorder.clock, jitter=lambda: 0.0)

    scorer.assess("", "hello")

    assert recorder.sleeps == [0.1]


def test_throttling_every_time_gives_up_after_three_attempts_with_the_aws_error_code(
    comprehend, recorder, stubber, caplog
):
    for _ in range(3):
        stubber.add_client_error("detect_toxic_content", "ThrottlingException", http_status_code=400)

    with caplog.at_level(logging.INFO, logger="chalicelib.integrations.toxicity"):
        risk = scorer_for(comprehend, recorder).assess("Secret title", "secret words", submission_id="s-1")

    assert risk == RiskAssessment.failed("ThrottlingException")
    assert risk.to_dict() == {"error": "ThrottlingException"}
    assert recorder.sleeps == [0.2, 0.4]
    assert len(recorder.calls) == 3
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert '"event": "risk_check.failed"' in logged and '"submissionId": "s-1"' in logged
    assert "ThrottlingException" in logged
    assert "ecret" not in logged  # never the article's text


def test_a_server_error_is_retried(comprehend, recorder, stubber):
    stubber.add_client_error("detect_toxic_content", "InternalServerException", http_status_code=500)
    stubber.add_client_error("detect_toxic_content", "SomethingNew", http_status_code=503)
    stubber.add_response("detect_toxic_content", answer(result(0.1)))

    assert scorer_for(comprehend, recorder).assess("", "hello").score == 0.1
    assert len(recorder.calls) == 3


@pytest.mark.parametrize(
    "code",
    [
        "TextSizeLimitExceededException",
        "UnsupportedLanguageException",
        "InvalidRequestException",
        "AccessDeniedException",
    ],
)
def test_a_request_error_is_an_error_at_once_without_retry(comprehend, recorder, stubber, code):
    stubber.add_client_error("detect_toxic_content", code, http_status_code=400)

    risk = scorer_for(comprehend, recorder).assess("", "hello")

    assert risk == RiskAssessment.failed(code)
    assert recorder.sleeps == []
    assert len(recorder.calls) == 1


def test_an_error_in_a_later_call_fails_the_whole_assessment(comprehend, recorder, stubber):
    body = prose(12 * 1024)
    stubber.add_response("detect_toxic_content", answer(*[result(0.01)] * 10))
    stubber.add_client_error("detect_toxic_content", "TextSizeLimitExceededException", http_status_code=400)

    assert scorer_for(comprehend, recorder).assess("Title", body).error == "TextSizeLimitExceededException"


def test_a_read_timeout_is_retried(comprehend, recorder, stubber):
    stubber.add_response("detect_toxic_content", answer(result(0.4)))

    class TimesOutOnce:
        def __init__(self) -> None:
            self.timed_out = False

        def detect_toxic_content(self, **params: Any) -> Any:
            if not self.timed_out:
                self.timed_out = True
                raise ReadTimeoutError(endpoint_url="https://comprehend.us-east-1.amazonaws.com/")
            return comprehend.detect_toxic_content(**params)

    assert scorer_for(TimesOutOnce(), recorder).assess("", "hello").score == 0.4
    assert recorder.sleeps == [0.2]


def test_no_retry_is_started_that_would_overrun_the_time_budget(comprehend, recorder, stubber):
    stubber.add_client_error("detect_toxic_content", "ThrottlingException", http_status_code=400)
    stubber.add_client_error("detect_toxic_content", "ThrottlingException", http_status_code=400)

    risk = scorer_for(comprehend, recorder, time_budget_seconds=0.5).assess("", "hello")

    assert risk.error == "ThrottlingException"
    assert recorder.sleeps == [0.2]  # 0.2 + 0.4 would pass 0.5 s


def test_an_answer_that_does_not_match_the_segments_is_an_error(comprehend, recorder, stubber):
    stubber.add_response("detect_toxic_content", answer(result(0.1), result(0.2)))

    assert scorer_for(comprehend, recorder).assess("", "hello").error == toxicity.UNEXPECTED_RESPONSE_ERROR


def test_the_model_name_is_the_one_the_composition_root_gives(comprehend, recorder, stubber):
    stubber.add_response("detect_toxic_content", answer(result(0.1)))

    risk = scorer_for(comprehend, recorder, model_name="local:toxicity-classifier").assess("", "hello")

    assert risk.model == "local:toxicity-classifier"
