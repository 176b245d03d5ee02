"""Both transports against the gateway simulator, over real sockets and real TLS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gatewaysim.http_api import HttpApi, HttpFault
from gatewaysim.mm4 import Mm4Endpoint
from mmsrelay.domain.errors import PermanentSendError, TransientSendError
from mmsrelay.domain.outbound import GatewayCredentials, OutboundAttachment, OutboundMessage
from mmsrelay.gateway.https_client import AerialinkHttpClient, HttpApiSettings, session_factory
from mmsrelay.gateway.lazy_mm4 import Mm4Settings
from mmsrelay.gateway.mm4_client import Mm4Client

SECRET = "simulator-secret"


def credentials() -> GatewayCredentials:
    return GatewayCredentials("sim-api-key", SECRET, "sim-api-key", SECRET)


def message(
    recipients: tuple[str, ...] = ("+13105551212",), attachments: dict[str, bytes] | None = None
) -> OutboundMessage:
    return OutboundMessage(
        message_id="m-1",
        sender="+12223334444",
        recipients=recipients,
        text="hello",
        subject="Hi",
        attachments=tuple(
            OutboundAttachment("image/png", name, data=data, url=f"https://cdn.example.com/{name}")
            for name, data in (attachments or {"a.png": b"\x89PNG"}).items()
        ),
        delivery_report=True,
    )


@pytest.fixture
def http_api() -> Iterator[HttpApi]:
    with HttpApi(api_secret=SECRET) as running:
        yield running


def https_client(api: HttpApi) -> AerialinkHttpClient:
    settings = HttpApiSettings(base_url=api.base_url, ca_file=str(api.ca_file))
    return AerialinkHttpClient(session_factory(settings), settings, credentials)


def test_https_delivers_and_returns_the_gateways_guid(http_api: HttpApi) -> None:
    result = https_client(http_api).send(message())
    (sent,) = http_api.sent
    assert result.recipients[0].transaction_guid == sent.transaction_guid
    assert sent.fields["mmsURL"] == "https://cdn.example.com/a.png"
    assert sent.fields["registeredDelivery"] == "1"
    assert sent.user == "sim-api-key"


def test_https_throttling_carries_the_gateways_retry_after(http_api: HttpApi) -> None:
    http_api.inject(HttpFault.throttle(retry_after_s=42))
    with pytest.raises(TransientSendError) as caught:
        https_client(http_api).send(message())
    assert caught.value.retry_after == 42
    assert http_api.sent == []


def test_https_gateway_error_codes_are_classified(http_api: HttpApi) -> None:
    http_api.inject(HttpFault.error("E200002"), HttpFault.error("E500001"))
    client = https_client(http_api)
    with pytest.raises(PermanentSendError) as permanent:
        client.send(message())
    with pytest.raises(TransientSendError) as transient:
        client.send(message())
    assert (permanent.value.code, transient.value.code) == ("E200002", "E500001")


@pytest.mark.parametrize("mode", ["implicit", "starttls"])
def test_mm4_delivers_a_group_in_one_transaction_in_both_tls_modes(mode: str) -> None:
    with Mm4Endpoint(api_secret=SECRET, mode=mode) as endpoint:  # type: ignore[arg-type]
        settings = Mm4Settings("127.0.0.1", endpoint.port, mode, endpoint.domain, str(endpoint.ca_file))  # type: ignore[arg-type]
        group = ("+13105551212", "+13105551313", "+13105551414")
        with Mm4Client(settings, credentials).session() as session:
            result = session.send(message(group, {"a.png": b"\x89PNG1", "b.png": b"\x89PNG2"}))
        (transaction,) = endpoint.transactions
    assert len(transaction.recipients) == 3
    assert [r.recipient for r in result.recipients] == list(group)
    assert all(r.transaction_guid for r in result.recipients)
    assert sorted(part.data for part in transaction.parts if part.content_type == "image/png") == [
        b"\x89PNG1",
        b"\x89PNG2",
    ]


def test_mm4_refuses_to_continue_in_clear_when_starttls_is_not_offered() -> None:
    with Mm4Endpoint(api_secret=SECRET, mode="starttls_not_offered") as endpoint:
        settings = Mm4Settings("127.0.0.1", endpoint.port, "starttls", endpoint.domain, None)
        with (
            pytest.raises(PermanentSendError) as caught,
            Mm4Client(settings, credentials).session() as session,
        ):
            session.send(message())
        assert caught.value.code == "starttls_not_offered"
        assert endpoint.auth_attempts == []
        assert endpoint.transactions == []
