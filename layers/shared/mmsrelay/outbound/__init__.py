"""Outbound MMS: jobs from SQS sent through the gateway over HTTPS (one attachment) or MM4."""
