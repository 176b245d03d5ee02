"""The gateway's protocol, pure (no I/O): what the two transports and the receipts share.

MM4 identifiers (``mm4_ids``: the receipts match reports by them, storage indexes them), the
``MM4_forward.REQ`` MIME message (``mm4_mime``), the transaction GUIDs in the reply to DATA
(``mm4_guids``) and the v4 HTTP API's answers (``http_answers``). The transports that speak it
are in ``mmsrelay.gateway``.
"""
