import pytest

from mmsrelay.inbound.settings import InboundSettings, MediaSettings
from mmsrelay.outbound.settings import OutboundSettings
from mmsrelay.settings import SettingsError
from tests.template import function_environment


def test_the_deployed_environment_loads_into_typed_settings() -> None:
    settings = InboundSettings.from_environ(function_environment("InboundFunction"))
    assert settings.media.max_media_bytes == 5 * 1024 * 1024
    assert settings.media.allow_insecure_media_fetch is False
    assert settings.default_country_code == "1"
    assert settings.webhook.secret_cache_seconds == 300


def test_every_problem_is_reported_at_once() -> None:
    environment = function_environment("MediaRetryFunction")
    del environment["MESSAGES_TABLE_NAME"]
    environment["MAX_MEDIA_BYTES"] = "lots"
    environment["ALLOW_INSECURE_MEDIA_FETCH"] = "yes"
    environment["MEDIA_RETRY_MAX_ATTEMPTS"] = "0"
    with pytest.raises(SettingsError) as caught:
        MediaSettings.from_environ(environment)
    assert caught.value.problems == (
        "MESSAGES_TABLE_NAME is required",
        "ALLOW_INSECURE_MEDIA_FETCH must be true or false",
        "MAX_MEDIA_BYTES must be an integer",
        "MEDIA_RETRY_MAX_ATTEMPTS must be between 1 and 50",
    )


def test_an_empty_resource_name_is_not_silently_accepted() -> None:
    environment = function_environment("InboundFunction")
    environment["MEDIA_BUCKET_NAME"] = "  "
    with pytest.raises(SettingsError, match="MEDIA_BUCKET_NAME is required"):
        InboundSettings.from_environ(environment)


def test_a_malformed_country_code_is_refused() -> None:
    environment = function_environment("InboundFunction")
    environment["DEFAULT_COUNTRY_CODE"] = "+1"
    with pytest.raises(SettingsError, match="DEFAULT_COUNTRY_CODE"):
        InboundSettings.from_environ(environment)


def test_the_outbound_function_paces_every_code_at_the_default_rate_unless_overridden() -> None:
    # Given the template's default rate and two overrides
    environment = function_environment(
        "OutboundFunction", parameters={"SendRatePerSecond": "2.5", "SendRateOverrides": "12223334444=10,55555=0.5"}
    )
    # When the outbound function reads its settings
    plan = OutboundSettings.from_environ(environment).send_rates
    # Then each code has its rate and any other code the default
    assert (plan.rate_of("12223334444"), plan.rate_of("55555"), plan.rate_of("13105550000")) == (10.0, 0.5, 2.5)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ("12223334444:10", "SEND_RATE_OVERRIDES entry '12223334444:10' is not <code digits>=<messages per second>"),
        ("+12223334444=10", "SEND_RATE_OVERRIDES entry '+12223334444=10' is not <code digits>=<messages per second>"),
        ("55555=0", "SEND_RATE_OVERRIDES gives 55555 a rate that is not between 0.1 and 1000"),
        ("55555=5,55555=6", "SEND_RATE_OVERRIDES gives 55555 twice"),
    ],
)
def test_a_malformed_rate_override_is_refused_naming_it(overrides: str, problem: str) -> None:
    environment = function_environment("OutboundFunction", parameters={"SendRateOverrides": overrides})
    with pytest.raises(SettingsError) as caught:
        OutboundSettings.from_environ(environment)
    assert caught.value.problems == (problem,)


def test_a_default_rate_out_of_bounds_is_refused() -> None:
    environment = function_environment("OutboundFunction", parameters={"SendRatePerSecond": "fast"})
    with pytest.raises(SettingsError, match="SEND_RATE_PER_SECOND must be a number"):
        OutboundSettings.from_environ(environment)
    environment = function_environment("OutboundFunction", parameters={"SendRatePerSecond": "0"})
    with pytest.raises(SettingsError, match=r"SEND_RATE_PER_SECOND must be between 0\.1 and 1000"):
        OutboundSettings.from_environ(environment)
