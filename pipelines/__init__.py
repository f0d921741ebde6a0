"""newsarchive's item pipelines: extraction, then the article's WARC record."""
