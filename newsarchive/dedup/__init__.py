"""Near-duplicate detection: MinHash signatures of article text, an LSH index, partial copies.

See :mod:`newsarchive.dedup.signature`, :mod:`newsarchive.dedup.index` (embedded) and
:mod:`newsarchive.dedup.redis_index` (shared), :mod:`newsarchive.dedup.partial` (the partial-copy
rules) and :mod:`newsarchive.dedup.passages` (their orchestration, for both indexes), and
``bench/MINHASH.md`` for the measured defaults; ``pipelines/dedup.py`` puts them to work in a crawl.
"""

from __future__ import annotations

from newsarchive.dedup.index import (
    Cluster,
    ClusterMember,
    Document,
    IndexConfig,
    IndexMismatchError,
    Match,
    SqliteIndex,
)
from newsarchive.dedup.signature import (
    ALGORITHM,
    EMPTY_VALUE,
    MinHasher,
    SignatureParams,
    containment,
    estimate_containment,
    estimate_jaccard,
    jaccard,
    normalize,
    signature_from_bytes,
    signature_to_bytes,
    text_fingerprint,
    winnow,
)

__all__ = [
    "ALGORITHM",
    "EMPTY_VALUE",
    "Cluster",
    "ClusterMember",
    "Document",
    "IndexConfig",
    "IndexMismatchError",
    "Match",
    "MinHasher",
    "SignatureParams",
    "SqliteIndex",
    "containment",
    "estimate_containment",
    "estimate_jaccard",
    "jaccard",
    "normalize",
    "signature_from_bytes",
    "signature_to_bytes",
    "text_fingerprint",
    "winnow",
]
