"""The EventBridge adapter: events put on the relay's bus."""
