"""The HTTPS transport: the gateway's v4 HTTP API (one recipient, at most one attachment by URL)."""

from mmsrelay.outbound.https.client import AerialinkHttpClient, HttpApiSettings, session_factory

__all__ = ["AerialinkHttpClient", "HttpApiSettings", "session_factory"]
