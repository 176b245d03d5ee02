"""Domain events: the messages table's stream turned into EventBridge events (docs/events.md).

``translate`` maps one stream record to at most one event entry (pure); ``publisher`` holds the
PutEvents adapter and the batch use case; ``wiring`` builds it once per execution environment.
"""
