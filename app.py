"""content-moderation: the Chalice adapter. Routes and handlers only parse, call chalicelib, and shape replies."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chalice.app import AuthResponse, Chalice, Rate, Response

from chalicelib import service
from chalicelib.config import get_settings
from chalicelib.errors import BadRequestError, ConfigurationError, ForbiddenError, UnauthorizedError
from chalicelib.log import configure_logging, invocation, log_event
from chalicelib.web.errors import error_reply

# Every Lambda function of this app imports this module, but each needs only part of chalicelib:
# the pages, request parsing and team modules are imported by the handlers that use them, so a
# cold start of, say, the check_content function does not pay for them (see `make bench`).
if TYPE_CHECKING:
    from chalice.app import Request

    from chalicelib.domain.connection import Connection
    from chalicelib.domain.team import Identity

app = Chalice(app_name="content-moderation")
app.experimental_feature_flags.update(["WEBSOCKETS"])
configure_logging()
# Under "chalicelib" so configure_logging's level applies (the module itself is just "app").
logger = logging.getLogger("chalicelib.app")
# The principal of a request whose token the authorizer did not recognise.
ANONYMOUS = "-"


# --- error mapping -----------------------------------------------------------------------


def _error_response(
    status_code: int, code: str, message: str, headers: dict[str, str | list[str]] | None = None
) -> Response:
    return Response(body={"error": {"code": code, "message": message}}, status_code=status_code, headers=headers)


def json_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Any error becomes the SPEC's JSON error body (mapped once, in chalicelib.web.errors)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except Exception as error:
            return _error_response(*error_reply(error, where=view.__name__), headers=_error_headers(error))

    return wrapper


def _error_headers(error: Exception) -> dict[str, str | list[str]] | None:
    """A 429 says when to come back (``Retry-After``, in seconds)."""
    from chalicelib.errors import RateLimitedError

    return {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimitedError) else None


def html_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Any error becomes an HTML page with the same status, code and message as the JSON mapping."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except Exception as error:
            from chalicelib.web import pages

            status_code, code, message = error_reply(error, where=view.__name__)
            return _html(pages.message_page("Error" if code == "InternalError" else code, message), status_code)

    return wrapper


def _request() -> Request:
    """The request being handled (Chalice sets it before any view runs)."""
    request = app.current_request
    if request is None:  # only outside a request, e.g. a view called directly
        raise RuntimeError("no current request")
    return request


def _json_body() -> Any:
    from chalicelib.web.request_body import parse_json_body

    return parse_json_body(_request().raw_body)


@app.middleware("all")
def invocation_fields(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Every log line of an invocation carries its Lambda request id and function name (chalicelib.log).

    A REST request carries Lambda's context as ``lambda_context``; every other event as ``context``.
    """
    context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    with invocation(
        request_id=getattr(context, "aws_request_id", None), function_name=getattr(context, "function_name", None)
    ):
        return get_response(event)


@app.middleware("http")
def unsupported_media_type_in_spec_shape(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice refuses a Content-Type a route does not declare (415) before any view runs, in its own
    ``{"Code", "Message"}`` body; answer it in the SPEC's error shape instead, on AWS and locally."""
    response = get_response(event)
    if response.status_code != 415 or not isinstance(response.body, dict) or response.body.get("Code") is None:
        return response
    from chalicelib.web.request_body import unsupported_media_type

    route = app.routes.get(event.context.get("resourcePath", ""), {}).get(event.method)
    error = unsupported_media_type(event.headers.get("content-type"), route.content_types if route else ())
    return _error_response(error.status_code, error.code, error.message)


def _base_url() -> str:
    """Where links point: PUBLIC_BASE_URL, else the API Gateway stage this request came through."""
    configured = get_settings().public_base_url
    if configured:
        return configured
    context = _request().context
    return f"https://{context.get('domainName', '')}/{context.get('stage', '')}"


def _source_ip() -> str | None:
    """The caller's address as API Gateway saw it (the local REST server fills it from the socket's peer).

    Never ``X-Forwarded-For``: any client can write that header, so a limit keyed on it is no limit.
    """
    identity = _request().context.get("identity") or {}
    source_ip = identity.get("sourceIp")
    return source_ip if isinstance(source_ip, str) and source_ip else None


# --- authentication ----------------------------------------------------------------------


@app.authorizer(ttl_seconds=0)  # no cache: a revoked token is refused at its very next request
def reviewer_auth(auth_request: Any) -> AuthResponse:
    """Identify the caller from its Bearer token: the bootstrap admin or a reviewer.

    An unknown token is let through with no role and refused by :func:`reviewers_only` with
    a 401 and the SPEC's error body: a Deny policy would make API Gateway answer 403 instead.
    """
    from chalicelib.web.auth import bearer_token

    try:
        identity = service.identify(bearer_token(auth_request.token))
    except ConfigurationError as error:
        log_event(logger, "configuration.error", level=logging.ERROR, error=str(error))
        identity = None
    if identity is None:
        return AuthResponse(routes=["*"], principal_id=ANONYMOUS, context={"role": ""})
    return AuthResponse(routes=["*"], principal_id=identity.name, context={"role": identity.role})


def reviewers_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse (401, nothing changed) any caller the authorizer did not identify."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _caller()
        return view(*args, **kwargs)

    return wrapper


def admins_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse unknown callers (401) and reviewers without the admin role (403); nothing changes."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _caller().is_admin:
            raise ForbiddenError("this route needs the admin role")
        return view(*args, **kwargs)

    return wrapper


def _caller() -> Identity:
    """Who the authorizer identified; UnauthorizedError when nobody."""
    from chalicelib.domain.team import ROLES, Identity

    context = _request().context.get("authorizer") or {}
    role = context.get("role")
    if role not in ROLES:
        raise UnauthorizedError("a valid Bearer token is required")
    return Identity(name=context["principalId"], role=role)


# --- REST API ----------------------------------------------------------------------------


@app.route("/", methods=["GET"])
def submit_page() -> Response:
    """The submit form; it then follows the submission live over the WebSocket."""
    return _html_page("submit.html")


@app.route("/admin", methods=["GET"])
def admin_page() -> Response:
    """The reviewers' dashboard; it holds no data itself and calls the API with the reviewer's own token."""
    return _html_page("admin.html")


def _html_page(name: str) -> Response:
    """A static HTML page naming its scripts under this request's stage (``/api/static/…`` on stage api)."""
    from chalicelib.web import pages

    context = _request().context
    base_path = pages.stage_base_path(stage=context.get("stage"), request_path=context.get("path", ""))
    return _html(pages.page(name, base_path=base_path), 200)


@app.route("/static/{name}", methods=["GET"])
@json_errors
def static_file(name: str) -> Response:
    """The pages' scripts and styles (the CSP allows no inline ones); names outside the allow-list get 404."""
    from chalicelib.web import pages

    served = pages.static_file(name)
    headers: dict[str, str | list[str]] = {
        "Content-Type": served.content_type,
        "Cache-Control": pages.STATIC_CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body=served.content, status_code=200, headers=headers)


@app.route("/websocket-url", methods=["GET"])
def websocket_url() -> dict[str, str | None]:
    """Where the pages' WebSocket is (the dashboard's live queue learns it here; submitters get it on submit)."""
    return {"websocketUrl": service.websocket_url()}


@app.route("/rejection-categories", methods=["GET"])
def rejection_categories() -> dict[str, Any]:
    """The categories a rejection may name (REJECTION_CATEGORIES, in order) and the one it gets without any."""
    from chalicelib.domain.review import DEFAULT_CATEGORY

    return {"items": list(service.rejection_categories()), "default": DEFAULT_CATEGORY}


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/openapi.json", methods=["GET"])
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this REST API, a static file (tests check it against these routes)."""
    from chalicelib.web import pages

    return Response(body=pages.static_page("openapi.json"), headers={"Content-Type": "application/json"})


@app.route("/submissions", methods=["POST"])
@json_errors
def submit() -> Response:
    """Public, with no authorizer (API Gateway would refuse anonymous callers): a platform client's
    token is checked here instead, before anything is parsed, stored or started."""
    from chalicelib.web.auth import bearer_token
    from chalicelib.web.requests import parse_article_request

    headers = _request().headers
    authorization = headers.get("authorization")
    submitted_by = service.admission().admit(
        token=bearer_token(authorization), presented=authorization is not None, source_ip=_source_ip()
    )
    article = parse_article_request(_json_body(), sms_prefixes=get_settings().sms_allowed_prefixes)
    submission, token = service.use_cases().intake.accept(
        article, idempotency_key=headers.get("idempotency-key"), submitted_by=submitted_by
    )
    body = {
        "submissionId": submission.submission_id,
        "status": submission.status,
        "websocketUrl": service.websocket_url(),
    }
    if token is not None:  # shown once: a replay of the same Idempotency-Key gets no token
        body["submitterToken"] = token
    return Response(body=body, status_code=202)


@app.route("/submissions/{submission_id}", methods=["GET"])
@json_errors
def get_submission(submission_id: str) -> dict[str, Any]:
    from chalicelib.web.presenters import present_submission

    return present_submission(service.use_cases().submissions.get_submission(submission_id))


@app.route("/submissions/{submission_id}/appeal", methods=["POST"])
@json_errors
def appeal(submission_id: str) -> Response:
    """The submitter's appeal; its ``Authorization: Bearer`` is the submitter token, checked by the use case."""
    from chalicelib.web.auth import bearer_token
    from chalicelib.web.requests import parse_appeal_request

    message = parse_appeal_request(_json_body())
    submission, appeal = service.use_cases().appeals.appeal(
        submission_id, token=bearer_token(_request().headers.get("authorization")), message=message
    )
    body = {"submissionId": submission.submission_id, "status": submission.status, "appealId": appeal.appeal_id}
    return Response(body=body, status_code=202)


@app.route("/submissions/{submission_id}/history", methods=["GET"], authorizer=reviewer_auth)
@json_errors
@reviewers_only
def submission_history(submission_id: str) -> dict[str, Any]:
    from chalicelib.web.presenters import present_event

    events = service.use_cases().submissions.history(submission_id)
    return {"submissionId": submission_id, "items": [present_event(event) for event in events]}


@app.route("/reviews", methods=["GET"], authorizer=reviewer_auth)
@json_errors
@reviewers_only
def list_reviews() -> dict[str, Any]:
    from chalicelib.web.presenters import present_review
    from chalicelib.web.requests import parse_review_listing

    params: Mapping[str, str] = _request().query_params or {}
    reviews, next_token = service.use_cases().reviews.list_reviews(parse_review_listing(params))
    base_url = _base_url()
    page: dict[str, Any] = {"items": [present_review(review, base_url) for review in reviews]}
    if next_token:
        page["nextToken"] = next_token
    return page


@app.route("/reviews/{review_id}", methods=["GET"], authorizer=reviewer_auth)
@json_errors
@reviewers_only
def get_review(review_id: str) -> dict[str, Any]:
    from chalicelib.web.presenters import present_review

    review, body = service.use_cases().reviews.get_review_in_full(review_id)
    return present_review(review, _base_url(), body=body)


@app.route("/reviews/{review_id}/approve", methods=["POST"], authorizer=reviewer_auth)
@json_errors
@reviewers_only
def approve(review_id: str) -> dict[str, Any]:
    return _decide(review_id, "approve")


@app.route("/reviews/{review_id}/reject", methods=["POST"], authorizer=reviewer_auth)
@json_errors
@reviewers_only
def reject(review_id: str) -> dict[str, Any]:
    return _decide(review_id, "reject")


def _decide(review_id: str, action: str) -> dict[str, Any]:
    from chalicelib.web.requests import parse_decision_request

    request = parse_decision_request(_json_body())
    review = service.use_cases().decisions.decide(
        review_id,
        action=action,
        reason=request.reason,
        category=request.category,
        decided_by=_caller().name,
        idempotency_key=_request().headers.get("idempotency-key"),
    )
    return {"reviewId": review.review_id, "decision": review.decision, "decidedBy": review.decided_by}


@app.route("/reviews/{review_id}/claim", methods=["POST"], authorizer=reviewer_auth)
@json_errors
@reviewers_only
def claim_review(review_id: str) -> dict[str, Any]:
    """Hold the review while reading it (SPEC §14); the holder claiming again renews it."""
    from chalicelib.web.presenters import present_claim

    return present_claim(service.use_cases().claims.claim(review_id, reviewer=_caller().name))


@app.route("/reviews/{review_id}/claim", methods=["DELETE"], authorizer=reviewer_auth)
@json_errors
@reviewers_only
def release_review(review_id: str) -> Response:
    """Give a claim back (the holder, or an admin for anyone's)."""
    caller = _caller()
    service.use_cases().claims.release(review_id, reviewer=caller.name, is_admin=caller.is_admin)
    return Response(body="", status_code=204)


@app.route("/reviews/decisions", methods=["POST"], authorizer=reviewer_auth)
@json_errors
@reviewers_only
def decide_in_bulk() -> dict[str, Any]:
    """Up to 50 decisions, one result each in order; a malformed batch is 400 and decides nothing."""
    from chalicelib.web.presenters import present_decision_result
    from chalicelib.web.requests import parse_bulk_decisions

    items = parse_bulk_decisions(_json_body())
    results = service.use_cases().bulk_decisions.decide_all(
        items, decided_by=_caller().name, idempotency_key=_request().headers.get("idempotency-key")
    )
    return {"results": [present_decision_result(result) for result in results]}


@app.route("/stats", methods=["GET"], authorizer=reviewer_auth)
@json_errors
@reviewers_only
def stats() -> dict[str, Any]:
    """The team's figures, read from counters kept as events happen (never a Scan)."""
    from chalicelib.web.presenters import present_stats

    return present_stats(service.use_cases().stats.read())


# --- the moderation team ---------------------------------------------------------------


@app.route("/reviewers", methods=["POST"], authorizer=reviewer_auth)
@json_errors
@admins_only
def create_reviewer() -> Response:
    from chalicelib.web.requests import parse_new_reviewer

    reviewer, token = service.reviewers().create(parse_new_reviewer(_json_body()), created_by=_caller().name)
    body = {"name": reviewer.name, "role": reviewer.role, "token": token, "createdAt": reviewer.created_at}
    return Response(body=body, status_code=201)


@app.route("/reviewers", methods=["GET"], authorizer=reviewer_auth)
@json_errors
@admins_only
def list_reviewers() -> dict[str, Any]:
    from chalicelib.web.presenters import present_reviewer

    return {"items": [present_reviewer(reviewer) for reviewer in service.reviewers().list()]}


@app.route("/reviewers/{name}", methods=["DELETE"], authorizer=reviewer_auth)
@json_errors
@admins_only
def delete_reviewer(name: str) -> Response:
    from chalicelib.domain.team import validate_name

    service.reviewers().delete(validate_name(name))
    return Response(body="", status_code=204)


# --- platform clients ------------------------------------------------------------------


@app.route("/clients", methods=["POST"], authorizer=reviewer_auth)
@json_errors
@admins_only
def create_client() -> Response:
    """A platform backend's credential: its token is in this answer only (a hash is stored)."""
    from chalicelib.web.requests import parse_new_client

    client, token = service.clients().create(parse_new_client(_json_body()), created_by=_caller().name)
    return Response(body={"name": client.name, "token": token, "createdAt": client.created_at}, status_code=201)


@app.route("/clients", methods=["GET"], authorizer=reviewer_auth)
@json_errors
@admins_only
def list_clients() -> dict[str, Any]:
    from chalicelib.web.presenters import present_client

    return {"items": [present_client(client) for client in service.clients().list()]}


@app.route("/clients/{name}", methods=["DELETE"], authorizer=reviewer_auth)
@json_errors
@admins_only
def delete_client(name: str) -> Response:
    from chalicelib.domain.team import validate_name

    service.clients().delete(validate_name(name))
    return Response(body="", status_code=204)


# --- signed links ------------------------------------------------------------------------


@app.route("/reviews/{review_id}/decide", methods=["GET"])
@html_errors
def confirm_decision_page(review_id: str) -> Response:
    """Show what a signed link would do; a GET never changes anything."""
    from chalicelib.web import pages
    from chalicelib.web.links import link_query

    action = _verified_link(review_id)
    review = service.use_cases().reviews.get_review(review_id)
    query = link_query(_link_query())
    html = pages.confirmation_page(action=action, title=review.title, status=review.status, form_query=query)
    return _html(html, 200)


@app.route(
    "/reviews/{review_id}/decide",
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded", "application/json", "text/plain", "multipart/form-data"],
)
@html_errors
def decide_by_link(review_id: str) -> Response:
    from chalicelib.domain.actors import SIGNED_LINK
    from chalicelib.web import pages

    action = _verified_link(review_id)
    # A link carries no category: its rejection is "other" (the dashboard offers the categories).
    review = service.use_cases().decisions.decide(review_id, action=action, decided_by=SIGNED_LINK)
    return _html(pages.message_page("Done", f"The submission was {review.decision}."), 200)


def _link_query() -> Mapping[str, str]:
    return _request().query_params or {}


def _verified_link(review_id: str) -> str:
    from chalicelib.web.links import verify_link

    return verify_link(service.link_signing_secret(), review_id=review_id, query=_link_query())


def _html(html: str, status_code: int) -> Response:
    from chalicelib.web import pages

    return Response(
        body=html,
        status_code=status_code,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": pages.CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- WebSocket API -----------------------------------------------------------------------


def _connection(event: Any) -> Connection:
    from chalicelib.domain.connection import Connection

    context = event.to_dict()["requestContext"]
    return Connection(
        connection_id=event.connection_id,
        api_id=context.get("apiId", ""),
        stage=context.get("stage", ""),
        domain_name=context.get("domainName", ""),
    )


@app.on_ws_connect()
def websocket_connect(event: Any) -> Response | None:
    query = event.to_dict().get("queryStringParameters") or {}
    try:
        service.websocket_sessions().connect(_connection(event), submission_id=query.get("submissionId"))
    except BadRequestError as error:
        return _error_response(*error_reply(error, where="websocket_connect"))  # refuses the connection
    return None


@app.on_ws_message()
def websocket_message(event: Any) -> None:
    service.websocket_sessions().receive(_connection(event), event.body)


@app.on_ws_disconnect()
def websocket_disconnect(event: Any) -> None:
    service.websocket_sessions().disconnect(event.connection_id)


# --- Step Functions tasks ----------------------------------------------------------------


@app.lambda_function(name="check_content")
def check_content(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.use_cases().check.check(event)


@app.lambda_function(name="request_approval")
def request_approval(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("afterReminder"):  # the wait after a reminder: the same review, a new token
        return service.use_cases().renewal.renew(event)
    return service.use_cases().approval.request(event)


@app.lambda_function(name="remind_review")
def remind_review(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.use_cases().reminders.remind(event)


@app.lambda_function(name="record_outcome")
def record_outcome(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.use_cases().outcomes.record(event)


@app.lambda_function(name="deliver_webhook")
def deliver_webhook(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.use_cases().webhooks.deliver(event)


@app.lambda_function(name="record_delivery_failure")
def record_delivery_failure(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return service.use_cases().delivery_failures.record(event)


# --- scheduled -----------------------------------------------------------------------------


@app.schedule(Rate(5, unit=Rate.MINUTES), name="publish_queue_age")
def publish_queue_age(event: Any) -> dict[str, int]:
    """``OldestPendingAgeSeconds`` every 5 minutes: the metric the oldest-pending-review alarm watches."""
    return service.use_cases().queue_age.publish()
