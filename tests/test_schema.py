"""The committed JSON Schema is the one generated from items.py."""

from __future__ import annotations

import json

from newsarchive.cli import main
from newsarchive.schema import SCHEMA_PATH, article_schema


def test_committed_schema_matches_items() -> None:
    """schemas/article.schema.json equals what ArticleItem generates (run `newsarchive schema`)."""
    assert json.loads(SCHEMA_PATH.read_text()) == article_schema()


def test_schema_command_prints_it(capsys) -> None:
    """`newsarchive schema` prints the schema; every ArticleItem field is required and described."""
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == article_schema()
    optional = set(schema["properties"]) - set(schema["required"])
    assert optional == {
        "cluster_id",
        "duplicate_of",
        "similarity",
        "partial_copies",
    }  # None when dedup is off
    assert all(field.get("description") for field in schema["properties"].values())
