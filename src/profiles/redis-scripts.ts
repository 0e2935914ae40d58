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
 *   P{C}:a  string the canonical id, when C is an alias (contract section
 *                  11); an alias keeps no data of its own
 *   P{C}:s  set    the aliases of C, when C is canonical
 *   P{C}:j  string Redis Cluster only: the journal of a merge of C into the
 *                  canonical id it holds, under way (redis-cluster-merge.ts)
 *
 * Every script given a customer's keys first checks `a` and `j`: a customer
 * that is an alias answers {'@alias', canonical id}, one being merged on a
 * Cluster {'@merging', canonical id}, and the caller retries on the canonical
 * customer (after completing the merge). For an id that is no alias this
 * costs two lookups inside the script, no round trip.
 *
 * Everyone's outcome counts, for caps with scope "all", live apart from the
 * customers (a script cannot reach two hash slots on a Cluster):
 *   P{outcome-totals}:<day>  hash  "<item>\n<kind>" -> count, expiring with retention
 *
 * The names decision ids refer to by number (the decision name list), in one
 * hash slot of their own, both ways:
 *   P{decision-names}       hash  name -> number
 *   P{decision-names}:list  list  the names in number order (number i at index i)
 * ADD_DECISION_NAMES_SCRIPT changes both together; a read is one LRANGE.
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
local function redirect(a, j)
  local canonical = redis.call('GET', a)
  if canonical then return {'@alias', canonical} end
  local target = redis.call('GET', j)
  if target then return {'@merging', target} end
  return nil
end
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
 * KEYS: p t x i a j. ARGV: now, cutoff, cap, channel, message, count, then per
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
local moved = redirect(KEYS[5], KEYS[6])
if moved then return moved end
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
 * KEYS: p a j. ARGV: expected version ('' for none yet), attributes JSON, stage
 * mode ('keep' | 'set' | 'clear'), stage, now, channel, message.
 * Returns 1 when applied, 0 when the attributes changed since they were read.
 * What could fail (the key's type, the version counter) is checked before the first write.
 */
export const PATCH_SCRIPT = `${DROP_MEMBERS}
local moved = redirect(KEYS[2], KEYS[3])
if moved then return moved end
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
 * KEYS: p t x i o v a j s. ARGV: channel, message. Deletes the customer's
 * data, keeping its set of aliases (s): returns {how many keys existed,
 * {outcome member, at, ...}, {alias, ...}}: the outcomes deleted, which the
 * caller takes off everyone's totals, and the aliases whose pointers the
 * caller deletes next (DELETE_POINTER_SCRIPT; a Cluster keeps them in other
 * slots), then the set itself. A crash in between leaves the set naming the
 * pointers still to delete, so deleting again (by any id) finishes the job.
 * An outcome key of the wrong type yields no outcomes.
 */
export const DELETE_SCRIPT = `${DROP_MEMBERS}
local moved = redirect(KEYS[7], KEYS[8])
if moved then return moved end
local outcomes = {}
if redis.call('TYPE', KEYS[5]).ok == 'zset' then outcomes = redis.call('ZRANGE', KEYS[5], 0, -1, 'WITHSCORES') end
local aliases = {}
if redis.call('TYPE', KEYS[9]).ok == 'set' then aliases = redis.call('SMEMBERS', KEYS[9]) end
local removed = redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
if removed > 0 then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
return {removed, outcomes, aliases}
`;

/** KEYS: a (an alias's pointer). ARGV: canonical id, channel, message. Deletes the pointer if it still names the canonical customer. */
export const DELETE_POINTER_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`;

/**
 * KEYS: p o v a j. ARGV: now, cutoff, channel, message, count, then per outcome:
 * member, at, extra JSON. Returns the (0-based) positions of the outcomes
 * stored; the others were duplicates. Like APPEND_SCRIPT, everything that
 * could fail is checked before the first write.
 */
export const APPEND_OUTCOMES_SCRIPT = `${DROP_MEMBERS}
local moved = redirect(KEYS[4], KEYS[5])
if moved then return moved end
local function finite(text)
  local n = tonumber(text)
  return n ~= nil and n == n and n ~= math.huge and n ~= -math.huge
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
 * What a decision reads. KEYS: p t o a j. ARGV: cutoff.
 * Returns nil for no profile, else {attributes, stage or nil, {member, at, ...},
 * {outcome member, at, ...}}, both newest first; or a redirect (see the top).
 * An alias has no profile hash, so its pointer is looked for only then: for
 * everyone else the journal's EXISTS is all this adds.
 */
export const READ_DECISION_SCRIPT = `
local head = redis.call('HMGET', KEYS[1], 'a', 's')
if not head[1] then
  local canonical = redis.call('GET', KEYS[4])
  if canonical then return {'@alias', canonical} end
  return false
end
if redis.call('EXISTS', KEYS[5]) == 1 then return {'@merging', redis.call('GET', KEYS[5])} end
return {head[1], head[2], redis.call('ZREVRANGEBYSCORE', KEYS[2], '+inf', ARGV[1], 'WITHSCORES'), redis.call('ZREVRANGEBYSCORE', KEYS[3], '+inf', ARGV[1], 'WITHSCORES')}
`;

/**
 * The whole profile. KEYS: p t x o v a j s. ARGV: cutoff. Returns nil for no profile,
 * else {attributes, stage or nil, createdAt, updatedAt, {member, at, ...}, {extra or '', ...},
 * {outcome member, at, ...}, {outcome extra or '', ...}, {alias, ...}}; or a redirect.
 */
export const READ_PROFILE_SCRIPT = `${DROP_MEMBERS}
local moved = redirect(KEYS[6], KEYS[7])
if moved then return moved end
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
return {head[1], head[2], head[3], head[4], timeline, extras, outcomes, outcomeExtras, redis.call('SMEMBERS', KEYS[8])}
`;

/**
 * Merging (contract section 11). A customer's keys as a Lua table, from
 * KEYS[base] on: p t x i o v a j s.
 */
const MERGE_HELPERS = `${DROP_MEMBERS}
local function customerKeys(base)
  return {p = KEYS[base], t = KEYS[base + 1], x = KEYS[base + 2], i = KEYS[base + 3], o = KEYS[base + 4], v = KEYS[base + 5],
    a = KEYS[base + 6], j = KEYS[base + 7], s = KEYS[base + 8]}
end
local function checkTypes(c)
  if wrongType(c.p, 'hash') or corruptKeys(c.t, c.x, c.i) or wrongType(c.o, 'zset') or wrongType(c.v, 'hash') or wrongType(c.s, 'set') then
    return redis.error_reply('ERR nextbest merge: a key of this customer has the wrong type')
  end
  return nil
end
-- What a customer has within retention: touchpoints oldest first as {id or '', "type|channel", at, extra or ''} flat,
-- outcomes as {member, at, extra or ''} flat.
local function snapshotOf(c, cutoff)
  local ids = {}
  local index = redis.call('HGETALL', c.i)
  for k = 1, #index, 2 do ids[index[k + 1]] = index[k] end
  local touchpoints = {}
  local timeline = redis.call('ZRANGEBYSCORE', c.t, cutoff, '+inf', 'WITHSCORES')
  for k = 1, #timeline, 2 do
    local seq = string.sub(timeline[k], 1, 16)
    touchpoints[#touchpoints + 1] = ids[seq] or ''
    touchpoints[#touchpoints + 1] = string.sub(timeline[k], 18)
    touchpoints[#touchpoints + 1] = timeline[k + 1]
    touchpoints[#touchpoints + 1] = redis.call('HGET', c.x, seq) or ''
  end
  local outcomes = {}
  local list = redis.call('ZRANGEBYSCORE', c.o, cutoff, '+inf', 'WITHSCORES')
  for k = 1, #list, 2 do
    outcomes[#outcomes + 1] = list[k]
    outcomes[#outcomes + 1] = list[k + 1]
    outcomes[#outcomes + 1] = redis.call('HGET', c.v, list[k]) or ''
  end
  return touchpoints, outcomes
end
-- Copies another customer's touchpoints (dropping ids already held, then applying retention and the cap) and
-- outcomes (dropping those already held) into c. Returns the outcomes dropped, {member, at, ...}.
local function copyInto(c, now, cutoff, cap, touchpoints, outcomes)
  if redis.call('HSETNX', c.p, 'c', now) == 1 then redis.call('HSET', c.p, 'a', '{}') end
  dropExpired(c.t, c.x, c.i, cutoff)
  local copied = 0
  for k = 1, #touchpoints, 4 do
    local id, extra = touchpoints[k], touchpoints[k + 3]
    if id == '' or redis.call('HEXISTS', c.i, id) == 0 then
      local seq = string.format('%016x', redis.call('HINCRBY', c.p, 'n', 1))
      redis.call('ZADD', c.t, touchpoints[k + 2], seq .. '|' .. touchpoints[k + 1])
      if extra ~= '' then redis.call('HSET', c.x, seq, extra) end
      if id ~= '' then redis.call('HSET', c.i, id, seq) end
      copied = copied + 1
    end
  end
  if copied > 0 then
    local surplus = redis.call('ZCARD', c.t) - cap
    if surplus > 0 then dropMembers(c.t, c.x, c.i, redis.call('ZRANGE', c.t, 0, surplus - 1)) end
  end
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', c.o, '-inf', '(' .. cutoff)) do
    redis.call('ZREM', c.o, member)
    redis.call('HDEL', c.v, member)
  end
  local dropped = {}
  for k = 1, #outcomes, 3 do
    local member = outcomes[k]
    if redis.call('ZSCORE', c.o, member) then
      dropped[#dropped + 1] = member
      dropped[#dropped + 1] = outcomes[k + 1]
    else
      redis.call('ZADD', c.o, outcomes[k + 1], member)
      if outcomes[k + 2] ~= '' then redis.call('HSET', c.v, member, outcomes[k + 2]) end
    end
  end
  return dropped
end
-- The merged attributes (made by JavaScript: a Lua JSON round trip would round numbers), the explicit stage
-- (the canonical one's if set), the earlier creation time, and the aliases.
local function settleInto(c, now, attributes, stage, created, aliases)
  redis.call('HSET', c.p, 'a', attributes, 'u', now)
  redis.call('HINCRBY', c.p, 'v', 1)
  if stage ~= '' and redis.call('HEXISTS', c.p, 's') == 0 then redis.call('HSET', c.p, 's', stage) end
  local mine = redis.call('HGET', c.p, 'c')
  if created ~= '' and (not mine or tonumber(created) < tonumber(mine)) then redis.call('HSET', c.p, 'c', created) end
  for _, id in ipairs(aliases) do redis.call('SADD', c.s, id) end
end
`;

/**
 * The whole merge on one Redis server, atomically. KEYS: the canonical
 * customer's p t x i o v a j s, the alias's p t x i o v a j s, then the
 * pointer key (a) of each of the alias's own aliases. ARGV: now, cutoff, cap,
 * most aliases, the canonical's attributes version ('' for none) and the
 * alias's, the merged attributes, channel, origin, alias id, canonical id,
 * then the alias's own aliases (as read with the versions: a mismatch answers
 * {'retry'}). Returns a redirect, {'same'}, {'conflict', owner}, {'retry'},
 * {'limit'} or {'merged', {dropped outcome member, at, ...}}.
 */
export const MERGE_SCRIPT = `${MERGE_HELPERS}
local C, A = customerKeys(1), customerKeys(10)
local moved = redirect(C.a, C.j)
if moved then return moved end
local aliasId, canonicalId = ARGV[10], ARGV[11]
local owner = redis.call('GET', A.a)
if owner == canonicalId then return {'same'} end
if owner then return {'conflict', owner} end
if (redis.call('HGET', C.p, 'v') or '') ~= ARGV[5] or (redis.call('HGET', A.p, 'v') or '') ~= ARGV[6] then return {'retry'} end
local own = #KEYS - 18
if redis.call('SCARD', A.s) ~= own then return {'retry'} end
for k = 1, own do
  if redis.call('SISMEMBER', A.s, ARGV[11 + k]) == 0 then return {'retry'} end
end
if redis.call('SCARD', C.s) + 1 + own > tonumber(ARGV[4]) then return {'limit'} end
local bad = checkTypes(C) or checkTypes(A)
if bad then return bad end
local touchpoints, outcomes = snapshotOf(A, ARGV[2])
local dropped = copyInto(C, ARGV[1], ARGV[2], tonumber(ARGV[3]), touchpoints, outcomes)
local head = redis.call('HMGET', A.p, 's', 'c')
local aliases = {aliasId}
for k = 1, own do aliases[#aliases + 1] = ARGV[11 + k] end
settleInto(C, ARGV[1], ARGV[7], head[1] or '', head[2] or '', aliases)
redis.call('DEL', A.p, A.t, A.x, A.i, A.o, A.v, A.s)
redis.call('SET', A.a, canonicalId)
for k = 19, #KEYS do redis.call('SET', KEYS[k], canonicalId) end
redis.call('PUBLISH', ARGV[8], ARGV[9] .. ' ' .. canonicalId)
for _, id in ipairs(aliases) do redis.call('PUBLISH', ARGV[8], ARGV[9] .. ' ' .. id) end
return {'merged', dropped}
`;

/**
 * Redis Cluster, step 1, in the alias's slot. KEYS: the alias's p t x i o v a
 * j s. ARGV: canonical id, cutoff, 'start' or 'resume' (only an existing
 * journal is taken up: {'none'} without one). Records the intent (the journal `j`), which
 * freezes the alias (every script on it answers {'@merging'} from now on),
 * and returns what is to be copied: {'begun', finished (pointer set: 0 or 1),
 * attributes or '', attributes version or '', stage or '', createdAt or '',
 * touchpoints, outcomes, aliases}. Or {'same'}, {'conflict', owner}, or
 * {'@merging', other canonical id} when another merge of it is under way.
 */
export const MERGE_BEGIN_SCRIPT = `${MERGE_HELPERS}
local A = customerKeys(1)
local canonicalId = ARGV[1]
local journal = redis.call('GET', A.j)
local owner = redis.call('GET', A.a)
if journal and journal ~= canonicalId then return {'@merging', journal} end
if not journal then
  if ARGV[3] == 'resume' then return {'none'} end
  if owner == canonicalId then return {'same'} end
  if owner then return {'conflict', owner} end
  local bad = checkTypes(A)
  if bad then return bad end
  redis.call('SET', A.j, canonicalId)
end
local touchpoints, outcomes = snapshotOf(A, ARGV[2])
local head = redis.call('HMGET', A.p, 'a', 'v', 's', 'c')
return {'begun', owner and 1 or 0, head[1] or '', head[2] or '', head[3] or '', head[4] or '', touchpoints, outcomes, redis.call('SMEMBERS', A.s)}
`;

/**
 * Redis Cluster, step 2, in the canonical customer's slot. KEYS: its p t x i o
 * v a j s. ARGV: now, cutoff, cap, most aliases, its attributes version, the
 * merged attributes, the alias's stage, the alias's createdAt, channel,
 * message, alias id, count of the alias's own aliases, those aliases, count
 * of touchpoints, each as id, "type|channel", at, extra, count of outcomes,
 * each as member, at, extra. Idempotent: once the alias is among the
 * customer's aliases (set in the same script as the copy) it answers
 * {'copied', {}} without copying again. Else a redirect, {'retry'},
 * {'limit'} or {'copied', {dropped outcome member, at, ...}}.
 */
export const MERGE_COPY_SCRIPT = `${MERGE_HELPERS}
local C = customerKeys(1)
local moved = redirect(C.a, C.j)
if moved then return moved end
local aliasId = ARGV[11]
if redis.call('SISMEMBER', C.s, aliasId) == 1 then return {'copied', {}} end
if (redis.call('HGET', C.p, 'v') or '') ~= ARGV[5] then return {'retry'} end
local own = tonumber(ARGV[12])
if redis.call('SCARD', C.s) + 1 + own > tonumber(ARGV[4]) then return {'limit'} end
local bad = checkTypes(C)
if bad then return bad end
local aliases = {aliasId}
for k = 1, own do aliases[#aliases + 1] = ARGV[12 + k] end
local at = 13 + own
local touchpoints = {}
for k = at + 1, at + tonumber(ARGV[at]) * 4 do touchpoints[#touchpoints + 1] = ARGV[k] end
at = at + tonumber(ARGV[at]) * 4 + 1
local outcomes = {}
for k = at + 1, at + tonumber(ARGV[at]) * 3 do outcomes[#outcomes + 1] = ARGV[k] end
local dropped = copyInto(C, ARGV[1], ARGV[2], tonumber(ARGV[3]), touchpoints, outcomes)
settleInto(C, ARGV[1], ARGV[6], ARGV[7], ARGV[8], aliases)
redis.call('PUBLISH', ARGV[9], ARGV[10])
return {'copied', dropped}
`;

/**
 * Redis Cluster, step 3, in the alias's slot. KEYS: the alias's p t x i o v a
 * j s. ARGV: canonical id, channel, message. Points the alias at the
 * canonical customer and deletes its data (copied by step 2); keeps the
 * journal and its alias set until its own aliases are pointed over too.
 * Returns those aliases, or false when the journal is gone (done already).
 */
export const MERGE_FINISH_SCRIPT = `
if redis.call('GET', KEYS[8]) ~= ARGV[1] then return false end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
redis.call('SET', KEYS[7], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return redis.call('SMEMBERS', KEYS[9])
`;

/** Redis Cluster, step 4, in one of the alias's own aliases' slot. KEYS: its a. ARGV: the alias, canonical id, channel, message. */
export const MERGE_REPOINT_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current ~= ARGV[1] and current ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

/**
 * Redis Cluster, the end of a merge (step 5) or its abandonment (the
 * canonical customer has too many aliases), or a new target when the
 * canonical customer itself became an alias meanwhile. KEYS: the alias's j s.
 * ARGV: the journal's canonical id, what to do ('done' | 'abort' | a new
 * canonical id). Acts only while the journal still names that canonical id.
 */
export const MERGE_JOURNAL_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'done' then redis.call('DEL', KEYS[1], KEYS[2])
elseif ARGV[2] == 'abort' then redis.call('DEL', KEYS[1])
else redis.call('SET', KEYS[1], ARGV[2]) end
return 1
`;

/**
 * Numbers the names not in the list yet, in the order given, after those that
 * are; at most ARGV[1] names in all. Atomic: two replicas adding at once get
 * one numbering. Returns the whole list when ARGV[2] is '1' (the last of the
 * calls a long list is sent in), else its length.
 *
 * KEYS: 1 P{decision-names} (name -> number), 2 P{decision-names}:list
 * ARGV: 1 most names, 2 '1' to return the list, 3.. the names
 */
export const ADD_DECISION_NAMES_SCRIPT = `
local max = tonumber(ARGV[1])
local count = redis.call('LLEN', KEYS[2])
for n = 3, #ARGV do
  if count >= max then break end
  if redis.call('HSETNX', KEYS[1], ARGV[n], tostring(count)) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[n])
    count = count + 1
  end
end
if ARGV[2] == '1' then return redis.call('LRANGE', KEYS[2], 0, -1) end
return count
`;
