/**
 * How much memory the profile cache takes for many cached customers.
 *
 *   npx tsx load/memory.ts                          100,000 profiles of 60 touchpoints
 *   npx tsx load/memory.ts --profiles 10000 --touchpoints 60 --json
 *
 * The cache is filled through its own loading path (getManyForDecision, a
 * thousand ids at a time) from an inner store that builds each profile when
 * asked and keeps nothing, so what stays in memory is the cache alone, with
 * what a decision keeps beside each profile (src/conditions/decision-facts.ts). Each
 * profile is realistic: 60 touchpoints over 12 types and 5 channels, each
 * with an id and small properties, and 5 attributes, one a nested object.
 * Profiles arrive as JSON text and are parsed, so every string is a fresh
 * copy as from SQLite, and interning has to earn its saving.
 *
 * Target (issue "Fast decisions"): 100,000 cached profiles in at most 1 GB RSS.
 * The command line runs in a fresh process with --expose-gc (it re-spawns
 * itself to get it), so its RSS is what a service holding the cache would
 * need beyond its code.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createFacts } from '../src/conditions/decision-facts.js';
import { toDecisionProfile, type DecisionProfile } from '../src/domain/decision-profile.js';
import type { Profile } from '../src/domain/profile.js';
import { createCachedStore } from '../src/profiles/cached-store.js';
import type { ProfileStore } from '../src/profiles/store.js';

export interface CacheMemoryOptions {
  profiles: number;
  touchpointsPerProfile: number;
}

export interface CacheMemoryResult {
  profiles: number;
  /** The process's resident set once the cache is full (after a full GC). */
  rssBytes: number;
  /** The V8 heap in use once the cache is full (after a full GC). */
  heapBytes: number;
  /** The V8 heap reserved then, in use or not: garbage left holes between the cached objects. */
  heapCommittedBytes: number;
  /** What the cache added, heap and off-heap (typed array buffers), per cached profile. */
  bytesPerProfile: number;
  /** The same figures before the cache was filled, and what filling it added. */
  baseline: { rssBytes: number; heapBytes: number; externalBytes: number };
  added: { rssBytes: number; heapBytes: number; externalBytes: number };
  touchpointsPerProfile: number;
  fillMs: number;
}

const TYPES = ['page_view', 'product_view', 'search', 'cart_add', 'cart_remove', 'checkout_start', 'purchase', 'email_open', 'email_click', 'push_open', 'app_open', 'support_chat'];
const CHANNELS = ['web', 'app', 'email', 'push', 'store'];
const TIERS = ['bronze', 'silver', 'gold', 'platinum'];
const COUNTRIES = ['DE', 'FR', 'NL', 'AT', 'CH', 'IT', 'ES', 'PL'];
const CATEGORIES = ['running', 'outdoor', 'fitness', 'yoga', 'cycling', 'swimming'];
const DAY_MS = 24 * 60 * 60 * 1000;
const LOAD_CHUNK = 1000;

/**
 * Fills a profile cache with `profiles` customers and measures it. Resolves
 * with the figures; the cache is dropped afterwards. In a process of its own
 * (the command line), `rssBytes` is the whole cost; called from a process that
 * holds other things, read `added` and `bytesPerProfile`.
 */
export async function measureCacheMemory(options: CacheMemoryOptions): Promise<CacheMemoryResult> {
  const collect = fullCollector(garbageCollector());
  const now = Date.now();
  const inner = generatingStore(options.touchpointsPerProfile, now);
  await collect();
  const before = process.memoryUsage();

  const started = performance.now();
  const cache = createCachedStore(inner, { max: options.profiles, retentionDays: 30, now: () => now });
  for (let start = 0; start < options.profiles; start += LOAD_CHUNK) {
    const ids = Array.from({ length: Math.min(LOAD_CHUNK, options.profiles - start) }, (_, i) => customerId(start + i));
    const loaded = await cache.getManyForDecision(ids);
    // Every cached customer has been decided: what decisions keep with a profile (touchpoint ids,
    // touchpoints by type, buckets, distinct types) is part of what caching it costs.
    for (const profile of loaded.values()) {
      const facts = createFacts({ customerId: profile.customerId, profile, context: {}, now });
      facts.touchpointCount({ type: 'purchase', withinDays: 30 });
      facts.daysSinceLastTouchpoint({ channel: 'email' });
      facts.bucket({ salt: 'holdout' });
      void facts.touchpointTypes;
    }
  }
  const fillMs = performance.now() - started;

  await collect();
  const after = process.memoryUsage();
  const { size } = cache.stats();
  if (size !== options.profiles) throw new Error(`expected ${options.profiles} cached profiles, the cache holds ${size}`);
  // Still in use here, so the collections above could not take it.
  await cache.close();

  const added = {
    rssBytes: after.rss - before.rss,
    heapBytes: after.heapUsed - before.heapUsed,
    externalBytes: after.external - before.external,
  };
  return {
    profiles: options.profiles,
    rssBytes: after.rss,
    heapBytes: after.heapUsed,
    heapCommittedBytes: after.heapTotal,
    bytesPerProfile: Math.round((added.heapBytes + added.externalBytes) / options.profiles),
    baseline: { rssBytes: before.rss, heapBytes: before.heapUsed, externalBytes: before.external },
    added,
    touchpointsPerProfile: options.touchpointsPerProfile,
    fillMs: Math.round(fillMs),
  };
}

function customerId(n: number): string {
  return `c-${n.toString().padStart(7, '0')}`;
}

/**
 * A store that makes up each profile when read and keeps nothing, so the
 * cache is all that grows. Only the decision reads are used.
 */
function generatingStore(touchpointsPerProfile: number, now: number): ProfileStore {
  const unused = (): never => {
    throw new Error('the memory measurement only reads decision profiles');
  };
  const decisionProfile = (id: string): DecisionProfile => toDecisionProfile(generateProfile(id, touchpointsPerProfile, now));
  return {
    kind: 'generated',
    get: unused,
    getMany: unused,
    async getForDecision(id) {
      return decisionProfile(id);
    },
    async getManyForDecision(ids) {
      return new Map(ids.map((id) => [id, decisionProfile(id)]));
    },
    scanDecisionProfiles: unused,
    resolve: async (id) => id,
    addAlias: unused,
    appendTouchpoints: unused,
    appendOutcomes: unused,
    outcomeTotals: unused,
    sharedSecret: unused,
    addDecisionNames: unused,
    decisionNames: unused,
    patch: unused,
    delete: unused,
    sweepExpired: async () => 0,
    ping: async () => undefined,
    close: async () => undefined,
  };
}

/** A realistic profile, parsed from JSON text as a store reads it, so that every string in it is a fresh copy. */
export function generateProfile(id: string, touchpoints: number, now: number): Profile {
  const random = seededRandom(hash(id));
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  const attributes = {
    tier: pick(TIERS),
    country: pick(COUNTRIES),
    lifetimeValue: Math.round(random() * 500_000) / 100,
    newsletter: random() < 0.6,
    prefs: { email: random() < 0.7, sms: random() < 0.2, categories: [pick(CATEGORIES), pick(CATEGORIES)] },
  };
  // Newest first, spread over the last four weeks.
  const ages = Array.from({ length: touchpoints }, () => Math.floor(random() * 28 * DAY_MS)).sort((a, b) => a - b);
  const rows = ages.map((age, i) => {
    const tpId = `${id}-tp-${i}-${Math.floor(random() * 0xffffffff).toString(16)}`;
    const properties = `{"sku":"SKU-${Math.floor(random() * 100_000)}","page":"/p/${Math.floor(random() * 5000)}","value":${Math.round(random() * 20_000) / 100}}`;
    return `{"id":"${tpId}","type":"${pick(TYPES)}","channel":"${pick(CHANNELS)}","at":${now - age},"properties":${properties}}`;
  });
  const stage = random() < 0.2 ? '"consideration"' : 'null';
  const text = `{"customerId":"${id}","attributes":${JSON.stringify(attributes)},"stage":${stage},"touchpoints":[${rows.join(',')}],"createdAt":${now - 90 * DAY_MS},"updatedAt":${now}}`;
  return JSON.parse(text) as Profile;
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** mulberry32: small, fast and good enough to make up test data. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Collects until the heap settles: a second pass frees what the first one's
 * finalizers released, and a pause lets V8 hand unused pages back, so RSS
 * shows what is held rather than what was recently in use.
 */
function fullCollector(gc: () => void): () => Promise<void> {
  return async () => {
    for (let i = 0; i < 3; i++) gc();
    await new Promise((resolve) => setTimeout(resolve, 300));
    gc();
  };
}

/**
 * A full garbage collection. `--expose-gc` provides it; a process started
 * without the flag (a caller importing this module) gets it by setting the
 * flag at run time and taking `gc` from a fresh context, which V8 allows.
 */
function garbageCollector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return () => exposed();
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  return () => gc();
}

function formatMiB(value: number): string {
  return `${(value / 1024 / 1024).toFixed(1)} MiB`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profiles: { type: 'string', default: '100000' },
      touchpoints: { type: 'string', default: '60' },
      json: { type: 'boolean', default: false },
    },
  });
  const options = { profiles: Number(values.profiles), touchpointsPerProfile: Number(values.touchpoints) };
  for (const [name, value] of Object.entries(options)) {
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${name === 'profiles' ? 'profiles' : 'touchpoints'} must be a whole number`);
  }
  const result = await measureCacheMemory(options);
  if (values.json) {
    console.log(JSON.stringify(result));
    return;
  }
  const target = 1024 * 1024 * 1024;
  console.log(`profile cache: ${result.profiles.toLocaleString('en')} profiles x ${result.touchpointsPerProfile} touchpoints, filled in ${result.fillMs} ms`);
  console.log(`  before   rss ${formatMiB(result.baseline.rssBytes)}, heap ${formatMiB(result.baseline.heapBytes)}, external ${formatMiB(result.baseline.externalBytes)}`);
  console.log(`  after    rss ${formatMiB(result.rssBytes)}, heap ${formatMiB(result.heapBytes)} (committed ${formatMiB(result.heapCommittedBytes)})`);
  console.log(`  added    rss ${formatMiB(result.added.rssBytes)}, heap ${formatMiB(result.added.heapBytes)}, external ${formatMiB(result.added.externalBytes)}`);
  console.log(`  per profile ${result.bytesPerProfile} bytes (heap + external)`);
  console.log(`  target   100,000 profiles in 1 GiB RSS: ${result.rssBytes <= target ? 'met' : 'MISSED'} at this size (${formatMiB(result.rssBytes)})`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
    // Again with --expose-gc, keeping tsx's loader flags.
    const child = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', process.argv[1], ...process.argv.slice(2)], { stdio: 'inherit' });
    process.exit(child.status ?? 1);
  }
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
