"""newsarchive's spiders: ``feeds``, ``sitemaps``, ``urls`` and ``news`` (all three kinds)."""
