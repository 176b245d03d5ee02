"""mms-relay's shared package: the domain, use cases and adapters every Lambda function uses.

Handlers in ``functions/`` stay thin; everything they call lives here and is tested without Lambda.
"""
