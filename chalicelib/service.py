"""The composition root: builds the use cases from settings, stores and AWS clients, once per process."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from chalicelib.clock import Clock, system_clock
from chalicelib.config import (
    DEFAULT_APPEAL_WINDOW_SECONDS,
    DEFAULT_CLAIM_SECONDS,
    Settings,
    get_settings,
    reset_settings,
)
from chalicelib.integrations import aws
from chalicelib.integrations.secrets_store import clear_secret_cache, resolve_secret

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

    from chalicelib.domain.ports import (
        HistoryStore,
        Metrics,
        Notifications,
        ReviewHoldStore,
        ReviewStore,
        StatsStore,
        SubmissionStore,
        TextMessages,
        WorkflowEngine,
    )
    from chalicelib.domain.team import Identity
    from chalicelib.integrations.mailer import Mailer
    from chalicelib.integrations.notifications import ManagementClientFactory, Notifier
    from chalicelib.integrations.toxicity import ComprehendRiskScorer
    from chalicelib.integrations.webhooks import WebhookSender
    from chalicelib.stores.clients import DynamoDBClientStore
    from chalicelib.stores.connections import DynamoDBConnectionStore
    from chalicelib.stores.reviewers import DynamoDBReviewerStore
    from chalicelib.usecases.admission import AdmitSubmission
    from chalicelib.usecases.appeals import AppealRefusal
    from chalicelib.usecases.bulk_decisions import DecideInBulk
    from chalicelib.usecases.claims import CurrentReviewers, HolderCheck, ReviewClaims
    from chalicelib.usecases.decisions import DecideReview
    from chalicelib.usecases.deliveries import DeliverWebhook, RecordDeliveryFailure
    from chalicelib.usecases.intake import SubmitArticle
    from chalicelib.usecases.limits import FixedWindowLimiter, RecipientCap, StageDailyCap
    from chalicelib.usecases.outcomes import RecordOutcome
    from chalicelib.usecases.queries import ReviewQueries, SubmissionQueries
    from chalicelib.usecases.reminders import AwaitDecision, RemindReview
    from chalicelib.usecases.stats import CountEvents, PublishQueueAge, ReadStats
    from chalicelib.usecases.tasks import CheckContent, RequestApproval, RiskPolicy
    from chalicelib.usecases.websocket_sessions import WebsocketSessions

logger = logging.getLogger(__name__)

# The composition root is the only module that knows every use case, store and client. They are
# imported inside the builders, on first use rather than at import: the WebSocket handlers load the
# sessions, connections, submissions and notifier but never the moderation use cases; the REST API
# and the workflow's tasks build the use cases (content check, stores, workflow, notifier) on their
# first call.


@dataclass(frozen=True)
class OutcomeChannels:
    """How outcomes leave besides the WebSocket (e-mail, SMS, webhooks) and the caps on messages (SPEC §18)."""

    mailer: Callable[[], Mailer] | None = None
    text_messages: Callable[[], TextMessages] | None = None
    webhook_sender: Callable[[], WebhookSender | None] = lambda: None
    recipient_cap: RecipientCap | None = None
    sms_stage_cap: StageDailyCap | None = None


@dataclass(frozen=True)
class UseCases:
    """Every use case of the REST API and the workflow's tasks, built over one set of stores and clients."""

    intake: SubmitArticle
    appeals: AppealRefusal
    check: CheckContent
    approval: RequestApproval
    reminders: RemindReview
    renewal: AwaitDecision
    decisions: DecideReview
    claims: ReviewClaims
    bulk_decisions: DecideInBulk
    outcomes: RecordOutcome
    webhooks: DeliverWebhook
    delivery_failures: RecordDeliveryFailure
    submissions: SubmissionQueries
    reviews: ReviewQueries
    stats: ReadStats
    queue_age: PublishQueueAge


@dataclass(frozen=True)
class _Wiring:
    """The stores, clients and clock every use case draws on (each takes only the ones it uses)."""

    submissions: SubmissionStore
    reviews: ReviewStore
    history: HistoryStore
    workflow: WorkflowEngine
    notifier: Notifications
    clock: Clock
    count: CountEvents


@lru_cache(maxsize=1)
def use_cases() -> UseCases:
    """The process's use cases, built once from the settings."""
    return build_use_cases()


def build_use_cases(
    *,
    workflow: WorkflowEngine | None = None,
    clock: Clock = system_clock,
    management_clients: ManagementClientFactory | None = None,
) -> UseCases:
    """The use cases over the configured tables.

    Tests pass their own workflow client, clock or ``management_clients`` (endpoint -> client
    that posts to WebSocket connections; moto's never answers GoneException, a test's can).
    """
    from chalicelib.integrations.workflow import StepFunctionsWorkflow
    from chalicelib.metrics import EmbeddedMetrics
    from chalicelib.stores.history import DynamoDBHistoryStore
    from chalicelib.stores.review_holds import DynamoDBReviewHoldStore
    from chalicelib.stores.reviews import DynamoDBReviewStore
    from chalicelib.stores.stats import DynamoDBStatsStore
    from chalicelib.stores.submissions import DynamoDBSubmissionStore

    settings = get_settings()
    return compose_use_cases(
        submissions=DynamoDBSubmissionStore(aws.table(settings.submissions_table)),
        reviews=DynamoDBReviewStore(aws.table(settings.reviews_table)),
        holds=DynamoDBReviewHoldStore(aws.table(settings.reviews_table)),
        current_reviewers=lambda names: reviewers().existing(names),
        claim_seconds=settings.claim_seconds,
        history=DynamoDBHistoryStore(aws.table(settings.history_table)),
        stats_store=DynamoDBStatsStore(aws.table(settings.stats_table)),
        metrics=EmbeddedMetrics(stage=settings.stage),
        workflow=workflow or StepFunctionsWorkflow(aws.client("stepfunctions"), settings.state_machine_arn),
        notifier=_notifier(settings, management_clients or management_client),
        word_list_source=lambda: configured_words(settings),
        risk_policy=_risk_policy(settings),
        link_secret=link_signing_secret,
        review_timeout_seconds=settings.review_timeout_seconds,
        appeal_window_seconds=settings.appeal_window_seconds,
        review_reminder_seconds=settings.review_reminder_seconds,
        clock=clock,
        channels=OutcomeChannels(
            mailer=lambda: _mailer(settings),
            text_messages=_text_messenger,
            webhook_sender=lambda: webhook_sender(settings),
            recipient_cap=_recipient_cap(settings, clock),
            sms_stage_cap=_sms_stage_cap(settings, clock),
        ),
        rejection_categories=settings.rejection_categories,
    )


def compose_use_cases(
    *,
    submissions: SubmissionStore,
    reviews: ReviewStore,
    holds: ReviewHoldStore,
    history: HistoryStore,
    stats_store: StatsStore,
    metrics: Metrics,
    workflow: WorkflowEngine,
    notifier: Notifications,
    word_list_source: Callable[[], list[str]],
    link_secret: Callable[[], str],
    review_timeout_seconds: int,
    clock: Clock,
    appeal_window_seconds: int = DEFAULT_APPEAL_WINDOW_SECONDS,
    review_reminder_seconds: int = 0,
    risk_policy: RiskPolicy | None = None,
    channels: OutcomeChannels | None = None,
    rejection_categories: tuple[str, ...] | None = None,
    current_reviewers: CurrentReviewers = lambda names: names,
    claim_seconds: int = DEFAULT_CLAIM_SECONDS,
) -> UseCases:
    """Wire each use case to only what it uses (the unit tests pass in-memory fakes of the ports)."""
    wiring = _Wiring(
        submissions=submissions,
        reviews=reviews,
        history=history,
        workflow=workflow,
        notifier=notifier,
        clock=clock,
        count=_count_events(stats_store, metrics),
    )
    intake, check, approval = _use_cases_before_a_decision(
        wiring,
        word_list_source=word_list_source,
        link_secret=link_secret,
        risk_policy=risk_policy,
        review_timeout_seconds=review_timeout_seconds,
        review_reminder_seconds=review_reminder_seconds,
    )
    channels = channels or OutcomeChannels()
    outcomes, webhooks, delivery_failures = _outcome_use_cases(wiring, channels)
    return UseCases(
        intake=intake,
        appeals=_appeal_refusal(
            wiring, review_timeout_seconds=review_timeout_seconds, appeal_window_seconds=appeal_window_seconds
        ),
        check=check,
        approval=approval,
        **_reminder_use_cases(wiring, webhook_sender=channels.webhook_sender),
        **_deciding_use_cases(wiring, holds, current_reviewers, claim_seconds, rejection_categories),
        outcomes=outcomes,
        webhooks=webhooks,
        delivery_failures=delivery_failures,
        **_queries(wiring, stats_store=stats_store, metrics=metrics),
    )


class _Reminders(TypedDict):
    reminders: RemindReview
    renewal: AwaitDecision


def _reminder_use_cases(wiring: _Wiring, *, webhook_sender: Callable[[], WebhookSender | None]) -> _Reminders:
    """The due-soon announcement, and the second wait's hand-over of a decision claimed on the first token."""
    from chalicelib.usecases.reminders import AwaitDecision, RemindReview

    return _Reminders(
        reminders=RemindReview(
            reviews=wiring.reviews,
            history=wiring.history,
            notifier=wiring.notifier,
            webhook_sender=webhook_sender,
            clock=wiring.clock,
        ),
        renewal=AwaitDecision(reviews=wiring.reviews, workflow=wiring.workflow),
    )


class _Queries(TypedDict):
    submissions: SubmissionQueries
    reviews: ReviewQueries
    stats: ReadStats
    queue_age: PublishQueueAge


def _queries(wiring: _Wiring, *, stats_store: StatsStore, metrics: Metrics) -> _Queries:
    """What the API reads: submissions, reviews, the team's stats, and the queue's age (a metric)."""
    from chalicelib.usecases.queries import ReviewQueries, SubmissionQueries
    from chalicelib.usecases.stats import PublishQueueAge, ReadStats

    reviews, clock = wiring.reviews, wiring.clock
    return _Queries(
        submissions=SubmissionQueries(submissions=wiring.submissions, history=wiring.history),
        reviews=ReviewQueries(reviews=reviews, submissions=wiring.submissions, clock=clock),
        stats=ReadStats(stats_store=stats_store, reviews=reviews, clock=clock),
        queue_age=PublishQueueAge(reviews=reviews, metrics=metrics, clock=clock),
    )


def _appeal_refusal(wiring: _Wiring, *, review_timeout_seconds: int, appeal_window_seconds: int) -> AppealRefusal:
    """The submitter's appeal: a new execution of the same state machine, with its own review."""
    from chalicelib.usecases.appeals import AppealRefusal

    return AppealRefusal(
        submissions=wiring.submissions,
        history=wiring.history,
        workflow=wiring.workflow,
        notifier=wiring.notifier,
        review_timeout_seconds=review_timeout_seconds,
        appeal_window_seconds=appeal_window_seconds,
        clock=wiring.clock,
        count=wiring.count,
    )


def _count_events(stats_store: StatsStore, metrics: Metrics) -> CountEvents:
    from chalicelib.usecases.stats import CountEvents

    return CountEvents(stats_store=stats_store, metrics=metrics)


class _Deciding(TypedDict):
    decisions: DecideReview
    claims: ReviewClaims
    bulk_decisions: DecideInBulk


def _deciding_use_cases(
    wiring: _Wiring,
    holds: ReviewHoldStore,
    current_reviewers: CurrentReviewers,
    claim_seconds: int,
    categories: tuple[str, ...] | None = None,
) -> _Deciding:
    """Single decisions, reviewers' claims (which only the holder's decision passes) and bulk decisions.

    ``current_reviewers`` says which names are still reviewers (a removed one's claim stops
    counting; by default every name is one).
    """
    from chalicelib.usecases.bulk_decisions import DecideInBulk
    from chalicelib.usecases.claims import HolderCheck, ReviewClaims

    holder_check = HolderCheck(holds=holds, current_reviewers=current_reviewers)
    decisions = _decide_review(wiring, holder_check, categories)
    claims = ReviewClaims(
        reviews=wiring.reviews,
        holds=holds,
        history=wiring.history,
        notifier=wiring.notifier,
        holder_check=holder_check,
        claim_seconds=claim_seconds,
        clock=wiring.clock,
    )
    return _Deciding(decisions=decisions, claims=claims, bulk_decisions=DecideInBulk(decisions=decisions))


def _decide_review(wiring: _Wiring, holder_check: HolderCheck, categories: tuple[str, ...] | None) -> DecideReview:
    """A reviewer's decision (refused while another reviewer holds the review; a rejection names one of
    ``categories``, by default SPEC §15's), and the resumption of its execution."""
    from chalicelib.domain.review import DEFAULT_REJECTION_CATEGORIES
    from chalicelib.usecases.decisions import DecideReview, ResumeExecution

    resumer = ResumeExecution(
        reviews=wiring.reviews,
        submissions=wiring.submissions,
        history=wiring.history,
        workflow=wiring.workflow,
        notifier=wiring.notifier,
        clock=wiring.clock,
        count=wiring.count,
    )
    return DecideReview(
        reviews=wiring.reviews,
        resumer=resumer,
        clock=wiring.clock,
        holder_check=holder_check,
        categories=categories or DEFAULT_REJECTION_CATEGORIES,
    )


def _use_cases_before_a_decision(
    wiring: _Wiring,
    *,
    word_list_source: Callable[[], list[str]],
    link_secret: Callable[[], str],
    risk_policy: RiskPolicy | None,
    review_timeout_seconds: int,
    review_reminder_seconds: int,
) -> tuple[SubmitArticle, CheckContent, RequestApproval]:
    """Intake and the workflow's tasks before a decision; without a risk policy the risk check is off."""
    from chalicelib.config import DEFAULT_RISK_REVIEW_THRESHOLD
    from chalicelib.usecases.intake import SubmitArticle
    from chalicelib.usecases.tasks import CheckContent, RequestApproval, RiskPolicy
    from chalicelib.web.links import decision_paths

    check = CheckContent(
        submissions=wiring.submissions,
        history=wiring.history,
        word_list_source=word_list_source,
        risk_policy=risk_policy or RiskPolicy(scorer=None, review_threshold=DEFAULT_RISK_REVIEW_THRESHOLD),
        clock=wiring.clock,
        count=wiring.count,
    )
    approval = RequestApproval(
        submissions=wiring.submissions,
        reviews=wiring.reviews,
        history=wiring.history,
        workflow=wiring.workflow,
        notifier=wiring.notifier,
        decision_paths=decision_paths(link_secret),
        review_timeout_seconds=review_timeout_seconds,
        clock=wiring.clock,
    )
    intake = SubmitArticle(
        submissions=wiring.submissions,
        history=wiring.history,
        workflow=wiring.workflow,
        review_timeout_seconds=review_timeout_seconds,
        review_reminder_seconds=review_reminder_seconds,
        clock=wiring.clock,
        count=wiring.count,
    )
    return intake, check, approval


def _outcome_use_cases(
    wiring: _Wiring, channels: OutcomeChannels
) -> tuple[RecordOutcome, DeliverWebhook, RecordDeliveryFailure]:
    """The final task and the deliveries after it (no SMS without a sender: the unit tests' worlds)."""
    from chalicelib.usecases.deliveries import DeliverWebhook, RecordDeliveryFailure
    from chalicelib.usecases.outcomes import OutcomeEmail, RecordOutcome
    from chalicelib.usecases.text_messages import OutcomeTextMessage

    sms = None
    if channels.text_messages is not None:
        sms = OutcomeTextMessage(
            submissions=wiring.submissions,
            history=wiring.history,
            sender=channels.text_messages,
            clock=wiring.clock,
            count=wiring.count,
            recipient_cap=channels.recipient_cap,
            stage_cap=channels.sms_stage_cap,
        )

    record = RecordOutcome(
        submissions=wiring.submissions,
        reviews=wiring.reviews,
        history=wiring.history,
        notifier=wiring.notifier,
        email=OutcomeEmail(
            submissions=wiring.submissions,
            history=wiring.history,
            mailer=channels.mailer,
            clock=wiring.clock,
            count=wiring.count,
            recipient_cap=channels.recipient_cap,
        ),
        webhook_sender=channels.webhook_sender,
        clock=wiring.clock,
        count=wiring.count,
        sms=sms,
    )
    return (
        record,
        DeliverWebhook(history=wiring.history, webhook_sender=channels.webhook_sender, clock=wiring.clock),
        RecordDeliveryFailure(history=wiring.history, clock=wiring.clock, count=wiring.count),
    )


@lru_cache(maxsize=1)
def websocket_sessions() -> WebsocketSessions:
    from chalicelib.stores.submissions import DynamoDBSubmissionStore
    from chalicelib.usecases.websocket_sessions import WebsocketSessions

    settings = get_settings()
    return WebsocketSessions(
        connections=_connection_store(settings),
        submissions=DynamoDBSubmissionStore(aws.table(settings.submissions_table)),
        identify=identify,
        notifier=_notifier(settings, management_client),
        clock=system_clock,
    )


@lru_cache(maxsize=1)
def reviewers() -> DynamoDBReviewerStore:
    from chalicelib.stores.reviewers import DynamoDBReviewerStore

    return DynamoDBReviewerStore(aws.table(get_settings().reviewers_table))


@lru_cache(maxsize=1)
def clients() -> DynamoDBClientStore:
    """The platform clients, kept in the reviewers table (partitions of their own)."""
    from chalicelib.stores.clients import DynamoDBClientStore

    return DynamoDBClientStore(aws.table(get_settings().reviewers_table))


@lru_cache(maxsize=1)
def admission() -> AdmitSubmission:
    """Who may submit: built apart from the use cases, so a refused request builds nothing else."""
    from chalicelib.metrics import EmbeddedMetrics
    from chalicelib.stores.stats import DynamoDBStatsStore
    from chalicelib.usecases.admission import AdmitSubmission, SubmissionLimits
    from chalicelib.usecases.stats import CountEvents

    settings = get_settings()
    return AdmitSubmission(
        clients=clients(),
        requires_client=settings.submit_requires_client,
        limiter=_limiter(settings),
        limits=SubmissionLimits(
            anonymous_per_minute=settings.rate_limit_submissions_per_minute,
            client_per_minute=settings.client_submissions_per_minute,
        ),
        count=CountEvents(
            stats_store=DynamoDBStatsStore(aws.table(settings.stats_table)),
            metrics=EmbeddedMetrics(stage=settings.stage),
        ),
        clock=system_clock,
    )


def _limiter(settings: Settings, clock: Clock = system_clock) -> FixedWindowLimiter:
    """Fixed-window counters in the limits table (submission rates, recipient caps)."""
    from chalicelib.stores.limits import DynamoDBLimitStore
    from chalicelib.usecases.limits import FixedWindowLimiter

    return FixedWindowLimiter(store=DynamoDBLimitStore(aws.table(settings.limits_table)), clock=clock)


def _recipient_cap(settings: Settings, clock: Clock) -> RecipientCap:
    """NOTIFY_MAX_PER_RECIPIENT_PER_DAY, counted by a keyed hash under a key derived from the link-signing secret."""
    from chalicelib.usecases.limits import RecipientCap

    return RecipientCap(
        limiter=_limiter(settings, clock),
        secret=link_signing_secret,
        max_per_day=settings.notify_max_per_recipient_per_day,
    )


def _sms_stage_cap(settings: Settings, clock: Clock) -> StageDailyCap:
    """SMS_MAX_PER_DAY texts a UTC day for the whole stage."""
    from chalicelib.usecases.limits import StageDailyCap

    return StageDailyCap(limiter=_limiter(settings, clock), channel="sms", max_per_day=settings.sms_max_per_day)


def identify(token: str | None) -> Identity | None:
    """Who a Bearer token belongs to (the bootstrap admin or a reviewer), or None."""
    from chalicelib.web.auth import identify as identify_token

    return identify_token(token, admin_token=admin_token, reviewer_for=lambda token: reviewers().identify(token))


def admin_token() -> str:
    settings = get_settings()
    return resolve_secret(value=settings.admin_token, parameter=settings.admin_token_parameter, setting="ADMIN_TOKEN")


def link_signing_secret() -> str:
    settings = get_settings()
    return resolve_secret(
        value=settings.link_signing_secret,
        parameter=settings.link_signing_secret_parameter,
        setting="LINK_SIGNING_SECRET",
    )


def webhook_secret() -> str:
    """The ``whsec_…`` signing secret (WEBHOOK_SECRET locally, an SSM SecureString on AWS); never logged."""
    settings = get_settings()
    return resolve_secret(
        value=settings.webhook_secret, parameter=settings.webhook_secret_parameter, setting="WEBHOOK_SECRET"
    )


def webhook_sender(settings: Settings) -> WebhookSender | None:
    """The sender for WEBHOOK_URL, or None when no webhook is configured (then nothing is posted)."""
    from chalicelib.integrations.webhooks import WebhookSender

    if not settings.webhook_url:
        return None
    return WebhookSender(url=settings.webhook_url, secret=webhook_secret, clock=system_clock)


def _risk_policy(settings: Settings) -> RiskPolicy:
    """RISK_CHECK and its thresholds; Comprehend's client is created on the first check, not at a cold start."""
    from chalicelib.usecases.tasks import RiskPolicy

    return RiskPolicy(
        scorer=(lambda: _risk_scorer(settings.risk_model_name)) if settings.risk_check else None,
        review_threshold=settings.risk_review_threshold,
        reject_threshold=settings.risk_reject_threshold,
        categories=settings.rejection_categories,
    )


@lru_cache(maxsize=1)
def _risk_scorer(model_name: str) -> ComprehendRiskScorer:
    from chalicelib.integrations.toxicity import ComprehendRiskScorer

    return ComprehendRiskScorer(aws.client("comprehend"), model_name=model_name)


@lru_cache(maxsize=1)
def _mailer_for(sender: str | None) -> Mailer:
    from chalicelib.integrations.mailer import Mailer

    return Mailer(aws.client("ses"), sender=sender)


def _mailer(settings: Settings) -> Mailer:
    """SES's client is created on the first e-mail, not on every cold start."""
    return _mailer_for(settings.sender_email)


def rejection_categories() -> tuple[str, ...]:
    """REJECTION_CATEGORIES, in the order the dashboard offers them."""
    return get_settings().rejection_categories


@lru_cache(maxsize=1)
def _text_messenger() -> TextMessages:
    """SNS's client is created on the first text message, not on every cold start."""
    from typing import cast

    from chalicelib.integrations.sms import SnsClient, TextMessenger

    return TextMessenger(cast(SnsClient, aws.client("sns")))


def websocket_url() -> str | None:
    """The WebSocket URL submitters connect to (a plain setting, or an SSM parameter written at deploy)."""
    settings = get_settings()
    if not (settings.websocket_url or settings.websocket_url_parameter):
        return None
    try:
        return resolve_secret(
            value=settings.websocket_url, parameter=settings.websocket_url_parameter, setting="WEBSOCKET_URL"
        )
    except Exception:  # not written yet (first deploy) or SSM unreachable: a submission must not fail for it
        logger.warning("websocket URL parameter %s is unavailable", settings.websocket_url_parameter, exc_info=True)
        return None


def configured_words(settings: Settings) -> list[str]:
    """MODERATION_WORDS plus, when set, the words in MODERATION_WORDS_FILE."""
    from chalicelib.domain import content_check

    words = content_check.parse_words(settings.moderation_words)
    if settings.moderation_words_file:
        words += content_check.parse_words(Path(settings.moderation_words_file).read_text(encoding="utf-8"))
    return words


def reset() -> None:
    """Forget every cached service, client, secret and setting (tests and the local runtime)."""
    use_cases.cache_clear()
    websocket_sessions.cache_clear()
    reviewers.cache_clear()
    clients.cache_clear()
    admission.cache_clear()
    _mailer_for.cache_clear()
    _text_messenger.cache_clear()
    _risk_scorer.cache_clear()
    if _fanout_executor.cache_info().currsize:
        _fanout_executor().shutdown(wait=False, cancel_futures=True)  # idle threads exit; none is left behind
    _fanout_executor.cache_clear()
    clear_secret_cache()
    aws.reset_clients()
    reset_settings()


def _connection_store(settings: Settings) -> DynamoDBConnectionStore:
    from chalicelib.stores.connections import DynamoDBConnectionStore

    return DynamoDBConnectionStore(aws.table(settings.connections_table), ttl_seconds=settings.connection_ttl_seconds)


def management_client(endpoint: str) -> ApiGatewayManagementApiClient:
    """The API Gateway management client for one WebSocket API endpoint."""
    return aws.client("apigatewaymanagementapi", endpoint_url=endpoint, region=get_settings().region)


@lru_cache(maxsize=1)
def _fanout_executor() -> ThreadPoolExecutor:
    """The process's fan-out threads, shared by every notifier; started on first use, not at import."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.integrations.notifications import FANOUT_THREADS

    return ThreadPoolExecutor(max_workers=FANOUT_THREADS, thread_name_prefix="fanout")


def _notifier(settings: Settings, management_clients: ManagementClientFactory) -> Notifier:
    from chalicelib.integrations.notifications import FANOUT_THREADS, Notifier

    return Notifier(
        _connection_store(settings),
        management_clients,
        region=settings.region,
        endpoint_override=settings.management_endpoint,
        current_reviewers=lambda names: reviewers().existing(names),
        executor=_fanout_executor(),
        posts_at_once=FANOUT_THREADS,
    )
