"""SQS adapters: the media retry queue, and delaying an outbound record's next delivery."""
