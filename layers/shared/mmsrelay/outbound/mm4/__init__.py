"""MM4 (3GPP TS 23.140, RFC 4356): outbound MMS as MIME over SMTP to the gateway's MMSC.

:mod:`.mime` builds the ``MM4_forward.REQ`` message, :mod:`.client` delivers it over one
authenticated TLS connection per batch, and :mod:`.guids` reads the transaction GUIDs out of the
gateway's reply to DATA.
"""
