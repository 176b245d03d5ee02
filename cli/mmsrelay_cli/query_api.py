"""The relay's query API (``GET /messages/{id}``, ``GET /numbers/{number}/messages``), called as a
service would: every request signed with SigV4 for ``execute-api`` with the caller's credentials."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote, urlencode

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from mmsrelay_cli.errors import NotFound, Unavailable, UsageError
from mmsrelay_cli.stack import Stack

TIMEOUT_SECONDS = 30


class MessageReader(Protocol):
    def message(self, identifier: str) -> dict[str, Any]: ...


class ConversationReader(Protocol):
    def conversation(self, number: str, limit: int, cursor: str | None = None) -> dict[str, Any]: ...


class QueryApi:
    def __init__(self, stack: Stack, session: requests.Session | None = None) -> None:
        self._stack = stack
        self._http = session or requests.Session()

    def message(self, identifier: str) -> dict[str, Any]:
        """A job by messageId, or a transaction by transactionGUID; ``NotFound`` when neither."""
        return self._get(f"/messages/{quote(identifier, safe='')}")

    def conversation(self, number: str, limit: int, cursor: str | None = None) -> dict[str, Any]:
        query: dict[str, str | int] = {"limit": limit}
        if cursor:
            query["cursor"] = cursor
        return self._get(f"/numbers/{quote(number, safe='')}/messages", query)

    def _get(self, path: str, query: dict[str, str | int] | None = None) -> dict[str, Any]:
        url = f"{self._stack.api_url}{path}" + (f"?{urlencode(query)}" if query else "")
        credentials = self._stack.session.get_credentials()
        if credentials is None:
            raise Unavailable("no AWS credentials to sign the query API's requests with")
        request = AWSRequest(method="GET", url=url)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", self._stack.region).add_auth(request)
        try:
            response = self._http.get(
                url, headers=dict(request.headers), timeout=TIMEOUT_SECONDS, verify=self._stack.verify
            )
        except requests.RequestException as error:
            raise Unavailable(f"the query API did not answer: {type(error).__name__}") from None
        return _document(response)


def _document(response: requests.Response) -> dict[str, Any]:
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    code = body.get("error") if isinstance(body, dict) else None
    if response.status_code == 404:
        raise NotFound("not found")
    if response.status_code == 400:
        raise UsageError(f"the query API refused the request: {code or 'bad request'}")
    if response.status_code in (401, 403):
        raise Unavailable(
            f"the query API refused the credentials ({response.status_code}): they need execute-api:Invoke on it"
        )
    if response.status_code != 200 or not isinstance(body, dict):
        raise Unavailable(f"the query API answered {response.status_code}{f' ({code})' if code else ''}")
    return body
