"""A local stand-in for the Aerialink gateway: a media host and an MO sender (more servers later).

Start everything with :class:`GatewaySimulator`, or use :class:`MediaHost` and :class:`MoSender`
on their own. ``python -m gatewaysim --help`` runs it from the command line.
"""

from gatewaysim import images
from gatewaysim.media_host import KnobError, MediaFaults, MediaHost, MediaItem, RequestRecord
from gatewaysim.mo import AttachmentsFormat, Credentials, Method, MoMessage, MoResult, MoSender, new_guid
from gatewaysim.simulator import GatewaySimulator, SimComponent

__all__ = [
    "AttachmentsFormat",
    "Credentials",
    "GatewaySimulator",
    "KnobError",
    "MediaFaults",
    "MediaHost",
    "MediaItem",
    "Method",
    "MoMessage",
    "MoResult",
    "MoSender",
    "RequestRecord",
    "SimComponent",
    "images",
    "new_guid",
]
