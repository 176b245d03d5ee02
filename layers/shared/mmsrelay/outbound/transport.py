"""Which transport carries a job: the one place that decides (the senders only route by it)."""

from __future__ import annotations

from mmsrelay.domain.errors import PermanentSendError
from mmsrelay.domain.outbound import Transport
from mmsrelay.outbound.job import OutboundJob


def choose_transport(job: OutboundJob) -> Transport:
    """``auto``: one recipient with one attachment over HTTPS, anything else over MM4.

    The HTTPS API carries exactly one attachment: its ``mmsURL`` is a required field, so a message
    without media goes over MM4 too.
    """
    https_can_carry = len(job.to) == 1 and len(job.media) == 1
    if job.transport == "auto":
        return "https" if https_can_carry else "mm4"
    if job.transport == "https" and not https_can_carry:
        raise PermanentSendError("transport_cannot_carry", "https carries one recipient and one attachment")
    return job.transport
