/**
 * The Lua scripts of the Redis store. Each runs atomically on the server and
 * touches only the keys of one customer, which share a hash tag, so they work
 * on Redis Cluster too.
 *
 * Keys of a customer (prefix P, customer id C):
 *   P{C}:p  hash   a = attributes JSON, s = explicit stage (absent when none),
 *                  c = createdAt, u = updatedAt (epoch ms), n = last touchpoint
 *                  number, v = attributes version (for patch's compare-and-set)
 *   P{C}:t  zset   one member per touchpoint, scored by `at` (epoch ms); the
 *                  member is "<number as 16 hex digits>|<type>|<channel>", so
 *                  equal times order by insertion, and a decision reads the
 *                  whole timeline from this key alone
 *   P{C}:x  hash   touchpoint number -> JSON [id, properties], for touchpoints
 *                  that have either
 *   P{C}:i  hash   touchpoint id -> touchpoint number, the idempotency index
 *   P{C}:o  zset   one member per outcome, scored by `at`: the JSON array
 *                  [decisionId, placement, item, kind], which is also what
 *                  makes a repeat a duplicate
 *   P{C}:v  hash   outcome member -> JSON [rule, arm, value]
 *
 * Everyone's outcome counts, for caps with scope "all", live apart from the
 * customers (a script cannot reach two hash slots on a Cluster):
 *   P{outcome-totals}:<day>  hash  "<item>\n<kind>" -> count, expiring with retention
 *
 * Numbers cross into Lua as the strings JavaScript made of them: Lua 5.1
 * formats large numbers as "1.7e+12", so a script never prints a number it
 * did not receive as a string, except touchpoint numbers (formatted as hex).
 */

/**
 * Removes the given timeline members with their extra fields and id entries.
 *
 * The touchpoint id of a member is read back from its extra JSON, which
 * JavaScript wrote. JSON.stringify escapes a lone surrogate as \udXXX, which
 * cjson refuses, and the id's key in the index holds different bytes (the
 * client encodes a lone surrogate as U+FFFD). So the decode is guarded, the id
 * it gives is trusted only when the index maps it to this very member, and
 * otherwise the index is searched for the member's number. A script must never
 * fail here: it runs after writes, and Redis does not roll a script back.
 */
const DROP_MEMBERS = `
local function wrongType(key, expected)
  local kind = redis.call('TYPE', key).ok
  return kind ~= 'none' and kind ~= expected
end
local function corruptKeys(t, x, i)
  return wrongType(t, 'zset') or wrongType(x, 'hash') or wrongType(i, 'hash')
end
local function indexedId(i, seq, extra)
  local ok, decoded = pcall(cjson.decode, extra)
  if ok and type(decoded) == 'table' then
    local id = decoded[1]
    if type(id) ~= 'string' then return nil end
    if redis.call('HGET', i, id) == seq then return id end
  end
  local entries = redis.call('HGETALL', i)
  for k = 1, #entries, 2 do
    if entries[k + 1] == seq then return entries[k] end
  end
  return nil
end
local function dropMembers(t, x, i, members)
  for _, member in ipairs(members) do
    local seq = string.sub(member, 1, 16)
    local extra = redis.call('HGET', x, seq)
    if extra then
      local id = indexedId(i, seq, extra)
      if id then redis.call('HDEL', i, id) end
      redis.call('HDEL', x, seq)
    end
    redis.call('ZREM', t, member)
  end
  return #members
end
local function dropExpired(t, x, i, cutoff)
  return dropMembers(t, x, i, redis.call('ZRANGEBYSCORE', t, '-inf', '(' .. cutoff))
end
`;

/**
 * KEYS: p t x i. ARGV: now, cutoff, cap, channel, message, count, then per
 * touchpoint: id ('' for none), type, channel, at, extra JSON ('' for none).
 * Returns {accepted, duplicates}.
 *
 * Every argument, the types of the customer's keys and the touchpoint counter
 * are checked before the first write: a script that fails half-way keeps
 * what it wrote (Redis has no rollback). Its refusals are "ERR nextbest ..."
 * replies, which the store reports as ProfileDataError.
 */
export const APPEND_SCRIPT = `${DROP_MEMBERS}
local function finite(text)
  local n = tonumber(text)
  return n ~= nil and n == n and n ~= math.huge and n ~= -math.huge
end
local p, t, x, i = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, cutoff, cap = ARGV[1], ARGV[2], tonumber(ARGV[3])
local count = tonumber(ARGV[6])
if not (finite(now) and finite(cutoff) and cap and count and #ARGV == 6 + count * 5) then
  return redis.error_reply('ERR nextbest append: malformed arguments')
end
for k = 0, count - 1 do
  if not finite(ARGV[10 + k * 5]) then return redis.error_reply('ERR nextbest append: touchpoint ' .. k .. ' has no finite time') end
end
if wrongType(p, 'hash') or corruptKeys(t, x, i) then return redis.error_reply('ERR nextbest append: a key of this customer has the wrong type') end
local number = redis.call('HGET', p, 'n')
if number and not string.match(number, '^%d+$') then return redis.error_reply('ERR nextbest append: the touchpoint counter is not an integer') end
if redis.call('HSETNX', p, 'c', now) == 1 then redis.call('HSET', p, 'a', '{}') end
redis.call('HSET', p, 'u', now)
-- Expired touchpoints go first, so that an id whose touchpoint has aged out can be stored again.
dropExpired(t, x, i, cutoff)
local accepted = 0
for k = 0, count - 1 do
  local base = 7 + k * 5
  local id, extra = ARGV[base], ARGV[base + 4]
  if id == '' or redis.call('HEXISTS', i, id) == 0 then
    local seq = string.format('%016x', redis.call('HINCRBY', p, 'n', 1))
    redis.call('ZADD', t, ARGV[base + 3], seq .. '|' .. ARGV[base + 1] .. '|' .. ARGV[base + 2])
    if extra ~= '' then redis.call('HSET', x, seq, extra) end
    if id ~= '' then redis.call('HSET', i, id, seq) end
    accepted = accepted + 1
  end
end
if accepted > 0 then
  dropExpired(t, x, i, cutoff)
  local surplus = redis.call('ZCARD', t) - cap
  -- Ascending order: the oldest first, and among equal times the earlier inserted.
  if surplus > 0 then dropMembers(t, x, i, redis.call('ZRANGE', t, 0, surplus - 1)) end
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {accepted, count - accepted}
`;

/**
 * KEYS: p. ARGV: expected version ('' for none yet), attributes JSON, stage
 * mode ('keep' | 'set' | 'clear'), stage, now, channel, message.
 * Returns 1 when applied, 0 when the attributes changed since they were read.
 * What could fail (the key's type, the version counter) is checked before the first write.
 */
export const PATCH_SCRIPT = `
local p = KEYS[1]
local kind = redis.call('TYPE', p).ok
if kind ~= 'none' and kind ~= 'hash' then return redis.error_reply('ERR nextbest patch: the profile key has the wrong type') end
local version = redis.call('HGET', p, 'v') or ''
if version ~= ARGV[1] then return 0 end
if version ~= '' and not string.match(version, '^%d+$') then return redis.error_reply('ERR nextbest patch: the version is not an integer') end
redis.call('HSETNX', p, 'c', ARGV[5])
redis.call('HSET', p, 'a', ARGV[2], 'u', ARGV[5])
redis.call('HINCRBY', p, 'v', 1)
if ARGV[3] == 'set' then redis.call('HSET', p, 's', ARGV[4]) elseif ARGV[3] == 'clear' then redis.call('HDEL', p, 's') end
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 1
`;

/**
 * KEYS: p t x i o v. ARGV: channel, message. Returns {how many keys existed,
 * {outcome member, at, ...}}: the outcomes deleted, which the caller takes off
 * everyone's totals. An outcome key of the wrong type yields no outcomes.
 */
export const DELETE_SCRIPT = `
local outcomes = {}
if redis.call('TYPE', KEYS[5]).ok == 'zset' then outcomes = redis.call('ZRANGE', KEYS[5], 0, -1, 'WITHSCORES') end
local removed = redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
if removed > 0 then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
return {removed, outcomes}
`;

/**
 * KEYS: p o v. ARGV: now, cutoff, channel, message, count, then per outcome:
 * member, at, extra JSON. Returns the (0-based) positions of the outcomes
 * stored; the others were duplicates. Like APPEND_SCRIPT, everything that
 * could fail is checked before the first write.
 */
export const APPEND_OUTCOMES_SCRIPT = `
local function finite(text)
  local n = tonumber(text)
  return n ~= nil and n == n and n ~= math.huge and n ~= -math.huge
end
local function wrongType(key, expected)
  local kind = redis.call('TYPE', key).ok
  return kind ~= 'none' and kind ~= expected
end
local p, o, v = KEYS[1], KEYS[2], KEYS[3]
local now, cutoff, count = ARGV[1], ARGV[2], tonumber(ARGV[5])
if not (finite(now) and finite(cutoff) and count and #ARGV == 5 + count * 3) then
  return redis.error_reply('ERR nextbest outcomes: malformed arguments')
end
for k = 0, count - 1 do
  if not finite(ARGV[7 + k * 3]) then return redis.error_reply('ERR nextbest outcomes: outcome ' .. k .. ' has no finite time') end
end
if wrongType(p, 'hash') or wrongType(o, 'zset') or wrongType(v, 'hash') then
  return redis.error_reply('ERR nextbest outcomes: a key of this customer has the wrong type')
end
if redis.call('HSETNX', p, 'c', now) == 1 then redis.call('HSET', p, 'a', '{}') end
redis.call('HSET', p, 'u', now)
-- Expired outcomes go first, so that one that has aged out can be stored again.
local expired = redis.call('ZRANGEBYSCORE', o, '-inf', '(' .. cutoff)
for _, member in ipairs(expired) do
  redis.call('ZREM', o, member)
  redis.call('HDEL', v, member)
end
local stored = {}
for k = 0, count - 1 do
  local base = 6 + k * 3
  local member = ARGV[base]
  if not redis.call('ZSCORE', o, member) then
    redis.call('ZADD', o, ARGV[base + 1], member)
    redis.call('HSET', v, member, ARGV[base + 2])
    stored[#stored + 1] = k
  end
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return stored
`;

/** KEYS: o v. ARGV: cutoff. Drops expired outcomes; returns how many. Keys of the wrong type are refused before any write. */
export const SWEEP_OUTCOMES_SCRIPT = `
for _, pair in ipairs({{KEYS[1], 'zset'}, {KEYS[2], 'hash'}}) do
  local kind = redis.call('TYPE', pair[1]).ok
  if kind ~= 'none' and kind ~= pair[2] then return redis.error_reply('ERR nextbest sweep: an outcome key of this customer has the wrong type') end
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('HDEL', KEYS[2], member)
end
return #expired
`;

/** KEYS: t x i. ARGV: cutoff. Returns how many touchpoints were dropped; refuses, before any write, keys of the wrong type. */
export const SWEEP_SCRIPT = `${DROP_MEMBERS}
if corruptKeys(KEYS[1], KEYS[2], KEYS[3]) then return redis.error_reply('ERR nextbest sweep: a key of this customer has the wrong type') end
return dropExpired(KEYS[1], KEYS[2], KEYS[3], ARGV[1])
`;

/**
 * What a decision reads. KEYS: p t o. ARGV: cutoff.
 * Returns nil for no profile, else {attributes, stage or nil, {member, at, ...},
 * {outcome member, at, ...}}, both newest first.
 */
export const READ_DECISION_SCRIPT = `
local head = redis.call('HMGET', KEYS[1], 'a', 's')
if not head[1] then return false end
return {head[1], head[2], redis.call('ZREVRANGEBYSCORE', KEYS[2], '+inf', ARGV[1], 'WITHSCORES'), redis.call('ZREVRANGEBYSCORE', KEYS[3], '+inf', ARGV[1], 'WITHSCORES')}
`;

/**
 * The whole profile. KEYS: p t x o v. ARGV: cutoff. Returns nil for no profile,
 * else {attributes, stage or nil, createdAt, updatedAt, {member, at, ...}, {extra or '', ...},
 * {outcome member, at, ...}, {outcome extra or '', ...}}.
 */
export const READ_PROFILE_SCRIPT = `
local head = redis.call('HMGET', KEYS[1], 'a', 's', 'c', 'u')
if not head[1] then return false end
local timeline = redis.call('ZREVRANGEBYSCORE', KEYS[2], '+inf', ARGV[1], 'WITHSCORES')
local extras = {}
for k = 1, #timeline, 2 do
  extras[#extras + 1] = redis.call('HGET', KEYS[3], string.sub(timeline[k], 1, 16)) or ''
end
local outcomes = redis.call('ZREVRANGEBYSCORE', KEYS[4], '+inf', ARGV[1], 'WITHSCORES')
local outcomeExtras = {}
for k = 1, #outcomes, 2 do
  outcomeExtras[#outcomeExtras + 1] = redis.call('HGET', KEYS[5], outcomes[k]) or ''
end
return {head[1], head[2], head[3], head[4], timeline, extras, outcomes, outcomeExtras}
`;
