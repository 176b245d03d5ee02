"""A local stand-in for the Aerialink gateway: media host, MO sender, v4 HTTP send API, MM4 endpoint.

Start everything with :class:`GatewaySimulator`, or use :class:`MediaHost`, :class:`MoSender`,
:class:`HttpApi` and :class:`Mm4Endpoint` on their own. ``python -m gatewaysim --help`` runs it
from the command line.
"""

from gatewaysim import images
from gatewaysim.http_api import ApiRequest, ErrorRate, HttpApi, HttpFault, SentMessage
from gatewaysim.media_host import KnobError, MediaFaults, MediaHost, MediaItem, RequestRecord
from gatewaysim.mm4 import (
    AuthAttempt,
    DataReply,
    Mm4Connection,
    Mm4Endpoint,
    Mm4Part,
    Mm4Transaction,
    parse_data_reply,
)
from gatewaysim.mo import AttachmentsFormat, Credentials, Method, MoMessage, MoResult, MoSender, new_guid
from gatewaysim.simulator import GatewaySimulator, SimComponent

__all__ = [
    "ApiRequest",
    "AttachmentsFormat",
    "AuthAttempt",
    "Credentials",
    "DataReply",
    "ErrorRate",
    "GatewaySimulator",
    "HttpApi",
    "HttpFault",
    "KnobError",
    "MediaFaults",
    "MediaHost",
    "MediaItem",
    "Method",
    "Mm4Connection",
    "Mm4Endpoint",
    "Mm4Part",
    "Mm4Transaction",
    "MoMessage",
    "MoResult",
    "MoSender",
    "RequestRecord",
    "SentMessage",
    "SimComponent",
    "images",
    "new_guid",
    "parse_data_reply",
]
