"""Delivery receipts from the gateway (HTTP callbacks, carrier error events, MM4 reports) in one shape.

``parse`` reads each wire form into a ``model.Receipt``; ``vocabulary`` maps every state word and
code the gateway uses to the relay's ``mmsrelay.domain.status`` vocabulary (or to no status at all).
"""
