"""The ``GET /m/{token}`` answer: 302 to a presigned URL, 404 for anything else."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from mmsrelay.webhooks.border import answer
from mmsrelay.webhooks.http import json_response


class LinkResolver(Protocol):
    def resolve(self, token: str) -> str | None: ...


def answer_link(event: Mapping[str, Any], links: LinkResolver) -> dict[str, Any]:
    def handle() -> dict[str, Any]:
        token = str((event.get("pathParameters") or {}).get("token", ""))
        target = links.resolve(token)
        if target is None:
            return json_response(404, {"error": "not_found"})
        return {
            "statusCode": 302,
            "headers": {"Location": target, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
            "body": "",
        }

    return answer(handle)
