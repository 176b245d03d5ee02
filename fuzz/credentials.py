"""How each generated request is authenticated, and whether what it carried was valid.

The document names one security scheme per operation: ``gatewayBasic`` (the webhooks), ``sigv4`` (the
query API) or none (media links). Schemathesis generates a value for it (a random Basic header, a
random ``Authorization``; in negative mode one missing or malformed); each request is then given,
by a draw that is part of its example:

- ``VALID``: the stack's webhook credentials, or a SigV4 signature by the emulator's credentials;
- ``WRONG``: the webhook's username with another password, or a signature by a key nobody has;
- ``AS_GENERATED``: whatever schemathesis generated.

A negative example that removed the credentials on purpose keeps them removed (schemathesis leaves
them out when it serialises the request), so some ``VALID`` draws go out without any either.
Whether a request really carried valid credentials is read from the request as sent.
"""

from __future__ import annotations

import base64
import enum
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from schemathesis.auths import apply_basic_auth
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import negated_parameters

from fuzz.schema import GeneratedCase, Operation

BASIC = "gatewayBasic"
SIGV4 = "sigv4"
SIGNING_SERVICE = "execute-api"
# An access key the emulator does not know (it checks who signed; it does not check the signature
# of its own root credentials, docs/fuzzing.md).
UNKNOWN_ACCESS_KEY_ID = "AKIAFUZZUNKNOWNKEY00"
UNKNOWN_SECRET_ACCESS_KEY = "not-a-secret-of-this-stack"  # noqa: S105


class Draw(enum.Enum):
    VALID = "valid"
    WRONG = "wrong"
    AS_GENERATED = "as generated"


# Six in eight requests carry valid credentials (their content is what is being tested); the rest
# test the refusal.
DRAWS: tuple[Draw, ...] = (Draw.VALID,) * 6 + (Draw.WRONG, Draw.AS_GENERATED)


def scheme_of(operation: Operation) -> str | None:
    """The operation's security scheme (the document gives each at most one)."""
    for requirement in operation.definition.raw.get("security", []):
        for name in requirement:
            return str(name)
    return None


class SigV4Signer(requests.auth.AuthBase):
    """Signs the request exactly as it is sent (URL, query, body), as a service calling the query API would.

    Only ``host`` and ``x-amz-date`` are signed: the generated headers stay out of the signature, so a
    header whose value the server would normalise differently cannot make a valid signature look wrong.
    """

    def __init__(self, access_key_id: str, secret_access_key: str, region: str) -> None:
        self._credentials = Credentials(access_key_id, secret_access_key)
        self._region = region

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        signed = AWSRequest(method=request.method, url=request.url, data=request.body or b"")
        SigV4Auth(self._credentials, SIGNING_SERVICE, self._region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            request.headers.pop(name, None)
        request.headers["Authorization"] = signed.headers["Authorization"]
        request.headers["X-Amz-Date"] = signed.headers["X-Amz-Date"]
        return request


@dataclass(frozen=True)
class StackCredentials:
    """The deployed stack's credentials: the webhook's Basic pair, the emulator's AWS key."""

    webhook_username: str
    webhook_password: str
    access_key_id: str
    secret_access_key: str
    region: str

    def apply(self, case: GeneratedCase, draw: Draw) -> requests.auth.AuthBase | None:
        """Puts the drawn credentials on ``case``; returns what signs the request, if anything does."""
        scheme = scheme_of(case.operation)
        if draw is Draw.AS_GENERATED or scheme is None:
            return None
        if _removed_on_purpose(case):
            return None
        if scheme == BASIC:
            password = self.webhook_password if draw is Draw.VALID else f"{self.webhook_password}-wrong"
            apply_basic_auth(case, self.webhook_username, password)
            return None
        if draw is Draw.VALID:
            return SigV4Signer(self.access_key_id, self.secret_access_key, self.region)
        return SigV4Signer(UNKNOWN_ACCESS_KEY_ID, UNKNOWN_SECRET_ACCESS_KEY, self.region)

    def sent_valid(self, case: GeneratedCase, request: requests.PreparedRequest) -> bool | None:
        """Whether ``request`` carried valid credentials (None: the operation needs none)."""
        scheme = scheme_of(case.operation)
        authorization = str(request.headers.get("Authorization", ""))
        if scheme == BASIC:
            pair = base64.b64encode(f"{self.webhook_username}:{self.webhook_password}".encode()).decode("ascii")
            return hmac.compare_digest(authorization.encode(), f"Basic {pair}".encode())
        if scheme == SIGV4:
            return authorization.startswith(f"AWS4-HMAC-SHA256 Credential={self.access_key_id}/")
        return None


def _removed_on_purpose(case: GeneratedCase) -> bool:
    """Whether this negative example left the credentials out on purpose (they stay out)."""
    return any(
        location is ParameterLocation.HEADER and name.lower() == "authorization"
        for name, location in negated_parameters(case.meta)
    )


def draws_for(operation: Operation) -> Sequence[Draw]:
    """What may be drawn for ``operation``: an operation without credentials has nothing to vary."""
    return DRAWS if scheme_of(operation) is not None else (Draw.VALID,)
