"""MinHash signatures of extracted article text: normalise, shingle, hash, MinHash, store.

The signature layer of near-duplicate detection (issue #3). An LSH index built on top finds
candidate pairs from these signatures; a verification step then decides with the exact
:func:`jaccard` and :func:`containment` of the two texts' shingle-hash sets. Defaults and
measurements: ``bench/MINHASH.md``; speed and accuracy: ``bench/minhash_speed.py``.

How a text becomes a signature, and why it is fast in plain numpy:

1. :func:`normalize`: NFKC, case fold, every character that is not a letter, mark or digit
   becomes a space, runs of spaces collapse. Done on an array of code points with one lookup
   table, not with a regular expression (which alone would cost more than the whole MinHash).
2. Shingles are substrings of the normalised text: ``k`` consecutive words (with their single
   spaces) or ``k`` consecutive characters. Each is hashed in O(1) from prefix sums of a
   polynomial hash modulo 2**64 (``(P[end] - P[start]) * R**-start``), then mixed with
   MurmurHash3's 64-bit finaliser; the top 32 bits are the shingle hash.
3. MinHash: ``num_perm`` permutations ``h -> (a*h + b) mod 2**32`` (odd ``a``), evaluated on a
   (shingles x num_perm) uint32 block in chunks that stay in cache, reduced with ``min``.
   ``a`` and ``b`` come from BLAKE2b of the seed, so signatures do not depend on numpy's random
   generator, the process, or the platform.

A signature is ``num_perm`` uint32 values. Empty text (nothing left after normalisation) has the
:data:`EMPTY_VALUE` signature, which :func:`estimate_jaccard` treats as sharing nothing with any
signature, itself included; a text with fewer than ``shingle_size`` words (characters) is one
shingle, the whole normalised text, so identical short texts still match.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

ALGORITHM = "newsarchive-minhash-1"
"""Names normalisation, shingle hashing and permutations; stored with the index parameters."""
SHINGLE_KINDS = ("word", "char")
STORAGE_BITS = (8, 16, 32)
"""Bits per value :func:`signature_to_bytes` can keep (the low bits: a minimum's high bits are ~0)."""
EMPTY_VALUE = 0xFFFFFFFF
"""Every value of the signature of an empty text."""
MAX_NUM_PERM = 4096
MAX_SHINGLE_SIZE = 64

_MASK64 = (1 << 64) - 1
_RADIX = 0x100000001B3  # FNV-1a 64-bit prime: odd, so invertible modulo 2**64.
_FMIX_C1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX_C2 = np.uint64(0xC4CEB9FE1A85EC53)
_U64_33 = np.uint64(33)
_U64_32 = np.uint64(32)
_SPACE = 32
_CHUNK_ROWS = 512
"""Shingles per MinHash block: 512 x 128 uint32 = 256 KB, which stays in L2 cache."""


@dataclass(frozen=True)
class SignatureParams:
    """Every ``DEDUP_*`` setting that changes a signature; stored with the index.

    An index built with one set of parameters cannot answer queries made with another:
    compare :meth:`as_dict` with what the index stored (or use :meth:`differences`).
    """

    num_perm: int = 128
    """Number of MinHash permutations (``DEDUP_NUM_PERM``): values per signature."""
    shingle_size: int = 5
    """Words (or characters) per shingle (``DEDUP_SHINGLE_SIZE``)."""
    shingle_kind: str = "word"
    """``"word"`` or ``"char"`` shingles (``DEDUP_SHINGLE_KIND``)."""
    seed: int = 1
    """Seed of the permutations (``DEDUP_SEED``): a different seed gives unrelated signatures."""

    def __post_init__(self) -> None:
        _check_int("DEDUP_NUM_PERM", "num_perm", self.num_perm, 1, MAX_NUM_PERM)
        _check_int("DEDUP_SHINGLE_SIZE", "shingle_size", self.shingle_size, 1, MAX_SHINGLE_SIZE)
        _check_int("DEDUP_SEED", "seed", self.seed, 0, _MASK64)
        if self.shingle_kind not in SHINGLE_KINDS:
            raise ValueError(
                f"DEDUP_SHINGLE_KIND (shingle_kind) must be one of {', '.join(map(repr, SHINGLE_KINDS))}, "
                f"got {self.shingle_kind!r}"
            )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready parameters, with the algorithm version, to store next to the index."""
        return {"algorithm": ALGORITHM, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignatureParams:
        """Parameters stored by :meth:`as_dict`; an unknown algorithm or key is an error."""
        data = dict(data)
        algorithm = data.pop("algorithm", None)
        if algorithm != ALGORITHM:
            raise ValueError(
                f"signature parameters were stored by algorithm {algorithm!r}, this version computes "
                f"{ALGORITHM!r}: signatures are not comparable; rebuild the index"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown signature parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**data)

    def differences(self, stored: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
        """``{key: (ours, stored)}`` for every stored value that differs from ours; empty if compatible."""
        ours = self.as_dict()
        return {
            key: (ours.get(key), stored.get(key))
            for key in ours.keys() | stored.keys()
            if ours.get(key) != stored.get(key)
        }


def _check_int(setting: str, name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{setting} ({name}) must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{setting} ({name}) must be between {low} and {high}, got {value}")


# -- normalisation ------------------------------------------------------------------------------


@functools.cache
def _bmp_table() -> np.ndarray:
    """Code point -> itself for letters, marks, digits (and unassigned); -> space for the rest."""
    table = np.arange(0x10000, dtype=np.uint32)
    for cp in range(0x10000):
        if not _is_word_char(cp):
            table[cp] = _SPACE
    return table


def _is_word_char(cp: int) -> bool:
    # Unassigned code points (Cn) count as word characters: when a later Unicode version assigns
    # them, it is mostly as letters, and keeping them keeps signatures stable across Pythons.
    category = unicodedata.category(chr(cp))
    return category[0] in "LMN" or category == "Cn"


def _codepoints(text: str) -> np.ndarray:
    """The normalised text as a uint32 array of code points (see :func:`normalize`)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if not folded.isascii():
        # Case folding can leave a string that is not NFKC again (e.g. U+0390 -> 3 code points).
        folded = unicodedata.normalize("NFKC", folded)
    cps = np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32)
    table = _bmp_table()
    astral = cps > 0xFFFF
    if astral.any():
        mapped = table[np.where(astral, 0, cps)]
        for i in np.flatnonzero(astral):
            cp = int(cps[i])
            mapped[i] = cp if _is_word_char(cp) else _SPACE
    else:
        mapped = table[cps]
    space = mapped == _SPACE
    keep = ~space
    keep[1:] |= ~space[:-1]  # a space is kept when the character before it is not a space
    if keep.size:
        keep[0] &= not space[0]
    cps = mapped[keep]
    if cps.size and cps[-1] == _SPACE:
        cps = cps[:-1]
    return cps


def normalize(text: str) -> str:
    """Unicode NFKC, case fold, non-letters/marks/digits to spaces, one space between words.

    Curly and straight quotes, full-width and ASCII letters, ``\\u00a0`` and tabs all give the
    same text. Hyphens and apostrophes split words too: ``co-operate`` is ``co operate``.
    """
    return _codepoints(text).tobytes().decode("utf-32-le")


def text_fingerprint(text: str) -> bytes:
    """16-byte BLAKE2b of the normalised text: equal for texts differing only in case, spacing,
    punctuation or Unicode form. The exact-duplicate fast path, before any MinHash work."""
    return _fingerprint(_codepoints(text))


def _fingerprint(cps: np.ndarray) -> bytes:
    normalized = cps.tobytes().decode("utf-32-le")
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=16, person=b"newsarchive-fp").digest()


# -- shingle hashing ----------------------------------------------------------------------------


class _Powers:
    """R**i and R**-i modulo 2**64, grown on demand (rebound whole, so readers never see half)."""

    def __init__(self, size: int = 1 << 13) -> None:
        self._lock = threading.Lock()
        inverse = pow(_RADIX, -1, 1 << 64)
        up, down = np.empty(size, dtype=np.uint64), np.empty(size, dtype=np.uint64)
        x = y = 1
        for i in range(size):
            up[i], down[i] = x, y
            x, y = x * _RADIX & _MASK64, y * inverse & _MASK64
        self.tables = (up, down)

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        up, down = self.tables
        if n <= up.size:
            return up, down
        with self._lock:
            up, down = self.tables
            while up.size < n:
                size = up.size
                step_up = np.array([pow(_RADIX, size, 1 << 64)], dtype=np.uint64)
                step_down = np.array([pow(_RADIX, -size, 1 << 64)], dtype=np.uint64)
                up = np.concatenate((up, up * step_up))
                down = np.concatenate((down, down * step_down))
            self.tables = (up, down)
        return up, down


_POWERS = _Powers()


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finaliser, in place: every output bit depends on every input bit."""
    h ^= h >> _U64_33
    h *= _FMIX_C1
    h ^= h >> _U64_33
    h *= _FMIX_C2
    h ^= h >> _U64_33
    return h


def _shingle_hashes(cps: np.ndarray, size: int, kind: str) -> np.ndarray:
    """uint32 hash of every shingle of the normalised code points (repeats included)."""
    n = cps.size
    if n == 0:
        return np.empty(0, dtype=np.uint32)
    up, down = _POWERS.get(n + 1)
    prefix = np.empty(n + 1, dtype=np.uint64)
    prefix[0] = 0
    np.cumsum(cps * up[:n], out=prefix[1:])
    if kind == "word":
        spaces = np.flatnonzero(cps == _SPACE)
        count = spaces.size + 1 - size + 1  # words - size + 1
        if count <= 1:
            starts, ends = np.array([0]), np.array([n])
        else:
            starts = np.empty(count, dtype=np.intp)
            starts[0] = 0
            starts[1:] = spaces[: count - 1] + 1
            ends = np.empty(count, dtype=np.intp)
            ends[:-1] = spaces[size - 1 :]
            ends[-1] = n
    else:
        count = n - size + 1
        if count <= 1:
            starts, ends = np.array([0]), np.array([n])
        else:
            starts = np.arange(count)
            ends = starts + size
    h = prefix[ends] - prefix[starts]
    h *= down[starts]
    h += (ends - starts).astype(np.uint64)  # length, so that "a" and "a\0" could never meet
    return (_fmix64(h) >> _U64_32).astype(np.uint32)


# -- MinHash ------------------------------------------------------------------------------------


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.empty(num_perm, dtype=np.uint32)
    b = np.empty(num_perm, dtype=np.uint32)
    for i in range(num_perm):
        digest = hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8, person=b"newsarchive-mh").digest()
        a[i] = int.from_bytes(digest[:4], "little") | 1  # odd: a bijection modulo 2**32
        b[i] = int.from_bytes(digest[4:], "little")
    return a, b


class MinHasher:
    """Signatures for one :class:`SignatureParams`; build once, use for every document.

    Thread-safe (no state changes after construction) and cheap to build in each worker.
    """

    def __init__(self, params: SignatureParams | None = None) -> None:
        self.params = params or SignatureParams()
        self._a, self._b = _permutations(self.params.num_perm, self.params.seed)
        self._empty = np.full(self.params.num_perm, EMPTY_VALUE, dtype=np.uint32)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"

    def shingle_sequence(self, text: str) -> np.ndarray:
        """uint32 hash of every shingle of the normalised text, in text order (repeats kept):
        what :func:`winnow` selects from and :meth:`signature_from_hashes` takes, so that a
        pipeline needing both hashes the text once."""
        return _shingle_hashes(_codepoints(text), self.params.shingle_size, self.params.shingle_kind)

    def fingerprint_and_shingles(self, text: str) -> tuple[bytes, np.ndarray]:
        """:func:`text_fingerprint` and :meth:`shingle_sequence` of ``text``, normalising it once:
        what the pipeline needs of each article."""
        cps = _codepoints(text)
        return _fingerprint(cps), _shingle_hashes(cps, self.params.shingle_size, self.params.shingle_kind)

    def shingle_hashes(self, text: str) -> np.ndarray:
        """Sorted unique uint32 hashes of the normalised text's shingles: the set that
        :func:`jaccard` and :func:`containment` compare. Empty for an empty text."""
        return np.unique(self.shingle_sequence(text))

    def signature(self, text: str) -> np.ndarray:
        """``num_perm`` uint32 MinHash values of ``text``'s shingles (see the module docstring
        for empty and short texts)."""
        return self.signature_from_hashes(self.shingle_sequence(text))

    def signature_from_hashes(self, hashes: np.ndarray) -> np.ndarray:
        """The signature of a set given as uint32 shingle hashes (repeats are harmless), e.g. the
        output of :meth:`shingle_hashes`, so a pipeline that keeps the set hashes the text once."""
        hashes = np.asarray(hashes, dtype=np.uint32)
        if hashes.size == 0:
            return self._empty.copy()
        a, b = self._a, self._b
        result: np.ndarray | None = None
        block = np.empty((min(hashes.size, _CHUNK_ROWS), a.size), dtype=np.uint32)
        for start in range(0, hashes.size, _CHUNK_ROWS):
            chunk = hashes[start : start + _CHUNK_ROWS]
            out = block[: chunk.size]
            np.multiply(chunk[:, None], a, out=out)
            out += b
            mins = out.min(axis=0)
            result = mins if result is None else np.minimum(result, mins, out=result)
        assert result is not None
        return result

    def signatures(self, texts: Iterable[str]) -> np.ndarray:
        """Signatures of many texts as a (len(texts), num_perm) uint32 array, row i for text i.

        Small documents share one MinHash block (``np.minimum.reduceat`` per document), which
        saves the per-call overhead that dominates for short texts.
        """
        all_hashes = [self.shingle_sequence(text) for text in texts]
        out = np.empty((len(all_hashes), self.params.num_perm), dtype=np.uint32)
        a, b = self._a, self._b
        group: list[int] = []
        rows = 0

        def flush() -> None:
            nonlocal rows
            if not group:
                return
            lengths = [all_hashes[i].size for i in group]
            block = np.multiply(np.concatenate([all_hashes[i] for i in group])[:, None], a)
            block += b
            offsets = np.zeros(len(group), dtype=np.intp)
            np.cumsum(lengths[:-1], out=offsets[1:])
            out[group] = np.minimum.reduceat(block, offsets, axis=0)
            group.clear()
            rows = 0

        for i, hashes in enumerate(all_hashes):
            if hashes.size == 0:
                out[i] = EMPTY_VALUE
            elif hashes.size >= _CHUNK_ROWS:
                out[i] = self.signature_from_hashes(hashes)
            else:
                if rows + hashes.size > _CHUNK_ROWS:
                    flush()
                group.append(i)
                rows += hashes.size
        flush()
        return out

    def is_empty(self, signature: np.ndarray) -> bool:
        """True for the signature of a text with no words: such a text should not be indexed."""
        return bool(np.all(np.asarray(signature) == _empty_value(np.asarray(signature).dtype)))


# -- estimates and verification -----------------------------------------------------------------


def _empty_value(dtype: np.dtype) -> int:
    return EMPTY_VALUE & ((1 << (8 * dtype.itemsize)) - 1)


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two sets behind two signatures of equal length.

    Signatures read back with fewer bits (uint16 or uint8 from :func:`signature_from_bytes`)
    are compared on the bits both have; the chance that two different minima agree on those
    bits (2**-bits) is taken out of the estimate. An empty text's signature shares nothing.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"signatures must be 1-D and of equal length, got shapes {a.shape} and {b.shape}")
    dtype = min(a.dtype, b.dtype, key=lambda d: d.itemsize)
    a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    empty = _empty_value(dtype)
    if np.all(a == empty) or np.all(b == empty):
        return 0.0
    agree = float(np.count_nonzero(a == b)) / a.size
    if dtype.itemsize < 4:
        chance = 2.0 ** (-8 * dtype.itemsize)
        agree = max(0.0, (agree - chance) / (1.0 - chance))
    return agree


def estimate_containment(a: np.ndarray, b: np.ndarray, size_a: int, size_b: int) -> float:
    """Estimated containment |A∩B| / |A| from two signatures and the two set sizes (``len`` of
    :meth:`MinHasher.shingle_hashes`): ``J (|A| + |B|) / ((1 + J) |A|)``, capped at 1.

    For an index that keeps signatures and sizes but not the sets. The error of J is multiplied
    by about ``|B| / |A|``: reliable for a repost, rough for a short excerpt of a long page.
    """
    if size_a <= 0 or size_b <= 0:
        return 0.0
    j = estimate_jaccard(a, b)
    return min(1.0, j * (size_a + size_b) / ((1.0 + j) * size_a))


def signature_to_bytes(signature: np.ndarray, bits: int = 32) -> bytes:
    """Little-endian bytes of a signature, keeping the low ``bits`` (8, 16 or 32) of each value.

    32 bits round-trip exactly (4 bytes per value). 16 and 8 bits are b-bit MinHash: 2 or 1
    bytes per value, estimates slightly noisier (measured in ``bench/MINHASH.md``). The low bits
    are kept because a minimum's high bits are almost always zero.
    """
    if bits not in STORAGE_BITS:
        raise ValueError(f"bits must be one of {STORAGE_BITS}, got {bits!r}")
    signature = np.asarray(signature)
    return signature.astype(f"<u{bits // 8}").tobytes()


def signature_from_bytes(data: bytes, num_perm: int, bits: int = 32) -> np.ndarray:
    """The signature :func:`signature_to_bytes` wrote: uint32, uint16 or uint8 by ``bits``."""
    if bits not in STORAGE_BITS:
        raise ValueError(f"bits must be one of {STORAGE_BITS}, got {bits!r}")
    expected = num_perm * bits // 8
    if len(data) != expected:
        raise ValueError(
            f"a {num_perm}-value signature of {bits}-bit values is {expected} bytes, got {len(data)}: "
            "stored with other parameters?"
        )
    return np.frombuffer(data, dtype=f"<u{bits // 8}").astype(f"u{bits // 8}")


def winnow(sequence: np.ndarray, window: int) -> np.ndarray:
    """Sorted unique winnowing fingerprints of a shingle-hash sequence: the minimum of every
    ``window`` consecutive hashes (Schleimer, Wilkerson and Aiken, SIGMOD 2003, as in MOSS).

    The partial-copy sample: any passage two texts share that spans at least ``n * window``
    shingles yields at least ``n`` fingerprints in both, wherever it sits in either text, while
    only about ``2 / (window + 1)`` of a text's shingles are kept. A sequence shorter than the
    window gives its one minimum; an empty one gives nothing.
    """
    return np.unique(window_minima(sequence, window))


def window_minima(sequence: np.ndarray, window: int) -> np.ndarray:
    """The minimum of every ``window`` consecutive values, in sequence order, a run of equal
    minima kept once: what :func:`winnow` selects, in the order the text has it (so that it can
    be winnowed again, locally, as :mod:`newsarchive.dedup.partial` does for its anchors)."""
    sequence = np.asarray(sequence, dtype=np.uint32)
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window!r}")
    if sequence.size <= window:
        return sequence.min(keepdims=True) if sequence.size else sequence.copy()
    minima = np.lib.stride_tricks.sliding_window_view(sequence, window).min(axis=1)
    keep = np.empty(minima.size, dtype=bool)
    keep[0] = True
    np.not_equal(minima[1:], minima[:-1], out=keep[1:])
    return minima[keep]


def jaccard(a_hashes: np.ndarray, b_hashes: np.ndarray) -> float:
    """Exact Jaccard |A∩B| / |A∪B| of two sets from :meth:`MinHasher.shingle_hashes` (sorted,
    unique). 0.0 when either set is empty."""
    if len(a_hashes) == 0 or len(b_hashes) == 0:
        return 0.0
    common = np.intersect1d(a_hashes, b_hashes, assume_unique=True).size
    return common / (len(a_hashes) + len(b_hashes) - common)


def containment(a_hashes: np.ndarray, b_hashes: np.ndarray) -> float:
    """Exact containment |A∩B| / |A|: how much of A (an excerpt, a repost) is found in B (the
    longer page). Not symmetric. 0.0 when A is empty."""
    if len(a_hashes) == 0:
        return 0.0
    return np.intersect1d(a_hashes, b_hashes, assume_unique=True).size / len(a_hashes)
