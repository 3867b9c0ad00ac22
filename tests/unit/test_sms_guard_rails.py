"""SMS guard rails (SPEC §18), ready for the SMS channel: allowed prefixes and the stage's daily cap."""

from __future__ import annotations

import pytest

from chalicelib.config import Settings
from chalicelib.domain.sms import check_allowed_number, parse_prefixes
from chalicelib.errors import BadRequestError, ConfigurationError
from chalicelib.usecases.limits import FixedWindowLimiter, StageDailyCap
from tests.fakes import FakeClock, InMemoryLimits
from tests.unit.test_config import REQUIRED


def test_sms_settings_default_to_any_number_and_a_thousand_texts_a_day():
    settings = Settings.from_environ(REQUIRED)
    assert settings.sms_allowed_prefixes == ()
    assert settings.sms_max_per_day == 1000
    configured = Settings.from_environ(REQUIRED | {"SMS_ALLOWED_PREFIXES": "+44, +1", "SMS_MAX_PER_DAY": "50"})
    assert (configured.sms_allowed_prefixes, configured.sms_max_per_day) == (("+44", "+1"), 50)


@pytest.mark.parametrize("raw", ["44", "+44a", "+", "+44,1", "+1234567890123456"])
def test_a_prefix_that_is_not_e164_is_a_configuration_error_naming_the_variable(raw):
    with pytest.raises(ConfigurationError, match="SMS_ALLOWED_PREFIXES"):
        Settings.from_environ(REQUIRED | {"SMS_ALLOWED_PREFIXES": raw})


def test_a_number_outside_the_allowed_prefixes_is_a_400_that_does_not_repeat_it():
    prefixes = parse_prefixes("+44,+1")

    assert check_allowed_number("+447700900123", prefixes) == "+447700900123"
    assert check_allowed_number("+15550100", prefixes) == "+15550100"
    with pytest.raises(BadRequestError) as refused:
        check_allowed_number("+882123456789", prefixes)
    assert refused.value.status_code == 400
    assert "+44, +1" in refused.value.message and "882123456789" not in refused.value.message


def test_without_prefixes_any_number_is_allowed():
    assert check_allowed_number("+882123456789", ()) == "+882123456789"


def test_the_stage_sends_at_most_sms_max_per_day_texts_a_utc_day():
    clock = FakeClock()
    cap = StageDailyCap(limiter=FixedWindowLimiter(store=InMemoryLimits(), clock=clock), channel="sms", max_per_day=3)

    assert [cap.allows() for _ in range(4)] == [True, True, True, False]
    clock.advance(24 * 3600)
    assert cap.allows()


def test_a_stage_cap_of_zero_is_off():
    limits = InMemoryLimits()
    cap = StageDailyCap(limiter=FixedWindowLimiter(store=limits, clock=FakeClock()), channel="sms", max_per_day=0)

    assert all(cap.allows() for _ in range(10)) and limits.counts == {}
