"""The JSON Schema of article records, generated from :class:`~newsarchive.items.ArticleItem`.

``schemas/article.schema.json`` is this output, committed; a test keeps the two equal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter

from newsarchive.items import ArticleItem

SCHEMA_PATH = Path(__file__).parent / "schemas" / "article.schema.json"


def article_schema() -> dict[str, Any]:
    schema = ItemAdapter.get_json_schema(ArticleItem)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "newsarchive article",
        **schema,
    }
