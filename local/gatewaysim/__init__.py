"""A local stand-in for the Aerialink gateway: media, MO and receipt senders, v4 HTTP API, MM4.

Start everything with :class:`GatewaySimulator`, or use :class:`MediaHost`, :class:`MoSender`,
:class:`HttpApi`, :class:`Mm4Endpoint`, :class:`ReceiptSender` and :class:`Mm4ReportBuilder` on
their own. ``python -m gatewaysim --help`` runs it from the command line.
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
from gatewaysim.receipts import (
    DlrReceipt,
    Mm4ReportBuilder,
    ReceiptDelivery,
    ReceiptFormat,
    ReceiptMethod,
    ReceiptOrder,
    ReceiptSender,
    receipts_for_http,
    reports_for_mm4,
)
from gatewaysim.simulator import GatewaySimulator, SimComponent

__all__ = [
    "ApiRequest",
    "AttachmentsFormat",
    "AuthAttempt",
    "Credentials",
    "DataReply",
    "DlrReceipt",
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
    "Mm4ReportBuilder",
    "Mm4Transaction",
    "MoMessage",
    "MoResult",
    "MoSender",
    "ReceiptDelivery",
    "ReceiptFormat",
    "ReceiptMethod",
    "ReceiptOrder",
    "ReceiptSender",
    "RequestRecord",
    "SentMessage",
    "SimComponent",
    "images",
    "new_guid",
    "parse_data_reply",
    "receipts_for_http",
    "reports_for_mm4",
]
