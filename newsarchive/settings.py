"""Scrapy project settings: polite defaults, and every newsarchive setting with its default.

Override any of them with ``-s NAME=VALUE``; docs/settings.md explains each one.
"""

from __future__ import annotations

import os

# Offline-safe: tldextract (used by cookie handling) must not fetch the public suffix list.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"
ADDONS = {"newsarchive.addon.Addon": 0}

# --- newsarchive ---------------------------------------------------------------------------
ARCHIVE_URI = "./archive"  # warc/, json/ and state/ live here
ARCHIVE_CONTACT = ""  # URL or e-mail for site owners; goes into the User-Agent and warcinfo
ARCHIVE_OPERATOR = ""  # who runs the crawl; goes into warcinfo
ARCHIVE_RECRAWL = False  # True: fetch articles again even when already archived
# s3://bucket/prefix archives (README, "Archiving to S3"); credentials and endpoint come from
# Scrapy's AWS_* settings (AWS_ENDPOINT_URL, AWS_REGION_NAME...) or boto3's own chain.
ARCHIVE_KEEP_LOCAL = False  # True: keep each file in the spool after its verified upload
ARCHIVE_SPOOL = ""  # where files are written before upload; empty: ~/.cache/newsarchive/spool/<bucket>-<hash>
ARCHIVE_UPLOAD_CONCURRENCY = 4  # parts of one file uploaded at once
ARCHIVE_UPLOAD_PART_SIZE = 16 * 1024 * 1024  # bytes; bigger files go up in parts of this size (min 5 MiB)
ARCHIVE_UPLOAD_RETRIES = 5  # retries of each S3 request (botocore "standard" mode, exponential backoff)
ARCHIVE_UPLOAD_TIMEOUT = 60.0  # seconds to connect, and to wait for each answer, per request

DEDUP_ENABLED = True
DEDUP_BANDS = 20  # LSH bands over the first BANDS * ROWS signature values (bench/MINHASH.md)
DEDUP_FORGET_AFTER = ""  # e.g. "180d": forget articles fetched longer ago at each start; empty: never
DEDUP_MAX_FINGERPRINTS = 128  # partial-copy fingerprints kept per document (the smallest)
DEDUP_NUM_PERM = 128  # MinHash permutations; stored with the index (ARCHIVE_URI/state/dedup.sqlite)
DEDUP_PARTIAL_THRESHOLD = 0.5  # containment from which an excerpt or an embed is linked
DEDUP_POLICY = "mark"  # mark: every article kept, copies marked; drop: copies left out of the JSON
DEDUP_REDIS_PREFIX = "newsarchive:dedup"  # key prefix of a Redis index (DEDUP_URI): one index per prefix
DEDUP_ROWS = 2
DEDUP_SEED = 1
DEDUP_SHINGLE_KIND = "word"  # word | char
DEDUP_SHINGLE_SIZE = 5
DEDUP_STORAGE_BITS = 8  # bits kept per stored signature value: 8, 16 or 32
DEDUP_THRESHOLD = 0.30  # estimated Jaccard from which a candidate is a near-duplicate
# Where the index lives. Empty: ARCHIVE_URI/state/dedup.sqlite (processes of one host, one archive);
# redis://[:password@]host:port/db, rediss:// or unix://: a Redis server that crawlers writing to
# different archives, on different hosts, share.
DEDUP_URI = ""
DEDUP_WINDOW = 12  # winnowing window (shingles) of partial-copy fingerprints; 0: no partial copies

EXTRACT_ENABLED = True
EXTRACT_FOCUS = "balanced"  # trafilatura: balanced | precision | recall
EXTRACT_MIN_TEXT_LENGTH = 250  # characters; shorter extractions are not articles
EXTRACT_TARGET_LANGUAGE = ""  # e.g. "en": drop articles detected in another language
EXTRACT_TIMEOUT = 30.0  # seconds per page before its worker is killed
EXTRACT_WORKERS = 0  # extraction processes; 0 = one per CPU core

REPROCESS_LOG_INTERVAL = 30.0  # seconds between the progress lines of `newsarchive reprocess`
REPROCESS_MAX_PENDING = 16  # pages `newsarchive reprocess` has in the item pipelines at most (bounds memory)

WARC_ENABLED = True
WARC_INDEX = True  # a CDXJ index (cdxj-indexer) next to each closed WARC file, in ARCHIVE_URI/indexes/
WARC_GZIP_LEVEL = 6  # 1-9 (0: uncompressed .warc); bodies that came gzip-encoded stay as sent
WARC_KEEP_COOKIES = False  # True keeps Cookie / Set-Cookie headers in request/response records
WARC_MAX_SIZE = 1024**3  # bytes; a file is closed and a new one started past this size
WARC_PREFIX = "newsarchive"
WARC_REVISITS = True  # a payload archived before becomes a revisit record (False: always in full)

# --- polite crawling -----------------------------------------------------------------------
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024  # bigger bodies are archived truncated (WARC-Truncated)
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
# A connection lost mid-body still gives a response: archived with WARC-Truncated: disconnect.
DOWNLOAD_FAIL_ON_DATALOSS = False
# No zstd: pywb cannot replay zstd bodies in rewriting mode (Scrapy 2.19 offers it by default).
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en",
    "Accept-Encoding": "gzip, deflate, br",
}
# Scrapy starts CONCURRENT_ITEMS tasks for every response, however little it yields; our
# callbacks yield one item or a list of requests, so 100 (the default) only costs CPU
# (about 2.5 ms a page in bench/crawl_throughput.py).
CONCURRENT_ITEMS = 4
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 10

# Unattended runs need no local control ports.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
