"""The query API (read side): a message or transaction by id, and a number's conversation."""
