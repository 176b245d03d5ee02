"""The gateway's two transports (adapters): the v4 HTTP API client and the MM4 (SMTP) client.

What they share with each other and with the receipts, the protocol itself, is in
``mmsrelay.gateway_protocol``. The MM4 client (smtplib, ssl, email) is imported only when a batch
first needs it (``lazy_mm4``).
"""
