"""SMS guard rails (SPEC §18): which numbers may get a text message, checked at submit.

Text messages are billed per message and per destination, so a service that texts any number it
is given is an SMS-pumping target (toll fraud: premium-rate numbers that pay the attacker per
text). ``SMS_ALLOWED_PREFIXES`` names the E.164 prefixes (country or carrier codes) the platform
serves; a number outside them is refused before anything is stored or started.
"""

from __future__ import annotations

import re

from chalicelib.errors import BadRequestError

_PREFIX = re.compile(r"\+[0-9]{1,14}")


def parse_prefixes(raw: str) -> tuple[str, ...]:
    """``"+44, +1"`` → ``("+44", "+1")``; empty → no restriction. Raises ValueError naming a bad prefix."""
    prefixes = tuple(part.strip() for part in raw.split(",") if part.strip())
    for prefix in prefixes:
        if not _PREFIX.fullmatch(prefix):
            raise ValueError(f"{prefix!r} is not an E.164 prefix such as +44")
    return prefixes


def check_allowed_number(number: str, prefixes: tuple[str, ...], *, field: str = "notifyPhone") -> str:
    """``number`` when it starts with one of ``prefixes`` (any number when there are none).

    Raises BadRequestError naming the field and the allowed prefixes, never the number itself.
    """
    if prefixes and not number.startswith(prefixes):
        raise BadRequestError(f"'{field}' must start with one of {', '.join(prefixes)}")
    return number
