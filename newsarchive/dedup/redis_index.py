"""Near-duplicate index on a Redis server, shared by crawler processes on any number of hosts.

:class:`RedisIndex` gives the answers :class:`~newsarchive.dedup.index.SqliteIndex` gives (its
docstring describes the decision: exact fingerprint, LSH candidates, estimated Jaccard, clusters
named after their canonical's fingerprint), partial copies included: the orchestration of
:mod:`~newsarchive.dedup.passages` over this module's storage (:class:`_RedisPassages`).

**One decision, one script.** Everything :meth:`RedisIndex.add` decides about the cluster runs
inside one Lua script (:data:`_ADD_LUA`), which Redis executes atomically: the fingerprint
look-up, the band-key candidates, their verification by estimated Jaccard on the stored
``storage_bits``-bit signatures (computed as :func:`~newsarchive.dedup.signature.estimate_jaccard`
computes it, chance agreement taken out, oldest candidate winning ties) and the insert. Two
crawlers meeting two copies of one story at the same moment end in one cluster. The same script
then reads the document's passage holders (the stored documents sharing one of its anchors, with
their records) and puts its anchors in the passage index: of two texts sharing a passage added
at the same moment, the second sees the first. The partial-copy rules run in Python on that
answer; when a stored text may have the new one as a source, its own holders are read in a
second script call (:data:`_PASSAGES_LUA`), and found links are written in a third
(:data:`_LINKS_LUA`, after one pipelined read). A plain add is one round trip; one with partial
copies around it, three or four. Links are written after the script, by the crawler that found
them: when crawlers adding other texts at the same moment re-judge the same pair (as sources of
a roundup, say), the link may be written twice, and in a rare case one way by each.

:meth:`RedisIndex.add_many` sends the whole batch to one script call; each document sees the ones
before it (and its partial step is judged as if the ones after it were not there yet: their
postings and exact twins are left out, and their clusters' first dates taken as they were before
them). The scripts are loaded once (``EVALSHA``) and reloaded by redis-py if the server answers
``NOSCRIPT`` (after a restart).

**Key layout** (``P`` is the prefix, ``DEDUP_REDIS_PREFIX``; all integers are decimal text)::

    P:meta           hash    schema, signature_params, lsh (JSON): written once (MULTI + HSETNX)
    P:id             string  last document id (INCR)
    P:d:<id>         string  the document's record (below)
    P:keys           hash    document key -> id
    P:fp             hash    16-byte fingerprint -> "<canonical id> <id>,<id>,...": the documents
                             with it (an exact copy's earliest twin is found there)
    P:time           zset    "<fetched_at>\\0<id>", score 0: fetched_at in byte order, as SQLite
                             compares text (ZRANGEBYLEX finds what forget_older_than drops)
    P:m:<id>         set     ids of the copies of canonical <id>
    P:clusters       zset    canonical id -> number of copies (clusters of 2 or more)
    P:b:<band>:<hi>  hash    low 18 bits of a band key -> "id,id,..." (the band key, unsigned,
                             is hi * 2**18 + low)
    P:p:<hi>         hash    low 14 bits of an anchor -> its postings, "doc" (a canonical) or
                             "doc:cluster", comma-separated; "*" once they outgrow 64 bytes
                             and move to P:pc:<anchor> (the anchor is hi * 2**14 + low)
    P:pc:<anchor>    hash    cluster -> "doc,doc,...": an anchor held by many documents; HLEN
                             counts its stories, so a boilerplate anchor costs one command
    P:l:<id>         hash    the document's partial links: "c<source id>" -> "<containment>
                             <share>" (it copies that source), "s<copy id>" -> "" (copied by it)
    P:linked         set     ids of documents with a P:l hash (what clusters() reads)
    P:call:<token>   string  a finished add call, for 60 s: a retried call is answered, not redone

Band keys and anchors live in small hashes (16,384 per band; 262,144 for anchors) rather than
one key each: Redis stores a hash of up to 128 short entries as one listpack, about 10 bytes an
entry instead of about 100 for a key of its own. Band hashes stay listpacks up to about 2
million documents, anchor hashes (about 60 anchors a document) up to about 500,000; past that
raise ``hash-max-listpack-entries`` (say to 512) to keep them compact.

A record is ``struct`` packed, little-endian: version (1 byte), canonical id (8 bytes, 0 for a
canonical), fingerprint (16 bytes), then length-prefixed (4 bytes) fields: signature
(``storage_bits`` per value), band keys (4 bytes each; empty for an exact copy), key, url,
fetched_at, ``[site, title, published]`` as JSON, passages (the partial-copy fingerprints,
uint32 each; empty for an exact copy), anchor mask (one bit per passage), first_seen (of a
canonical: the earliest publication or fetch date in its cluster, lowered in place as copies
join; empty for a copy). First_seen is last, so that the add script rewrites it cheaply.

**Connection.** ``redis://``, ``rediss://`` (TLS) or ``unix://`` URLs as redis-py reads them
(``redis://[[user]:password@]host[:port][/db]``; query parameters override the defaults below).
A connection is opened within :data:`CONNECT_TIMEOUT_S`, a reply awaited :data:`SOCKET_TIMEOUT_S`;
a lost connection or a timeout is retried :data:`RETRIES` times with jittered exponential
back-off (0.25 s doubling up to 2 s). A retried add whose first attempt did reach the server is
recognised by its call token and answered from what was stored (its passage holders read again,
the call's own documents left out). Passwords never appear in messages or logs
(:func:`mask_url`). Redis Cluster is not supported: the scripts name keys they compute
themselves.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np
import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from newsarchive.dedup import partial
from newsarchive.dedup.index import (
    Cluster,
    ClusterMember,
    Document,
    DuplicateKeyError,
    IndexConfig,
    IndexMismatchError,
    Match,
    PartialCopy,
    band_keys,
    checked_signature,
)
from newsarchive.dedup.passages import (
    Found,
    PassageFinder,
    encode,
    new_text,
    passages_of,
    seen_of,
    stored_text,
)
from newsarchive.dedup.signature import (
    SignatureParams,
    estimate_jaccard,
    signature_from_bytes,
    signature_to_bytes,
)
from newsarchive.exceptions import NewsarchiveError

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
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

_RECORD_VERSION = 2
_HEAD = struct.Struct("<BQ16sI")
_LENGTH = struct.Struct("<I")


class IndexUnavailableError(NewsarchiveError):
    """The index server cannot be reached (or refused us); the message names the masked URL."""


class IndexNotFoundError(LookupError):
    """No index under that prefix on that server (:meth:`RedisIndex.open_existing`)."""


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
local POSTINGS, BIG, LINKS, K_LINKED = P .. ':p:', P .. ':pc:', P .. ':l:', P .. ':linked'
local FIELD_SPAN = 262144  -- 2^18: band key = bucket * FIELD_SPAN + field
local ANCHOR_SPAN = 16384  -- 2^14: anchor = bucket * ANCHOR_SPAN + field
local INLINE = 64  -- longest postings value kept in P:p: (Redis's hash-max-listpack-value)
local RECORD = '<BI8c16I4c0I4c0I4c0I4c0I4c0I4c0I4c0I4c0I4c0'
local HEAD = '<BI8c16I4c0'

local function head(rec)  -- canonical id (0: itself), fingerprint, signature
  local _, canon, fp, sig = struct.unpack(HEAD, rec)
  return canon, fp, sig
end

local function record(rec)
  local _, canon, fp, sig, bands, key, url, fetched, _, passages, mask, first = struct.unpack(RECORD, rec)
  return {canon = canon, fp = fp, sig = sig, bands = bands, key = key, url = url, fetched = fetched,
          passages = passages, mask = mask, first = first}
end

local function before(a, b)  -- byte order, as SQLite compares text (Lua's < follows the locale)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local function band_slot(bands, b)  -- the hash and field of band b's key
  local u = struct.unpack('<I4', bands, 4 * b + 1)
  return BAND .. b .. ':' .. math.floor(u / FIELD_SPAN), u % FIELD_SPAN
end

local function uint32s(s)
  local t = {}
  for i = 1, #s, 4 do t[#t + 1] = struct.unpack('<I4', s, i) end
  return t
end

local function anchor_slot(a)  -- the hash and field of anchor a's postings
  return POSTINGS .. math.floor(a / ANCHOR_SPAN), a % ANCHOR_SPAN
end

local function inline(v)  -- {{doc, cluster}, ...} of a postings value of P:p:
  local t = {}
  for d, c in string.gmatch(v, '(%d+):?(%d*)') do
    d = tonumber(d)
    t[#t + 1] = {d, c == '' and d or tonumber(c)}
  end
  return t
end

-- The postings of anchor a, {{doc, cluster}, ...}, or nil when they name more than `limit`
-- clusters (then not read); and the P:p: value (false: none, '*': they are in P:pc:<a>).
local function postings(a, limit)
  local bucket, field = anchor_slot(a)
  local v = redis.call('HGET', bucket, field)
  if not v then return {}, false end
  if v ~= '*' then return inline(v), v end
  if redis.call('HLEN', BIG .. a) > limit then return nil, v end
  local flat, list = redis.call('HGETALL', BIG .. a), {}
  for i = 1, #flat, 2 do
    local cluster = tonumber(flat[i])
    for d in string.gmatch(flat[i + 1], '%d+') do list[#list + 1] = {tonumber(d), cluster} end
  end
  return list, v
end

-- The documents holding one of `anchors` through an anchor whose postings name at most `max`
-- clusters, documents lo..hi left out (not counted either): partial.py's holders, once each.
-- `values` (if given) gets each anchor's P:p: value, for post().
local function holders(anchors, lo, hi, max, values)
  local ids, seen = {}, {}
  for k, a in ipairs(anchors) do
    local list, v = postings(a, max + hi - lo + 1)
    if values then values[k] = v end
    if list then
      local clusters, n, docs = {}, 0, {}
      for _, p in ipairs(list) do
        if p[1] < lo or p[1] > hi then
          docs[#docs + 1] = p[1]
          if not clusters[p[2]] then clusters[p[2]] = true; n = n + 1 end
        end
      end
      if n <= max then
        for _, d in ipairs(docs) do
          if not seen[d] then seen[d] = true; ids[#ids + 1] = d end
        end
      end
    end
  end
  return ids
end

local function append(big, cluster, id)
  local docs = redis.call('HGET', big, cluster)
  redis.call('HSET', big, cluster, docs and (docs .. ',' .. id) or id)
end

-- Index document id (of cluster canon) under each of `anchors`; `values`: from holders().
local function post(id, canon, anchors, values)
  local own = canon == id and tostring(id) or (id .. ':' .. canon)
  for k, a in ipairs(anchors) do
    local bucket, field = anchor_slot(a)
    local v = values[k]
    if v == '*' then
      append(BIG .. a, canon, id)
    elseif v and #v + 1 + #own > INLINE then  -- many holders: a hash of their own, by cluster
      for _, p in ipairs(inline(v)) do append(BIG .. a, p[2], p[1]) end
      append(BIG .. a, canon, id)
      redis.call('HSET', bucket, field, '*')
    else
      redis.call('HSET', bucket, field, v and (v .. ',' .. own) or own)
    end
  end
end

-- The ids of the other documents with fingerprint fp, but those in lo..hi.
local function twins(id, fp, lo, hi)
  local entry, out = redis.call('HGET', K_FP, fp), {}
  if entry then
    for other in string.gmatch(string.match(entry, ' (.*)$'), '%d+') do
      other = tonumber(other)
      if other ~= id and (other < lo or other > hi) then out[#out + 1] = other end
    end
  end
  return out
end

local function mget(ids)  -- records of ids (false if gone), in slices: Lua's stack is small
  local out = {}
  for start = 1, #ids, 1000 do
    local keys = {}
    for i = start, math.min(start + 999, #ids) do keys[#keys + 1] = DOC .. ids[i] end
    local recs = redis.call('MGET', unpack(keys))
    for i = 1, #recs do out[#out + 1] = recs[i] end
  end
  return out
end

-- {holder ids, twin ids, {id, record, ...}}: the records of both and of their canonicals.
local function found(hold, twin)
  local ids, have = {}, {}
  for _, list in ipairs({hold, twin}) do
    for _, id in ipairs(list) do
      if not have[id] then have[id] = true; ids[#ids + 1] = id end
    end
  end
  local flat, canons, recs = {}, {}, mget(ids)
  for i, id in ipairs(ids) do
    if recs[i] then
      flat[#flat + 1] = id
      flat[#flat + 1] = recs[i]
      local canon = head(recs[i])
      if canon ~= 0 and not have[canon] then have[canon] = true; canons[#canons + 1] = canon end
    end
  end
  recs = mget(canons)
  for i, id in ipairs(canons) do
    if recs[i] then flat[#flat + 1] = id; flat[#flat + 1] = recs[i] end
  end
  return {hold, twin, flat}
end
"""

_ADD_LUA = (
    _COMMON_LUA
    + r"""
-- ARGV: prefix, mode (add | find | insert), call token, threshold, bits per value, documents,
-- max holders of an anchor, then FIELDS values per document: key, url, fetched_at, extra,
-- fingerprint, signature, band keys, canonical id (mode insert only: what a non-atomic index
-- decided; tests use it), seen (published or fetched_at), passages, anchor mask, anchors;
-- then the call token's lifetime.
local MODE, TOKEN = ARGV[2], ARGV[3]
local THRESHOLD, BITS, N, MAX = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local FIELDS, FIRST = 12, 8
local WIDTH = BITS / 8
local CHANCE = 2 ^ (-BITS)

local function doc(i)
  local a = FIRST + (i - 1) * FIELDS
  return {key = ARGV[a], url = ARGV[a + 1], fetched = ARGV[a + 2], extra = ARGV[a + 3],
          fp = ARGV[a + 4], sig = ARGV[a + 5], bands = ARGV[a + 6], decided = ARGV[a + 7],
          seen = ARGV[a + 8], passages = ARGV[a + 9], mask = ARGV[a + 10], anchors = ARGV[a + 11]}
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

local function insert(d, canon, entry, slots, exact)
  local id = redis.call('INCR', K_ID)
  local bands = slots and d.bands or ''
  local passages, mask = d.passages, d.mask
  if exact then passages, mask = '', '' end  -- its twin's passages are these
  local first = canon and '' or d.seen
  redis.call('SET', DOC .. id, struct.pack(RECORD, 2, canon or 0, d.fp, #d.sig, d.sig, #bands, bands,
    #d.key, d.key, #d.url, d.url, #d.fetched, d.fetched, #d.extra, d.extra, #passages, passages,
    #mask, mask, #first, first))
  redis.call('HSET', K_KEYS, d.key, id)
  redis.call('ZADD', K_TIME, 0, d.fetched .. '\0' .. id)
  redis.call('HSET', K_FP, d.fp, entry and (entry .. ',' .. id) or ((canon or id) .. ' ' .. id))
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

-- A copy seen at `seen` joined canon's cluster: the canonical's first_seen (its record's last
-- field) lowered to it if earlier. Returns first_seen before and after.
local function join(canon, rec, seen)
  local first = record(rec).first
  if not before(seen, first) then return first, first end
  redis.call('SET', DOC .. canon, string.sub(rec, 1, #rec - 4 - #first) .. struct.pack('<I4', #seen) .. seen)
  return first, seen
end

-- {id (0 if not added), canonical id (0: d is the canonical), canonical fingerprint, url,
--  signature, first_seen of the story, first_seen of the story before d (false: d is the
--  canonical), d's passage holders (false: none looked up; see found())}
local out = {}
if MODE == 'add' and redis.call('EXISTS', P .. ':call:' .. TOKEN) == 1 then
  -- A retry of a call that was done: the answers it gave, the holders read again without
  -- the call's own documents.
  local ids, last = {}, 0
  for i = 1, N do
    ids[i] = tonumber(redis.call('HGET', K_KEYS, doc(i).key))
    last = math.max(last, ids[i])
  end
  for i = 1, N do
    local d, id = doc(i), ids[i]
    local r = record(redis.call('GET', DOC .. id))
    local c = r.canon ~= 0 and record(redis.call('GET', DOC .. r.canon)) or nil
    local held = false
    if #r.passages > 0 and #d.anchors > 0 then
      held = found(holders(uint32s(d.anchors), id, last, MAX), twins(id, d.fp, id, last))
    end
    if c then out[i] = {id, r.canon, c.fp, c.url, c.sig, c.first, false, held}
    else out[i] = {id, 0, d.fp, false, false, r.first, false, held} end
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
  local crec = canon and redis.call('GET', DOC .. canon)
  local c = crec and record(crec)
  local exact = c and c.fp == d.fp
  if MODE == 'find' then
    out[i] = c and {0, canon, c.fp, c.url, c.sig, false, false, false} or {0, 0, d.fp, false, false, false, false, false}
  else
    local id = insert(d, canon, entry, slots, exact)
    local was, story = false, d.seen
    if canon then was, story = join(canon, crec, d.seen) end
    local held = false
    if not exact and #d.anchors > 0 then  -- read the holders, then index d: one step
      local anchors, values = uint32s(d.anchors), {}
      held = found(holders(anchors, id, id, MAX, values), twins(id, d.fp, id, id))
      post(id, canon or id, anchors, values)
    end
    if c then out[i] = {id, canon, c.fp, c.url, c.sig, story, was, held}
    else out[i] = {id, 0, d.fp, false, false, story, false, held} end
  end
end
if MODE == 'add' then redis.call('SET', P .. ':call:' .. TOKEN, 1, 'EX', tonumber(ARGV[#ARGV])) end
return out
"""
)

_PASSAGES_LUA = (
    _COMMON_LUA
    + r"""
-- ARGV: prefix, max holders of an anchor, lo, hi, then (document id, anchors) of each query.
-- The holders and twins of each (documents lo..hi left out), as found() gives them.
local MAX, LO, HI = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
for a = 5, #ARGV, 2 do
  local id = tonumber(ARGV[a])
  local rec = redis.call('GET', DOC .. id)
  local hold, twin = {}, {}
  if rec then
    local _, fp = head(rec)
    hold, twin = holders(uint32s(ARGV[a + 1]), LO, HI, MAX), twins(id, fp, LO, HI)
  end
  out[#out + 1] = found(hold, twin)
end
return out
"""
)

_LINKS_LUA = (
    _COMMON_LUA
    + r"""
-- ARGV: prefix, number of links to drop, their (copy, source) ids, then (copy, source,
-- "<containment> <share>") of each link to store (not if either end was forgotten meanwhile).
local DROP = tonumber(ARGV[2])

local function tidy(id)
  if redis.call('EXISTS', LINKS .. id) == 0 then redis.call('SREM', K_LINKED, id) end
end

for a = 3, 2 + 2 * DROP, 2 do
  local copy, source = ARGV[a], ARGV[a + 1]
  redis.call('HDEL', LINKS .. copy, 'c' .. source)
  redis.call('HDEL', LINKS .. source, 's' .. copy)
  tidy(copy)
  tidy(source)
end
for a = 3 + 2 * DROP, #ARGV, 3 do
  local copy, source = ARGV[a], ARGV[a + 1]
  if redis.call('EXISTS', DOC .. copy) == 1 and redis.call('EXISTS', DOC .. source) == 1 then
    redis.call('HSET', LINKS .. copy, 'c' .. source, ARGV[a + 2])
    redis.call('HSET', LINKS .. source, 's' .. copy, '')
    redis.call('SADD', K_LINKED, copy, source)
  end
end
return 0
"""
)

_FORGET_LUA = (
    _COMMON_LUA
    + r"""
-- ARGV: prefix, cutoff, cursor (last P:time member seen; '' to start), limit.
-- Returns {documents deleted, members examined, last member examined}.
local CUTOFF, CURSOR, LIMIT = ARGV[2], ARGV[3], tonumber(ARGV[4])

local function anchors_of(r)  -- partial.anchors_from_mask(): the mask's bits, first one highest
  local out = {}
  for i = 0, #r.passages / 4 - 1 do
    local byte = string.byte(r.mask, math.floor(i / 8) + 1)
    if math.floor(byte / 2 ^ (7 - i % 8)) % 2 == 1 then
      out[#out + 1] = struct.unpack('<I4', r.passages, 4 * i + 1)
    end
  end
  return out
end

local function without(list, id, pattern)  -- the comma-separated list without id's entries
  local rest = {}
  for entry in string.gmatch(list, '[^,]+') do
    if tonumber(string.match(entry, pattern)) ~= id then rest[#rest + 1] = entry end
  end
  return table.concat(rest, ',')
end

local function unpost(id, canon, anchors)
  for _, a in ipairs(anchors) do
    local bucket, field = anchor_slot(a)
    local v = redis.call('HGET', bucket, field)
    if v == '*' then
      local big = BIG .. a
      local docs = redis.call('HGET', big, canon)
      if docs then
        local rest = without(docs, id, '^%d+$')
        if rest == '' then redis.call('HDEL', big, canon) else redis.call('HSET', big, canon, rest) end
      end
      if redis.call('EXISTS', big) == 0 then redis.call('HDEL', bucket, field) end
    elseif v then
      local rest = without(v, id, '^%d+')
      if rest == '' then redis.call('HDEL', bucket, field) else redis.call('HSET', bucket, field, rest) end
    end
  end
end

local function unlink(id)
  local fields = redis.call('HKEYS', LINKS .. id)
  for _, f in ipairs(fields) do
    local other = string.sub(f, 2)
    redis.call('HDEL', LINKS .. other, (string.sub(f, 1, 1) == 'c' and 's' or 'c') .. id)
    if redis.call('EXISTS', LINKS .. other) == 0 then redis.call('SREM', K_LINKED, other) end
  end
  redis.call('DEL', LINKS .. id)
  redis.call('SREM', K_LINKED, id)
end

local function delete(id, r)
  redis.call('DEL', DOC .. id)
  redis.call('HDEL', K_KEYS, r.key)
  redis.call('ZREM', K_TIME, r.fetched .. '\0' .. id)
  local entry = redis.call('HGET', K_FP, r.fp)
  if entry then
    local first, ids = string.match(entry, '^(%d+) (.*)$')
    ids = without(ids, id, '^%d+$')
    if ids ~= '' then redis.call('HSET', K_FP, r.fp, first .. ' ' .. ids)
    else redis.call('HDEL', K_FP, r.fp) end
  end
  for b = 0, #r.bands / 4 - 1 do
    local bucket, field = band_slot(r.bands, b)
    local value = redis.call('HGET', bucket, field)
    if value then
      local rest = without(value, id, '^%d+$')
      if rest == '' then redis.call('HDEL', bucket, field)
      else redis.call('HSET', bucket, field, rest) end
    end
  end
  unpost(id, r.canon ~= 0 and r.canon or id, anchors_of(r))
  unlink(id)
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
    published: str | None
    passages: bytes
    mask: bytes
    first_seen: str
    """Of a canonical: when its story first appeared; empty for a copy."""

    @property
    def seen(self) -> str:
        return self.published or self.fetched_at


def _parse(doc_id: int, data: bytes) -> _Record:
    version, canonical, fingerprint, length = _HEAD.unpack_from(data)
    if version != _RECORD_VERSION:
        raise ValueError(f"document record {doc_id} has version {version}, expected {_RECORD_VERSION}")
    pos = _HEAD.size
    signature = data[pos : pos + length]
    pos += length
    fields = []
    for _ in range(8):  # band keys, key, url, fetched_at, extra, passages, mask, first_seen
        (length,) = _LENGTH.unpack_from(data, pos)
        pos += _LENGTH.size
        fields.append(data[pos : pos + length])
        pos += length
    _bands, key, url, fetched_at, extra, passages, mask, first_seen = fields
    site, title, published = json.loads(extra)
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
        published,
        passages,
        mask,
        first_seen.decode(),
    )


@dataclass(frozen=True)
class _Added:
    """What the add script answered for one document."""

    match: Match
    doc_id: int
    """0 if not added (find)."""
    canonical: int
    """0 if the document is a canonical."""
    story: str | None
    """First_seen of its story once it was added."""
    was: str | None
    """First_seen of its story just before it was added (None: it started the story)."""
    held: list | None
    """Its passage holders as the script read them (see the Lua ``found()``); None: not looked up."""


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

    @classmethod
    def open_existing(cls, url: str, prefix: str = DEFAULT_PREFIX) -> RedisIndex:
        """The index under ``prefix`` on the server at ``url``, with the settings it was built with
        (for reading it back); :class:`IndexNotFoundError` if there is none."""
        try:
            with redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S) as client:
                meta = {
                    name.decode(): json.loads(value)
                    for name, value in client.hgetall(f"{prefix}:meta").items()
                }
        except redis.RedisError as exc:
            raise IndexUnavailableError(f"the dedup index at {mask_url(url)} cannot be read: {exc}") from None
        if not meta:
            raise IndexNotFoundError(
                f"no dedup index at {mask_url(url)} under the prefix {prefix!r}: has a crawl with this "
                "DEDUP_URI and DEDUP_REDIS_PREFIX run?"
            )
        params = SignatureParams.from_dict(meta.get("signature_params", {}))
        return cls(url, params, IndexConfig.from_layout(meta.get("lsh", {})), prefix=prefix)

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
        self._passages_script = self._redis.register_script(_PASSAGES_LUA)
        self._links_script = self._redis.register_script(_LINKS_LUA)
        self._forget_script = self._redis.register_script(_FORGET_LUA)
        self._lookup_script = self._redis.register_script(_LOOKUP_LUA)
        for script in (
            self._add_script,
            self._passages_script,
            self._links_script,
            self._forget_script,
            self._lookup_script,
        ):
            script.sha = self._redis.script_load(script.script)  # fails early if scripting is off

    def _key(self, *parts: object) -> str:
        return ":".join((self.prefix, *map(str, parts)))

    # -- public API -----------------------------------------------------------------------------

    def add(self, doc: Document) -> Match:
        """Find ``doc``'s cluster and insert it, in one atomic script call (which also reads its
        passage holders and indexes its anchors); then its partial copies."""
        return self.add_many([doc])[0]

    def add_many(self, docs: Sequence[Document]) -> list[Match]:
        """:meth:`add` each document in order, in ONE script call: a document sees the ones before
        it in the batch; a key already indexed (or repeated) raises :class:`DuplicateKeyError`
        and adds nothing. The server runs nothing else meanwhile (about 0.1 ms a document, 0.3
        with passages). Then the partial copies of each, in order (a few more round trips for a
        document with partial copies around it)."""
        passages = [passages_of(doc, self.config) for doc in docs]
        added = self._run("add", docs, passages=passages)
        return self._partial(docs, passages, added)

    def find(self, doc: Document) -> Match:
        """What :meth:`add` would answer for ``doc`` about its cluster, without adding it (partial
        copies are only looked for by :meth:`add`)."""
        return self._run("find", [doc])[0].match

    def _partial(
        self,
        docs: Sequence[Document],
        passages: Sequence[tuple[np.ndarray, np.ndarray]],
        added: Sequence[_Added],
    ) -> list[Match]:
        """The matches of ``added`` with their partial copies, found in order by
        :class:`~newsarchive.dedup.passages.PassageFinder`."""
        last = max((one.doc_id for one in added), default=0)
        matches = []
        for i, (doc, (fps, anchors), one) in enumerate(zip(docs, passages, added, strict=True)):
            if one.held is None:  # an exact copy, or no passages
                matches.append(one.match)
                continue
            # The batch's later documents are already stored: their clusters' first dates as
            # they were before them.
            rewind: dict[int, str] = {}
            for later in added[i + 1 :]:
                if later.canonical and later.was is not None:
                    rewind.setdefault(later.canonical, later.was)
            store = _RedisPassages(self, one.held, last, rewind)
            new = new_text(
                one.doc_id, one.canonical or one.doc_id, one.match.cluster_id, doc, one.story, fps, anchors
            )
            matches.append(replace(one.match, partial=PassageFinder(store, self.config).add(new)))
        return matches

    def _run(
        self,
        mode: str,
        docs: Sequence[Document],
        decided: Sequence[int] | None = None,
        passages: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> list[_Added]:
        """What the add script answered for each document (:class:`_Added`).

        ``mode`` "insert" stores each document in the cluster of ``decided`` (canonical ids, 0 for
        a new cluster) without deciding anything: what an index that queried and inserted in
        two round trips would do, for the tests to show that they would catch it."""
        if not docs:
            return []
        signatures = [checked_signature(doc, self.params.num_perm) for doc in docs]
        empty = np.empty(0, dtype=np.uint32)
        bits = self.config.storage_bits
        args: list[Any] = [
            self.prefix,
            mode,
            _call_token(),  # names this call: a retry of it is answered, not done again
            repr(float(self.config.near_duplicate)),
            bits,
            len(docs),
            partial.MAX_HOLDERS,
        ]
        for i, (doc, signature) in enumerate(zip(docs, signatures, strict=True)):
            keys = band_keys(signature, self.config.bands, self.config.rows)
            fps, anchors = passages[i] if passages is not None else (empty, empty)
            blob, mask = encode(fps, anchors)
            args += [
                doc.key,
                doc.url,
                doc.fetched_at,
                json.dumps([doc.site, doc.title, doc.published], ensure_ascii=False),
                doc.fingerprint,
                signature_to_bytes(signature, bits),
                np.asarray(keys, dtype="<i4").tobytes(),
                decided[i] if decided is not None else 0,
                seen_of(doc),
                blob,
                mask,
                anchors.astype("<u4").tobytes(),
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
        for doc, signature, (doc_id, canonical, fingerprint, url, stored, story, was, held) in zip(
            docs, signatures, replies, strict=True
        ):
            if canonical == 0:
                match = Match(fingerprint.hex(), None, None, False)
            else:
                exact = fingerprint == doc.fingerprint
                similarity = 1.0 if exact else estimate_jaccard(signature, self._signature(stored))
                match = Match(fingerprint.hex(), url.decode(), similarity, exact)
            results.append(
                _Added(
                    match,
                    doc_id,
                    canonical,
                    story.decode() if story else None,
                    was.decode() if was else None,
                    held or None,
                )
            )
        return results

    def _signature(self, data: bytes) -> np.ndarray:
        return signature_from_bytes(data, self.params.num_perm, self.config.storage_bits)

    def forget_older_than(self, cutoff_iso: str) -> int:
        """Delete documents fetched before ``cutoff_iso`` (and their band keys, passages and partial
        links); return how many.

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
        """Every cluster of at least ``min_size`` documents or with partial copies, largest first
        (then the most partial copies, then oldest).

        Read in several round trips: documents added meanwhile may or may not be included.
        """
        links = self._links()
        copies = {copy for copy, _, _, _ in links}
        if min_size <= 1:
            ids = {int(doc_id) for _, doc_id in self._redis.hscan_iter(self._key("keys"))}
            wanted = None
        else:
            sources = self._records(sorted({source for _, source, _, _ in links}))
            wanted = {int(c) for c in self._redis.zrangebyscore(self._key("clusters"), min_size - 1, "+inf")}
            wanted |= {record.canonical or record.id for record in sources.values()}
            with self._redis.pipeline(transaction=False) as pipe:
                for canonical in wanted:
                    pipe.smembers(self._key("m", canonical))
                ids = wanted | {int(c) for members in pipe.execute() for c in members}
        records = self._records(sorted(ids | copies))
        partial_copies: dict[int, list[tuple[tuple[float, str, int], PartialCopy]]] = {}
        for copy_id, source_id, containment, share in links:
            copy, source = records.get(copy_id), records.get(source_id)
            if copy is None or source is None:
                continue  # forgotten between two reads
            partial_copies.setdefault(source.canonical or source.id, []).append(
                (
                    (-containment, copy.fetched_at, copy.id),
                    PartialCopy(_member(copy, None, False), source.url, containment, share),
                )
            )
        groups: dict[int, list[_Record]] = {}
        for record in records.values():
            groups.setdefault(record.canonical or record.id, []).append(record)
        result = []
        for canonical_id, group in groups.items():
            head = records.get(canonical_id)
            parts = [part for _, part in sorted(partial_copies.get(canonical_id, ()), key=lambda p: p[0])]
            if head is None or (wanted is not None and canonical_id not in wanted):
                continue  # forgotten meanwhile, or a partial copy's own cluster
            if len(group) < min_size and not parts:
                continue  # shrunk between two reads
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
            result.append(
                Cluster(head.fingerprint.hex(), _member(head, None, False), tuple(members), tuple(parts))
            )
        result.sort(key=lambda c: (-c.size, -len(c.partial_copies), c.canonical.fetched_at, c.cluster_id))
        return result

    def _links(self) -> list[tuple[int, int, float, float]]:
        """(copy, source, containment, share) of every stored partial link."""
        linked = sorted(int(doc_id) for doc_id in self._redis.smembers(self._key("linked")))
        links = []
        for start in range(0, len(linked), READ_CHUNK):
            chunk = linked[start : start + READ_CHUNK]
            with self._redis.pipeline(transaction=False) as pipe:
                for doc_id in chunk:
                    pipe.hgetall(self._key("l", doc_id))
                replies = pipe.execute()
            for copy, fields in zip(chunk, replies, strict=True):
                for name, value in fields.items():
                    if name.startswith(b"c"):
                        containment, share = map(float, value.decode().split())
                        links.append((copy, int(name[1:]), containment, share))
        return links

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


class _RedisPassages:
    """:class:`~newsarchive.dedup.passages.PassageStore` on a RedisIndex, for one document of an
    add call: ``held`` is what the add script read and did for it, ``last`` the call's last
    document id (those after it are not there yet for it), ``rewind`` the first dates its
    stories had before the call's later documents joined them."""

    def __init__(self, index: RedisIndex, held: list, last: int, rewind: dict[int, str]) -> None:
        self._index = index
        self._held = held
        self._last = last
        self._rewind = rewind

    def post(self, new: partial.Text) -> Found:
        # The add script read the holders and indexed the anchors, with the cluster decision.
        return self._found(self._held, {})

    def lookup(self, queries: Sequence[partial.Text], skip: int) -> list[Found]:
        index = self._index
        args: list[Any] = [index.prefix, partial.MAX_HOLDERS, skip, max(skip, self._last)]
        for text in queries:
            args += [text.doc, text.anchors.astype("<u4").tobytes()]
        return [self._found(reply, self._rewind) for reply in index._passages_script(args=args)]

    def links_present(self, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
        with self._index._redis.pipeline(transaction=False) as pipe:
            for copy, source in pairs:
                pipe.hexists(self._index._key("l", copy), f"c{source}")
            present = pipe.execute()
        return {pair for pair, there in zip(pairs, present, strict=True) if there}

    def write_links(self, drop: Sequence[tuple[int, int]], links: Sequence[partial.Link]) -> None:
        args: list[Any] = [self._index.prefix, len(drop), *(doc for pair in drop for doc in pair)]
        for link in links:
            args += [link.copy.doc, link.source.doc, f"{link.containment!r} {link.share!r}"]
        self._index._links_script(args=args)

    @staticmethod
    def _found(reply: list, rewind: dict[int, str]) -> Found:
        """The add or passages script's ``{holder ids, twin ids, {id, record, ...}}`` as texts."""
        holders, twins, flat = reply
        records = {flat[i]: _parse(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)}
        texts = []
        for doc_id in holders:
            record = records.get(doc_id)
            head = records.get(record.canonical or doc_id) if record else None
            if record is None or head is None:
                continue  # forgotten meanwhile
            story = rewind.get(head.id, head.first_seen)
            texts.append(
                stored_text(
                    doc_id,
                    head.id,
                    head.fingerprint.hex(),
                    record.url,
                    record.site,
                    record.seen,
                    story,
                    record.passages,
                    record.mask,
                )
            )
        seen = sorted((records[doc_id].seen, doc_id) for doc_id in twins if doc_id in records)
        return Found(texts, (seen[0][1], seen[0][0]) if seen else None)


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
