"""Admission: who may submit (SPEC §18). A platform client's token names it; a wrong one is never anonymous."""

from __future__ import annotations

import logging

from chalicelib.domain.clients import CLIENT_TOKEN_PREFIX
from chalicelib.domain.ports import ClientStore
from chalicelib.errors import UnauthorizedError
from chalicelib.log import log_event

logger = logging.getLogger(__name__)


class AdmitSubmission:
    """Decides, before anything is parsed or stored, whether ``POST /submissions`` may go on, and for whom."""

    def __init__(self, *, clients: ClientStore, requires_client: bool) -> None:
        self._clients = clients
        self._requires_client = requires_client

    def admit(self, *, token: str | None, presented: bool) -> str | None:
        """The submitting client's name, or None for an anonymous submission.

        ``presented``: the request carried an ``Authorization`` header (``token`` is its Bearer
        token, if it had one). Raises UnauthorizedError for a credential that is not a current
        client's token (a reviewer's, a revoked or a made-up one), and for an anonymous caller
        when SUBMIT_REQUIRES_CLIENT is on.
        """
        if not presented:
            if self._requires_client:
                raise UnauthorizedError("submissions need a platform client's Bearer token")
            return None
        # Only tokens with the client prefix are looked up: a guess costs no DynamoDB read.
        name = self._clients.identify(token) if token and token.startswith(CLIENT_TOKEN_PREFIX) else None
        if name is None:
            log_event(logger, "submission.unknown_client", level=logging.WARNING)
            raise UnauthorizedError("the Bearer token is not a current platform client's token")
        return name
