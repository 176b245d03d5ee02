"""Inbound MMS: a handset's message forwarded by the gateway, stored once, media copied to S3."""
