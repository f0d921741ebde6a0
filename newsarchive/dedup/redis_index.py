"""Near-duplicate index on a Redis server, shared by crawler processes on any number of hosts.

:class:`RedisIndex` gives the answers :class:`~newsarchive.dedup.index.SqliteIndex` gives (its
docstring describes the decision: exact fingerprint, LSH candidates, estimated Jaccard, clusters
named after their canonical's fingerprint). Partial copies (``Match.partial``) are not looked
for yet: a Redis index answers ``partial=()``.

**One decision, one script.** Everything :meth:`RedisIndex.add` decides runs inside one Lua
script (:data:`_ADD_LUA`), which Redis executes atomically: the fingerprint look-up, the band-key
candidates, their verification by estimated Jaccard on the stored ``storage_bits``-bit
signatures (computed as :func:`~newsarchive.dedup.signature.estimate_jaccard` computes it, chance
agreement taken out, oldest candidate winning ties) and the insert. Two crawlers meeting two
copies of one story at the same moment end in one cluster. :meth:`RedisIndex.add_many` sends the
whole batch to one script call; each document sees the ones before it. The script is loaded
once (``EVALSHA``) and reloaded by redis-py if the server answers ``NOSCRIPT`` (after a restart).

**Key layout** (``P`` is the prefix, ``DEDUP_REDIS_PREFIX``; all integers are decimal text)::

    P:meta           hash    schema, signature_params, lsh (JSON): written once (MULTI + HSETNX)
    P:id             string  last document id (INCR)
    P:d:<id>         string  the document's record (below)
    P:keys           hash    document key -> id
    P:fp             hash    16-byte fingerprint -> "<canonical id> <documents with it>"
    P:time           zset    "<fetched_at>\\0<id>", score 0: fetched_at in byte order, as SQLite
                             compares text (ZRANGEBYLEX finds what forget_older_than drops)
    P:m:<id>         set     ids of the copies of canonical <id>
    P:clusters       zset    canonical id -> number of copies (clusters of 2 or more)
    P:b:<band>:<hi>  hash    low 18 bits of a band key -> "id,id,..." (the band key, unsigned,
                             is hi * 2**18 + low)
    P:call:<token>   string  a finished add call, for 60 s: a retried call is answered, not redone

Band keys live in small hashes (16,384 per band) rather than one set each: Redis stores a
hash of up to 128 short entries as one listpack, about 10 bytes an entry instead of about 100
for a key of its own; they stay listpacks up to about 2 million documents.

A record is ``struct`` packed, little-endian: version (1 byte), canonical id (8 bytes, 0 for a
canonical), fingerprint (16 bytes), then length-prefixed (4 bytes) fields: signature
(``storage_bits`` per value), band keys (4 bytes each; empty for an exact copy), key, url,
fetched_at, ``[site, title]`` as JSON. The next step (partial copies) adds one field (the
sampled shingle hashes), ``P:p:<hash>`` postings and a step in the script between the cluster
decision and the insert; :data:`SCHEMA_VERSION` then changes.

**Connection.** ``redis://``, ``rediss://`` (TLS) or ``unix://`` URLs as redis-py reads them
(``redis://[[user]:password@]host[:port][/db]``; query parameters override the defaults below).
A connection is opened within :data:`CONNECT_TIMEOUT_S`, a reply awaited :data:`SOCKET_TIMEOUT_S`;
a lost connection or a timeout is retried :data:`RETRIES` times with jittered exponential
back-off (0.25 s doubling up to 2 s). A retried add whose first attempt did reach the server is
recognised by its call token and answered from what was stored. Passwords never appear in
messages or logs (:func:`mask_url`). Redis Cluster is not supported: the scripts name keys they
compute themselves.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np
import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from newsarchive.dedup.index import (
    Cluster,
    ClusterMember,
    Document,
    IndexConfig,
    IndexMismatchError,
    Match,
    band_keys,
)
from newsarchive.dedup.signature import (
    SignatureParams,
    estimate_jaccard,
    signature_from_bytes,
    signature_to_bytes,
)
from newsarchive.exceptions import NewsarchiveError

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Names the key layout and record format; stored in ``P:meta``, a change is a clear error."""
DEFAULT_PREFIX = "newsarchive:dedup"
SCHEMES = ("redis", "rediss", "unix")
CONNECT_TIMEOUT_S = 5.0
SOCKET_TIMEOUT_S = 10.0
"""Per reply. A batch of 100 adds takes about 10 ms of server time; a forget chunk about as long."""
RETRIES = 3
HEALTH_CHECK_INTERVAL_S = 30
"""A connection idle for longer is PINGed before use (a server restart is noticed, not met)."""
CALL_TTL_S = 60
"""How long a finished add call is remembered: longer than the retries of one call take."""
FORGET_CHUNK = 1000
"""Old documents examined per forget script call, so that the server is never blocked long."""
READ_CHUNK = 1000
"""Records fetched per MGET by :meth:`RedisIndex.clusters`."""

_RECORD_VERSION = 1
_HEAD = struct.Struct("<BQ16sI")
_LENGTH = struct.Struct("<I")


class IndexUnavailableError(NewsarchiveError):
    """The index server cannot be reached (or refused us); the message names the masked URL."""


class DuplicateKeyError(ValueError):
    """A document key is already in the index (or twice in one batch); nothing was added."""


def mask_url(url: str) -> str:
    """``url`` with its password (and any ``password`` query parameter) replaced by ``***``."""
    try:
        base, question, rest = url.partition("?")
        netloc = urlsplit(base).netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user, colon, _password = userinfo.partition(":")
            base = base.replace(netloc, f"{user}{':***' if colon else ''}@{host}", 1)
        query, hash_, fragment = rest.partition("#")
        if "password" in query.lower():
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode([(k, "***" if "password" in k.lower() else v) for k, v in pairs], safe="*")
        return f"{base}{question}{query}{hash_}{fragment}"
    except ValueError:
        return "<unparseable URL>"


# -- Lua ----------------------------------------------------------------------------------------

_COMMON_LUA = r"""
local P = ARGV[1]
local K_ID, K_KEYS, K_FP, K_TIME = P .. ':id', P .. ':keys', P .. ':fp', P .. ':time'
local K_CLUSTERS, DOC, MEMBERS, BAND = P .. ':clusters', P .. ':d:', P .. ':m:', P .. ':b:'
local FIELD_SPAN = 262144  -- 2^18: band key = bucket * FIELD_SPAN + field
local RECORD = '<BI8c16I4c0I4c0I4c0I4c0I4c0I4c0'
local HEAD = '<BI8c16I4c0'

local function head(rec)  -- canonical id (0: itself), fingerprint, signature
  local _, canon, fp, sig = struct.unpack(HEAD, rec)
  return canon, fp, sig
end

local function record(rec)
  local _, canon, fp, sig, bands, key, url, fetched = struct.unpack(RECORD, rec)
  return {canon = canon, fp = fp, sig = sig, bands = bands, key = key, url = url, fetched = fetched}
end

local function band_slot(bands, b)  -- the hash and field of band b's key
  local u = struct.unpack('<I4', bands, 4 * b + 1)
  return BAND .. b .. ':' .. math.floor(u / FIELD_SPAN), u % FIELD_SPAN
end
"""

_ADD_LUA = (
    _COMMON_LUA
    + r"""
-- ARGV: prefix, mode (add | find | insert), call token, threshold, bits per value, documents,
-- then FIELDS values per document: key, url, fetched_at, extra, fingerprint, signature, band
-- keys, canonical id (mode insert only: what a non-atomic index decided; tests use it).
local MODE, TOKEN = ARGV[2], ARGV[3]
local THRESHOLD, BITS, N = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local FIELDS, FIRST = 8, 7
local WIDTH = BITS / 8
local CHANCE = 2 ^ (-BITS)

local function doc(i)
  local a = FIRST + (i - 1) * FIELDS
  return {key = ARGV[a], url = ARGV[a + 1], fetched = ARGV[a + 2], extra = ARGV[a + 3],
          fp = ARGV[a + 4], sig = ARGV[a + 5], bands = ARGV[a + 6], decided = ARGV[a + 7]}
end

local function bytes(s)  -- string.byte in slices: Lua's C stack holds at most 8000 values
  if #s <= 4096 then return {string.byte(s, 1, -1)} end
  local t = {}
  for start = 1, #s, 4096 do
    local slice = {string.byte(s, start, math.min(start + 4095, #s))}
    for i = 1, #slice do t[start + i - 1] = slice[i] end
  end
  return t
end

-- estimate_jaccard(): share of equal values, less the chance agreement of b-bit values;
-- an empty text's signature (every value all ones) shares nothing.
local function estimate(q, empty, sig)
  if sig == empty then return 0.0 end
  local s, count = bytes(sig), 0
  if WIDTH == 1 then
    for i = 1, #q do if q[i] == s[i] then count = count + 1 end end
  else
    for i = 1, #q, WIDTH do
      local same = true
      for j = i, i + WIDTH - 1 do if q[j] ~= s[j] then same = false break end end
      if same then count = count + 1 end
    end
  end
  local agree = count / (#q / WIDTH)
  if BITS < 32 then agree = math.max(0.0, (agree - CHANCE) / (1.0 - CHANCE)) end
  return agree
end

local function band_values(d)  -- {hash, field, current ids or false} of each band key
  local slots = {}
  for b = 0, #d.bands / 4 - 1 do
    local bucket, field = band_slot(d.bands, b)
    slots[#slots + 1] = {bucket, field, redis.call('HGET', bucket, field)}
  end
  return slots
end

-- The cluster of d: canonical id (nil: d starts a new cluster), its P:fp entry if d's
-- fingerprint is known (the exact fast path), else its band slots (to store d's band keys).
local function decide(d)
  local entry = redis.call('HGET', K_FP, d.fp)
  if entry then return tonumber(string.match(entry, '^%d+')), entry, nil end
  local slots, seen, ids = band_values(d), {}, {}
  for _, slot in ipairs(slots) do
    if slot[3] then
      for id in string.gmatch(slot[3], '%d+') do
        if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
      end
    end
  end
  if #ids == 0 then return nil, nil, slots end
  local keys = {}
  for i, id in ipairs(ids) do keys[i] = DOC .. id end
  local recs = redis.call('MGET', unpack(keys))
  local empty = string.rep('\255', #d.sig)
  local q = d.sig == empty and {} or bytes(d.sig)
  local best_sim, best_id, best_canon
  for i, id in ipairs(ids) do
    if recs[i] and d.sig ~= empty then
      local canon, _, sig = head(recs[i])
      local sim = estimate(q, empty, sig)
      id = tonumber(id)
      if sim >= THRESHOLD and (best_sim == nil or sim > best_sim or (sim == best_sim and id < best_id)) then
        best_sim, best_id = sim, id
        best_canon = canon == 0 and id or canon
      end
    end
  end
  return best_canon, nil, slots
end

local function insert(d, canon, entry, slots)
  local id = redis.call('INCR', K_ID)
  local bands = slots and d.bands or ''
  redis.call('SET', DOC .. id, struct.pack(RECORD, 1, canon or 0, d.fp, #d.sig, d.sig, #bands, bands,
    #d.key, d.key, #d.url, d.url, #d.fetched, d.fetched, #d.extra, d.extra))
  redis.call('HSET', K_KEYS, d.key, id)
  redis.call('ZADD', K_TIME, 0, d.fetched .. '\0' .. id)
  if entry then
    local first, count = string.match(entry, '^(%d+) (%d+)$')
    redis.call('HSET', K_FP, d.fp, first .. ' ' .. (tonumber(count) + 1))
  else
    redis.call('HSET', K_FP, d.fp, (canon or id) .. ' 1')
  end
  if canon then
    redis.call('SADD', MEMBERS .. canon, id)
    redis.call('ZINCRBY', K_CLUSTERS, 1, canon)
  end
  if slots then
    for _, slot in ipairs(slots) do
      redis.call('HSET', slot[1], slot[2], slot[3] and (slot[3] .. ',' .. id) or id)
    end
  end
  return id
end

-- {id (0 if not added), canonical id (0: d is the canonical), canonical fingerprint, url, signature}
local function answer(id, canon, fp)
  if not canon then return {id, 0, fp, false, false} end
  local c = record(redis.call('GET', DOC .. canon))
  return {id, canon, c.fp, c.url, c.sig}
end

local out = {}
if MODE == 'add' and redis.call('EXISTS', P .. ':call:' .. TOKEN) == 1 then
  for i = 1, N do  -- a retry of a call that was done: the answers it gave
    local d = doc(i)
    local id = tonumber(redis.call('HGET', K_KEYS, d.key))
    local canon = head(redis.call('GET', DOC .. id))
    out[i] = answer(id, canon ~= 0 and canon or nil, d.fp)
  end
  return out
end
if MODE ~= 'find' then  -- every key checked before anything is written: a batch is all or nothing
  local keys = {}
  for i = 1, N do
    local key = doc(i).key
    if keys[key] or redis.call('HEXISTS', K_KEYS, key) == 1 then
      return redis.error_reply('DUPLICATE_KEY ' .. key)
    end
    keys[key] = true
  end
end
for i = 1, N do
  local d = doc(i)
  local canon, entry, slots
  if MODE == 'insert' then
    canon = tonumber(d.decided)
    if canon == 0 then canon = nil end
    entry = redis.call('HGET', K_FP, d.fp)
    if not entry then slots = band_values(d) end
  else
    canon, entry, slots = decide(d)
  end
  local id = 0
  if MODE ~= 'find' then id = insert(d, canon, entry, slots) end
  out[i] = answer(id, canon, d.fp)
end
if MODE == 'add' then redis.call('SET', P .. ':call:' .. TOKEN, 1, 'EX', tonumber(ARGV[#ARGV])) end
return out
"""
)

_FORGET_LUA = (
    _COMMON_LUA
    + r"""
-- ARGV: prefix, cutoff, cursor (last P:time member seen; '' to start), limit.
-- Returns {documents deleted, members examined, last member examined}.
local CUTOFF, CURSOR, LIMIT = ARGV[2], ARGV[3], tonumber(ARGV[4])

local function before(a, b)  -- byte order, as SQLite compares text (Lua's < follows the locale)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local function delete(id, r)
  redis.call('DEL', DOC .. id)
  redis.call('HDEL', K_KEYS, r.key)
  redis.call('ZREM', K_TIME, r.fetched .. '\0' .. id)
  local entry = redis.call('HGET', K_FP, r.fp)
  if entry then
    local first, count = string.match(entry, '^(%d+) (%d+)$')
    count = tonumber(count) - 1
    if count > 0 then redis.call('HSET', K_FP, r.fp, first .. ' ' .. count)
    else redis.call('HDEL', K_FP, r.fp) end
  end
  for b = 0, #r.bands / 4 - 1 do
    local bucket, field = band_slot(r.bands, b)
    local value = redis.call('HGET', bucket, field)
    if value then
      local rest = {}
      for other in string.gmatch(value, '%d+') do
        if tonumber(other) ~= id then rest[#rest + 1] = other end
      end
      if #rest == 0 then redis.call('HDEL', bucket, field)
      else redis.call('HSET', bucket, field, table.concat(rest, ',')) end
    end
  end
  if r.canon ~= 0 then
    redis.call('SREM', MEMBERS .. r.canon, id)
    if tonumber(redis.call('ZINCRBY', K_CLUSTERS, -1, r.canon)) <= 0 then
      redis.call('ZREM', K_CLUSTERS, r.canon)
    end
  end
end

local low = CURSOR == '' and '-' or ('(' .. CURSOR)
local members = redis.call('ZRANGEBYLEX', K_TIME, low, '(' .. CUTOFF, 'LIMIT', 0, LIMIT)
local deleted = 0
for _, member in ipairs(members) do
  local id = tonumber(string.match(member, '%z(%d+)$'))
  local rec = redis.call('GET', DOC .. id)
  if rec then
    local r = record(rec)
    if r.canon ~= 0 then
      delete(id, r)
      deleted = deleted + 1
    else
      -- A canonical goes only with its last copy: kept while a copy is fetched at or after
      -- the cutoff; otherwise its copies (all older) go with it, in this same call.
      local copies, keep = {}, false
      for _, copy in ipairs(redis.call('SMEMBERS', MEMBERS .. id)) do
        local c = record(redis.call('GET', DOC .. copy))
        if not before(c.fetched, CUTOFF) then keep = true break end
        copies[#copies + 1] = {tonumber(copy), c}
      end
      if not keep then
        for _, copy in ipairs(copies) do delete(copy[1], copy[2]) end
        delete(id, r)
        deleted = deleted + 1 + #copies
      end
    end
  end
end
return {deleted, #members, members[#members] or ''}
"""
)

_LOOKUP_LUA = (
    _COMMON_LUA
    + r"""
-- ARGV: prefix, document keys. Returns the cluster's fingerprint of each (false: not indexed).
local out = {}
for i = 2, #ARGV do
  local id = redis.call('HGET', K_KEYS, ARGV[i])
  local fp = false
  if id then
    local canon, own = head(redis.call('GET', DOC .. id))
    fp = own
    if canon ~= 0 then
      local _, theirs = head(redis.call('GET', DOC .. canon))
      fp = theirs
    end
  end
  out[i - 1] = fp
end
return out
"""
)


# -- the index ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Record:
    id: int
    canonical: int
    """0 for a canonical."""
    fingerprint: bytes
    signature: bytes
    key: str
    url: str
    site: str | None
    title: str | None
    fetched_at: str


def _parse(doc_id: int, data: bytes) -> _Record:
    version, canonical, fingerprint, length = _HEAD.unpack_from(data)
    if version != _RECORD_VERSION:
        raise ValueError(f"document record {doc_id} has version {version}, expected {_RECORD_VERSION}")
    pos = _HEAD.size
    signature = data[pos : pos + length]
    pos += length
    fields = []
    for _ in range(5):  # band keys, key, url, fetched_at, extra
        (length,) = _LENGTH.unpack_from(data, pos)
        pos += _LENGTH.size
        fields.append(data[pos : pos + length])
        pos += length
    _bands, key, url, fetched_at, extra = fields
    site, title = json.loads(extra)
    return _Record(
        doc_id,
        canonical,
        fingerprint,
        signature,
        key.decode(),
        url.decode(),
        site,
        title,
        fetched_at.decode(),
    )


class RedisIndex:
    """Near-duplicate index on a standalone Redis server (tested with 7.0); see the module docstring.

    Thread-safe (redis-py's connection pool gives each thread its own connection). Use as a
    context manager or call :meth:`close`.
    """

    def __init__(
        self,
        url: str,
        params: SignatureParams,
        config: IndexConfig | None = None,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self.url = mask_url(url)
        """The server's URL, password masked."""
        self.prefix = prefix
        self.params = params
        self.config = config or IndexConfig()
        if self.config.bands * self.config.rows > params.num_perm:
            raise ValueError(
                f"DEDUP_BANDS x DEDUP_ROWS ({self.config.bands} x {self.config.rows} = "
                f"{self.config.bands * self.config.rows}) must not exceed DEDUP_NUM_PERM ({params.num_perm})"
            )
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"DEDUP_REDIS_PREFIX must be a non-empty string, got {prefix!r}")
        scheme = urlsplit(url).scheme
        if scheme not in SCHEMES:
            raise ValueError(
                f"{self.url}: a Redis URL starts with {', '.join(s + '://' for s in SCHEMES)}, got {scheme!r}"
            )
        try:
            self._redis = redis.Redis.from_url(
                url,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
                socket_timeout=SOCKET_TIMEOUT_S,
                retry=Retry(ExponentialWithJitterBackoff(base=0.25, cap=2.0), RETRIES),
                health_check_interval=HEALTH_CHECK_INTERVAL_S,
                client_name="newsarchive-dedup",
            )
        except ValueError as exc:  # a query parameter redis-py cannot read
            raise ValueError(f"{self.url}: {exc}") from None
        try:
            self._open()
        except redis.RedisError as exc:
            self._redis.close()
            raise IndexUnavailableError(
                f"the dedup index at {self.url} (prefix {prefix!r}) cannot be used: {exc} "
                "(is the server running, and are the URL's host, port, password and scheme right?)"
            ) from None
        except BaseException:
            self._redis.close()
            raise
        logger.info("Dedup index: %s, prefix %r, %d documents", self.url, prefix, len(self))

    def _open(self) -> None:
        stored_params = self.params.as_dict()
        stored_layout = self.config.layout()
        ours = {"schema": SCHEMA_VERSION, "signature_params": stored_params, "lsh": stored_layout}
        with self._redis.pipeline(transaction=True) as pipe:  # MULTI: a first writer wins whole
            for name, value in ours.items():
                pipe.hsetnx(self._key("meta"), name, json.dumps(value))
            pipe.hgetall(self._key("meta"))
            meta = {name.decode(): json.loads(value) for name, value in pipe.execute()[-1].items()}
        problems: list[str] = []
        if meta.get("schema") != SCHEMA_VERSION:
            problems.append(f"schema version: ours {SCHEMA_VERSION}, stored {meta.get('schema')}")
        for key, (mine, stored) in sorted(self.params.differences(meta.get("signature_params", {})).items()):
            problems.append(f"signature parameter {key}: ours {mine!r}, stored {stored!r}")
        stored_lsh = meta.get("lsh", {})
        for key in sorted(stored_layout.keys() | stored_lsh.keys()):
            mine, stored = stored_layout.get(key), stored_lsh.get(key)
            if mine != stored:
                problems.append(f"index setting {key}: ours {mine!r}, stored {stored!r}")
        if problems:
            raise IndexMismatchError(
                f"the dedup index at {self.url} (prefix {self.prefix!r}) was built with other settings; "
                "its signatures cannot be compared with ours:\n  "
                + "\n  ".join(problems)
                + "\nuse the stored settings or another DEDUP_REDIS_PREFIX"
            )
        self._add_script = self._redis.register_script(_ADD_LUA)
        self._forget_script = self._redis.register_script(_FORGET_LUA)
        self._lookup_script = self._redis.register_script(_LOOKUP_LUA)
        for script in (self._add_script, self._forget_script, self._lookup_script):
            script.sha = self._redis.script_load(script.script)  # fails early if scripting is off

    def _key(self, *parts: object) -> str:
        return ":".join((self.prefix, *map(str, parts)))

    # -- public API -----------------------------------------------------------------------------

    def add(self, doc: Document) -> Match:
        """Find ``doc``'s cluster and insert it, in one atomic script call."""
        return self.add_many([doc])[0]

    def add_many(self, docs: Sequence[Document]) -> list[Match]:
        """:meth:`add` each document in order, in ONE script call: a document sees the ones before
        it in the batch; a key already indexed (or repeated) raises :class:`DuplicateKeyError`
        and adds nothing. The server runs nothing else meanwhile (about 0.1 ms a document)."""
        return [match for match, _, _ in self._run("add", docs)]

    def find(self, doc: Document) -> Match:
        """What :meth:`add` would answer for ``doc``, without adding it."""
        return self._run("find", [doc])[0][0]

    def _run(
        self, mode: str, docs: Sequence[Document], decided: Sequence[int] | None = None
    ) -> list[tuple[Match, int, int]]:
        """(match, document id or 0 if not added, canonical id or 0 if it is one) of each document.

        ``mode`` "insert" stores each document in the cluster of ``decided`` (canonical ids, 0 for
        a new cluster) without deciding anything: what an index that queried and inserted in
        two round trips would do, for the tests to show that they would catch it."""
        if not docs:
            return []
        signatures = [self._check(doc) for doc in docs]
        bits = self.config.storage_bits
        args: list[Any] = [
            self.prefix,
            mode,
            _call_token(),  # names this call: a retry of it is answered, not done again
            repr(float(self.config.near_duplicate)),
            bits,
            len(docs),
        ]
        for i, (doc, signature) in enumerate(zip(docs, signatures, strict=True)):
            keys = band_keys(signature, self.config.bands, self.config.rows)
            args += [
                doc.key,
                doc.url,
                doc.fetched_at,
                json.dumps([doc.site, doc.title], ensure_ascii=False),
                doc.fingerprint,
                signature_to_bytes(signature, bits),
                np.asarray(keys, dtype="<i4").tobytes(),
                decided[i] if decided is not None else 0,
            ]
        args.append(CALL_TTL_S)
        try:
            replies = self._add_script(args=args)
        except redis.ResponseError as exc:
            message = str(exc)
            if message.startswith("DUPLICATE_KEY "):
                raise DuplicateKeyError(
                    f"document key {message.removeprefix('DUPLICATE_KEY ')!r} is already in the index "
                    f"at {self.url} (prefix {self.prefix!r}); nothing of this batch was added"
                ) from None
            raise
        results = []
        for doc, signature, (doc_id, canonical, fingerprint, url, stored) in zip(
            docs, signatures, replies, strict=True
        ):
            if canonical == 0:
                match = Match(fingerprint.hex(), None, None, False)
            else:
                exact = fingerprint == doc.fingerprint
                similarity = 1.0 if exact else estimate_jaccard(signature, self._signature(stored))
                match = Match(fingerprint.hex(), url.decode(), similarity, exact)
            results.append((match, doc_id, canonical))
        return results

    def _check(self, doc: Document) -> np.ndarray:
        signature = np.asarray(doc.signature)
        if signature.shape != (self.params.num_perm,):
            raise ValueError(
                f"signature of {doc.url} has shape {signature.shape}, expected ({self.params.num_perm},)"
            )
        signature = signature.astype(np.uint32, copy=False)
        if np.all(signature == 0xFFFFFFFF):
            raise ValueError(f"{doc.url}: the text is empty after normalisation; do not index it")
        if len(doc.fingerprint) != 16:
            raise ValueError(
                f"{doc.url}: fingerprint must be 16 bytes (text_fingerprint), got {len(doc.fingerprint)}"
            )
        return signature

    def _signature(self, data: bytes) -> np.ndarray:
        return signature_from_bytes(data, self.params.num_perm, self.config.storage_bits)

    def forget_older_than(self, cutoff_iso: str) -> int:
        """Delete documents fetched before ``cutoff_iso`` (and their band keys); return how many.

        A canonical whose cluster still has a copy fetched at or after the cutoff is kept, so the
        surviving copies keep their ``cluster_id`` and ``duplicate_of``; it goes with its last copy
        (in the same script call). Runs in calls of :data:`FORGET_CHUNK` old documents, so adds
        from other crawlers go on in between.
        """
        deleted, cursor = 0, ""
        while True:
            count, examined, cursor = self._forget_script(
                args=[self.prefix, cutoff_iso, cursor, FORGET_CHUNK]
            )
            deleted += count
            if examined < FORGET_CHUNK:
                return deleted

    def clusters(self, min_size: int = 2) -> list[Cluster]:
        """Every cluster of at least ``min_size`` documents, largest first (then oldest first).

        Read in several round trips: documents added meanwhile may or may not be included.
        """
        if min_size <= 1:
            ids = [int(doc_id) for _, doc_id in self._redis.hscan_iter(self._key("keys"))]
        else:
            heads = [int(c) for c in self._redis.zrangebyscore(self._key("clusters"), min_size - 1, "+inf")]
            with self._redis.pipeline(transaction=False) as pipe:
                for canonical in heads:
                    pipe.smembers(self._key("m", canonical))
                copies = pipe.execute()
            ids = heads + [int(c) for members in copies for c in members]
        records = self._records(sorted(set(ids)))
        groups: dict[int, list[_Record]] = {}
        for record in records.values():
            groups.setdefault(record.canonical or record.id, []).append(record)
        result = []
        for canonical_id, group in groups.items():
            head = records.get(canonical_id)
            if head is None or len(group) < min_size:
                continue  # forgotten, or grown or shrunk between two reads
            head_signature = self._signature(head.signature)
            members = []
            for record in group:
                if record is head:
                    continue
                exact = record.fingerprint == head.fingerprint
                similarity = (
                    1.0 if exact else estimate_jaccard(self._signature(record.signature), head_signature)
                )
                members.append(_member(record, similarity, exact))
            members.sort(key=lambda m: (m.fetched_at, m.key))
            result.append(Cluster(head.fingerprint.hex(), _member(head, None, False), tuple(members)))
        result.sort(key=lambda c: (-c.size, c.canonical.fetched_at, c.cluster_id))
        return result

    def _records(self, ids: Sequence[int]) -> dict[int, _Record]:
        records = {}
        for start in range(0, len(ids), READ_CHUNK):
            chunk = ids[start : start + READ_CHUNK]
            for doc_id, data in zip(chunk, self._redis.mget([self._key("d", i) for i in chunk]), strict=True):
                if data is not None:
                    records[doc_id] = _parse(doc_id, data)
        return records

    def lookup(self, keys: Iterable[str]) -> dict[str, str]:
        """``{document key: cluster_id}`` for the given keys that are in the index."""
        keys = list(keys)
        if not keys:
            return {}
        fingerprints = self._lookup_script(args=[self.prefix, *keys])
        return {key: fp.hex() for key, fp in zip(keys, fingerprints, strict=True) if fp is not None}

    def __len__(self) -> int:
        return int(self._redis.hlen(self._key("keys")))

    def close(self) -> None:
        self._redis.close()

    def __enter__(self) -> RedisIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.url!r}, {self.params!r}, {self.config!r}, prefix={self.prefix!r})"
        )


def _call_token() -> str:
    return os.urandom(12).hex()


def _member(record: _Record, similarity: float | None, exact: bool) -> ClusterMember:
    return ClusterMember(
        record.key,
        record.url,
        record.site,
        record.title,
        record.fetched_at,
        similarity=similarity,
        exact=exact,
    )
