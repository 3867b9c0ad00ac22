"""The local Comprehend DetectToxicContent (local_runtime/comprehend.py): Comprehend's shape and errors, a real model's judgment."""

from __future__ import annotations

import ast
import inspect
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ACCOUNT_ID, REGION, STAGE
from tests.local_runtime.conftest import RunningRuntime, http

ROOT = Path(__file__).resolve().parents[2]
ABUSIVE = ["you are a worthless idiot and I hate you"]
ORDINARY = [
    "how to kill a process in linux",
    "breast cancer screening saves lives",
    "new hate speech laws debated in parliament",
    "the weather is nice today",
]
REVIEW_THRESHOLD = 0.5  # SPEC §13's default RISK_REVIEW_THRESHOLD


@pytest.fixture
def comprehend(environment: None) -> Iterator[Any]:
    """A real boto3 Comprehend client on moto in this process, with the runtime's patches installed."""
    import boto3
    from moto import mock_aws

    from local_runtime.moto_hooks import install_moto_patches

    with mock_aws():
        install_moto_patches()
        yield boto3.client("comprehend", region_name=REGION)


def _unvalidated_client() -> Any:
    """A client that sends what botocore would refuse itself, as another SDK or raw HTTP could."""
    import boto3
    from botocore.config import Config

    return boto3.client("comprehend", region_name=REGION, config=Config(parameter_validation=False))


def _error_code(call: Any, **parameters: Any) -> str:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as raised:
        call(**parameters)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, raised.value.response
    return str(raised.value.response["Error"]["Code"])


def _toxicity(comprehend: Any, text: str) -> float:
    answer = comprehend.detect_toxic_content(TextSegments=[{"Text": text}], LanguageCode="en")
    return float(answer["ResultList"][0]["Toxicity"])


def test_moto_does_not_implement_detect_toxic_content_itself() -> None:
    """Fails once moto answers DetectToxicContent: then drop answer_detect_toxic_content or make it defer."""
    from moto.comprehend import models, responses

    assert "detect_toxic_content" not in inspect.getsource(responses)
    assert not hasattr(models.ComprehendBackend, "detect_toxic_content")
    method = responses.ComprehendResponse.__dict__.get("detect_toxic_content")
    assert method is None or getattr(method, "answers_locally", False), "moto's own detect_toxic_content"


def test_the_patch_is_installed_once_and_reinstalling_keeps_it(comprehend: Any) -> None:
    from moto.comprehend.responses import ComprehendResponse

    from local_runtime.comprehend import answer_detect_toxic_content

    installed = ComprehendResponse.__dict__["detect_toxic_content"]
    answer_detect_toxic_content()
    assert ComprehendResponse.__dict__["detect_toxic_content"] is installed


def test_each_segment_gets_one_result_with_comprehends_seven_labels_in_order(comprehend: Any) -> None:
    texts = [ABUSIVE[0], "the weather is nice today", "hello"]
    answer = comprehend.detect_toxic_content(TextSegments=[{"Text": text} for text in texts], LanguageCode="en")
    assert set(answer) == {"ResultList", "ResponseMetadata"}
    results = answer["ResultList"]
    assert len(results) == len(texts)
    for result in results:
        assert set(result) == {"Labels", "Toxicity"}
        assert [label["Name"] for label in result["Labels"]] == [
            "PROFANITY",
            "HATE_SPEECH",
            "INSULT",
            "GRAPHIC",
            "HARASSMENT_OR_ABUSE",
            "SEXUAL",
            "VIOLENCE_OR_THREAT",
        ]
        assert all(set(label) == {"Name", "Score"} for label in result["Labels"])
        assert all(isinstance(label["Score"], float) and 0.0 <= label["Score"] <= 1.0 for label in result["Labels"])
        assert isinstance(result["Toxicity"], float) and 0.0 <= result["Toxicity"] <= 1.0
    # In order: the abusive segment first, the two ordinary ones after it.
    assert results[0]["Toxicity"] > results[1]["Toxicity"] and results[0]["Toxicity"] > results[2]["Toxicity"]


def test_the_one_probability_scores_toxicity_profanity_and_insult_and_nothing_else(comprehend: Any) -> None:
    result = comprehend.detect_toxic_content(TextSegments=[{"Text": ABUSIVE[0]}], LanguageCode="en")["ResultList"][0]
    scores = {label["Name"]: label["Score"] for label in result["Labels"]}
    assert scores["PROFANITY"] == scores["INSULT"] == result["Toxicity"] > 0.0
    unscored = ("HATE_SPEECH", "GRAPHIC", "HARASSMENT_OR_ABUSE", "SEXUAL", "VIOLENCE_OR_THREAT")
    assert all(scores[name] == 0.0 for name in unscored)


def test_the_label_and_language_names_are_botocores() -> None:
    import botocore.session

    from local_runtime.comprehend import LABEL_NAMES, LANGUAGE_CODES

    model = botocore.session.get_session().get_service_model("comprehend")
    labels: Any = model.shape_for("ToxicContentType")
    request: Any = model.operation_model("DetectToxicContent").input_shape
    assert set(LABEL_NAMES) == set(labels.enum)
    assert list(LANGUAGE_CODES) == list(request.members["LanguageCode"].enum)


@pytest.mark.parametrize("text", ABUSIVE)
def test_plainly_abusive_text_scores_at_or_above_the_review_threshold(comprehend: Any, text: str) -> None:
    assert _toxicity(comprehend, text) >= REVIEW_THRESHOLD


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_with_alarming_words_scores_below_the_review_threshold(comprehend: Any, text: str) -> None:
    assert _toxicity(comprehend, text) < REVIEW_THRESHOLD


def test_ten_segments_of_1_kb_each_are_scored(comprehend: Any) -> None:
    segments = [{"Text": "é" * 512}] * 9 + [{"Text": "a" * 1024}]  # 1024 bytes of UTF-8 each
    answer = comprehend.detect_toxic_content(TextSegments=segments, LanguageCode="en")
    assert len(answer["ResultList"]) == 10


def test_a_segment_over_1_kb_of_utf8_is_text_size_limit_exceeded(comprehend: Any) -> None:
    segments = [{"Text": "fine"}, {"Text": "é" * 512 + "a"}]  # 513 characters, 1025 bytes
    code = _error_code(comprehend.detect_toxic_content, TextSegments=segments, LanguageCode="en")
    assert code == "TextSizeLimitExceededException"


def test_more_than_ten_segments_is_an_invalid_request(comprehend: Any) -> None:
    segments = [{"Text": "hello"}] * 11
    assert _error_code(comprehend.detect_toxic_content, TextSegments=segments, LanguageCode="en") == (
        "InvalidRequestException"
    )


@pytest.mark.parametrize("language", ["es", "fr", "zh-TW"])
def test_a_language_other_than_english_is_unsupported(comprehend: Any, language: str) -> None:
    code = _error_code(comprehend.detect_toxic_content, TextSegments=[{"Text": "hola"}], LanguageCode=language)
    assert code == "UnsupportedLanguageException"


def test_a_language_code_outside_the_models_enum_is_a_validation_error(comprehend: Any) -> None:
    code = _error_code(comprehend.detect_toxic_content, TextSegments=[{"Text": "hello"}], LanguageCode="xx")
    assert code == "ValidationException"


@pytest.mark.parametrize(
    "parameters",
    [
        {"TextSegments": [], "LanguageCode": "en"},
        {"TextSegments": [{"Text": ""}], "LanguageCode": "en"},
        {"TextSegments": [{"Text": "hello"}, {}], "LanguageCode": "en"},
        {"LanguageCode": "en"},
        {"TextSegments": [{"Text": "hello"}]},
    ],
    ids=["no-segments", "empty-text", "segment-without-text", "no-segments-member", "no-language"],
)
def test_a_request_outside_the_service_model_is_a_validation_error(comprehend: Any, parameters: dict[str, Any]) -> None:
    from botocore.exceptions import ParamValidationError

    # boto3 refuses these before sending, on AWS as locally: the app sees ParamValidationError.
    with pytest.raises(ParamValidationError):
        comprehend.detect_toxic_content(**parameters)
    # A client that sends them anyway gets the service's answer.
    assert _error_code(_unvalidated_client().detect_toxic_content, **parameters) == "ValidationException"


def test_a_member_of_the_wrong_json_type_is_a_serialization_error(comprehend: Any) -> None:
    code = _error_code(_unvalidated_client().detect_toxic_content, TextSegments=[{"Text": 42}], LanguageCode="en")
    assert code == "SerializationException"


def test_a_caller_without_comprehend_detect_toxic_content_is_refused(comprehend: Any) -> None:
    """The action goes through moto's IAM check like any other: a policy without it is AccessDenied."""
    import json

    import boto3
    from botocore.exceptions import ClientError
    from moto.iam.models import iam_backends

    from local_runtime.iam_enforcement import APP_USER, enforce_deployed_policy, stop_enforcing
    from local_runtime.sigv4 import AwsCredentials

    def allowing(action: str) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}

    segments = [{"Text": "hello"}]
    try:
        credentials = enforce_deployed_policy(
            stage=STAGE,
            region=REGION,
            account_id=ACCOUNT_ID,
            runtime_credentials=AwsCredentials.generate(),
            policy=allowing("comprehend:DetectSentiment"),
        )
        client = boto3.client(
            "comprehend",
            region_name=REGION,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
        )
        with pytest.raises(ClientError) as refused:
            client.detect_toxic_content(TextSegments=segments, LanguageCode="en")
        # moto writes its IAM refusal as XML even for a JSON service, so botocore reads no code from
        # it (AWS answers AccessDeniedException); the status and the body still say what happened.
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert "<Code>AccessDenied</Code>" in refused.value.response["Error"]["Message"]
        iam = iam_backends[ACCOUNT_ID]["aws"]
        iam.put_user_policy(
            APP_USER.format(stage=STAGE),
            "deployed-lambda-policy",
            json.dumps(allowing("comprehend:DetectToxicContent")),
        )
        assert len(client.detect_toxic_content(TextSegments=segments, LanguageCode="en")["ResultList"]) == 1
    finally:
        stop_enforcing()


class _SlowLoadRecorder:
    """Stands in for loading the model: records each load and takes long enough for threads to race."""

    def __init__(self) -> None:
        self.loads = 0

    def __call__(self) -> Any:
        self.loads += 1
        time.sleep(0.2)

        def predict(texts: Sequence[str]) -> list[float]:
            return [0.25 for _ in texts]

        return predict


def test_the_model_loads_once_however_many_threads_ask_first() -> None:
    from local_runtime.comprehend import LocalClassifier

    recorder = _SlowLoadRecorder()
    classifier = LocalClassifier(load=recorder)
    assert not classifier.loaded
    answers: list[list[float]] = []
    threads = [threading.Thread(target=lambda: answers.append(classifier.probabilities(["a", "b"]))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert recorder.loads == 1
    assert answers == [[0.25, 0.25]] * 8
    assert classifier.loaded


def test_the_aws_port_answers_a_signed_detect_toxic_content(runtime: RunningRuntime) -> None:
    """What ``aws --endpoint-url … comprehend detect-toxic-content`` sends, signed with the banner's credentials."""
    client = runtime.boto3_client("comprehend")
    answer = client.detect_toxic_content(
        TextSegments=[{"Text": ABUSIVE[0]}, {"Text": "the weather is nice today"}], LanguageCode="en"
    )
    results = answer["ResultList"]
    assert [len(result["Labels"]) for result in results] == [7, 7]
    assert results[0]["Toxicity"] >= REVIEW_THRESHOLD > results[1]["Toxicity"]
    assert _error_code(client.detect_toxic_content, TextSegments=[{"Text": "hola"}], LanguageCode="es") == (
        "UnsupportedLanguageException"
    )
    # Unsigned, the same request never reaches moto.
    unsigned = http(
        "POST",
        f"{runtime.moto_url}/",
        {"TextSegments": [{"Text": "hello"}], "LanguageCode": "en"},
        {"X-Amz-Target": "Comprehend_20171127.DetectToxicContent"},
    )
    assert unsigned.status == 403, unsigned


# What must never be imported by the code that ships to Lambda (requirements-dev.txt only).
_LOCAL_ONLY_MODULES = ("local_runtime", "profanity_check", "sklearn", "joblib", "numpy", "scipy")


def _imported_modules(path: Path) -> set[str]:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in (
            "import_module",
            "__import__",
        ):
            imported.update(
                argument.value
                for argument in node.args[:1]
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str)
            )
    return imported


def test_nothing_shipped_to_lambda_imports_the_local_classifier() -> None:
    sources = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    assert len(sources) > 10
    offending = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in sources
        for module in _imported_modules(path)
        if module.split(".")[0] in _LOCAL_ONLY_MODULES
    }
    assert not offending, sorted(offending)
