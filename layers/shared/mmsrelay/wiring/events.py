"""Builds the events use case from settings and an EventBridge client, once per execution environment."""

from __future__ import annotations

import os
from functools import cache

from mmsrelay import aws
from mmsrelay.eventbus.eventbridge import EventBridgeBus
from mmsrelay.events.publisher import PublishStreamEvents
from mmsrelay.events.settings import EventSettings
from mmsrelay.events.translate import StreamTranslator
from mmsrelay.observability import MetricsSink
from mmsrelay.storage.records import read_image


@cache
def stream_events(metrics: MetricsSink) -> PublishStreamEvents:
    settings = EventSettings.from_environ(os.environ)
    return PublishStreamEvents(
        EventBridgeBus(aws.events_client(), settings.event_bus_name), metrics, StreamTranslator(read_image)
    )
