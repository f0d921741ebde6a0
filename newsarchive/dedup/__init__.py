"""Near-duplicate detection. For now the signature layer: normalised text, shingles, MinHash.

See :mod:`newsarchive.dedup.signature` and ``bench/MINHASH.md`` for the measured defaults.
"""

from __future__ import annotations

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
)

__all__ = [
    "ALGORITHM",
    "EMPTY_VALUE",
    "MinHasher",
    "SignatureParams",
    "containment",
    "estimate_containment",
    "estimate_jaccard",
    "jaccard",
    "normalize",
    "signature_from_bytes",
    "signature_to_bytes",
    "text_fingerprint",
]
