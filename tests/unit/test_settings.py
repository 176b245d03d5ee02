import pytest

from mmsrelay.inbound.settings import InboundSettings, MediaSettings
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
