"""The query function's settings (see ``mmsrelay.settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from mmsrelay.settings import EnvironmentReader


@dataclass(frozen=True)
class QuerySettings:
    messages_table_name: str
    # Stored inbound media is answered as presigned GET URLs to objects in this bucket.
    media_bucket_name: str
    # Numbers in the path without a country code are read as numbers of this country.
    default_country_code: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        env = EnvironmentReader(environ)
        settings = cls(
            messages_table_name=env.text("MESSAGES_TABLE_NAME"),
            media_bucket_name=env.text("MEDIA_BUCKET_NAME"),
            default_country_code=env.text("DEFAULT_COUNTRY_CODE", pattern=r"[1-9][0-9]{0,2}"),
        )
        env.check()
        return settings
