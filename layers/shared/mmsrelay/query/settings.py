"""The query function's settings (see ``mmsrelay.settings``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from mmsrelay.settings import COUNTRY_CODE_PATTERN, EnvironmentReader, FunctionSettings


@dataclass(frozen=True)
class QuerySettings(FunctionSettings):
    messages_table_name: str
    # Stored inbound media is answered as presigned GET URLs to objects in this bucket.
    media_bucket_name: str
    # Numbers in the path without a country code are read as numbers of this country.
    default_country_code: str

    @classmethod
    def read(cls, env: EnvironmentReader) -> Self:
        return cls(
            messages_table_name=env.text("MESSAGES_TABLE_NAME"),
            media_bucket_name=env.text("MEDIA_BUCKET_NAME"),
            default_country_code=env.text("DEFAULT_COUNTRY_CODE", pattern=COUNTRY_CODE_PATTERN),
        )
