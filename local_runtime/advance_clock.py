"""``python -m local_runtime.advance_clock SECONDS``: move the running local runtime's Step Functions clock ahead.

Sends ``POST /_local/clock/advance`` to the runtime's AWS endpoint, SigV4-signed with the
credentials its banner prints (``export AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=…``), so no
AWS CLI or hand-made signature is needed. Waiting tasks whose deadline that reaches (a review
nobody decided, for one) time out now; the app's own clock (signed-link ``expires``) does not move.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from local_runtime.clock_control import ADVANCE_PATH, MAX_ADVANCE_SECONDS

DEFAULT_AWS_PORT = 8003
DEFAULT_REGION = "us-east-1"
HTTP_TIMEOUT_SECONDS = 30


class AdvanceRefused(Exception):
    """The runtime refused or could not be reached; the message says what to do."""


def advance(seconds: float, *, endpoint_url: str, access_key_id: str, secret_access_key: str) -> dict[str, Any]:
    """Advance the runtime's interpreter clock; its answer (``advancedSeconds``, ``offsetSeconds``, ``timedOut``, ``waiting``).

    Raises AdvanceRefused when the runtime answers with an error or cannot be reached.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = endpoint_url.rstrip("/") + ADVANCE_PATH
    body = json.dumps({"seconds": seconds}).encode()
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(access_key_id, secret_access_key), "states", DEFAULT_REGION).add_auth(request)
    http_request = urllib.request.Request(url, data=body, method="POST", headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(http_request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as error:
        detail = _error_message(error.read())
        hint = (
            " (sign with the credentials the runtime printed: its `export AWS_ACCESS_KEY_ID=...` line)"
            if error.code == 403
            else ""
        )
        raise AdvanceRefused(f"the runtime refused the advance: {error.code} {detail}{hint}") from None
    except OSError as error:
        raise AdvanceRefused(f"cannot reach the local runtime at {endpoint_url}: {error}") from None


def _error_message(raw: bytes) -> str:
    try:
        return str(json.loads(raw).get("message", ""))
    except (ValueError, AttributeError):
        return raw.decode("utf-8", "replace")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= MAX_ADVANCE_SECONDS:
        raise argparse.ArgumentTypeError(f"seconds must be more than 0 and at most {MAX_ADVANCE_SECONDS}")
    return value


def build_parser(
    environ: Mapping[str, str] = os.environ, *, prog: str = "python -m local_runtime.advance_clock"
) -> argparse.ArgumentParser:
    """The command's one argument and one option; ``--help`` lists the environment it reads."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="""Move the local runtime's Step Functions clock ahead, so waiting tasks (reviews) reach their
deadline now. The app's own clock is not moved. Signs with AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, as exported from the runtime's banner.""",
        epilog=f"""environment variables:
  AWS_ACCESS_KEY_ID      the key the runtime's banner exports [required]
  AWS_SECRET_ACCESS_KEY  its secret [required]
  AWS_PORT               the runtime's AWS endpoint port, for the default --endpoint-url [{DEFAULT_AWS_PORT}]""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("seconds", type=_seconds, help="how far to advance, in seconds (604800 = 7 days)")
    parser.add_argument(
        "--endpoint-url",
        default=f"http://127.0.0.1:{environ.get('AWS_PORT') or DEFAULT_AWS_PORT}",
        help="the runtime's AWS endpoint (default: http://127.0.0.1:$AWS_PORT, port 8003 when unset)",
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] = os.environ,
    *,
    prog: str = "python -m local_runtime.advance_clock",
) -> int:
    """Run the command; 0 on success, 1 when the runtime refuses or is unreachable, 2 for bad arguments."""
    parser = build_parser(environ, prog=prog)
    arguments = parser.parse_args(argv)
    access_key_id = environ.get("AWS_ACCESS_KEY_ID")
    secret_access_key = environ.get("AWS_SECRET_ACCESS_KEY")
    if not access_key_id or not secret_access_key:
        print(
            "advance_clock: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY first: paste the "
            "`export ...` line the local runtime printed",
            file=sys.stderr,
        )
        return 1
    try:
        answer = advance(
            arguments.seconds,
            endpoint_url=arguments.endpoint_url,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
        )
    except AdvanceRefused as refused:
        print(f"advance_clock: {refused}", file=sys.stderr)
        return 1
    print(
        f"Step Functions clock advanced by {answer['advancedSeconds']:g} s "
        f"(now {answer['offsetSeconds']:g} s ahead of real time): "
        f"{answer['timedOut']} waiting task(s) timed out, {answer['waiting']} still waiting"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
