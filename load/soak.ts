/**
 * Soak test: `npm run soak`. Starts the real service as a child process on
 * SQLite in a temp folder, seeds customers, makes one decision for each of
 * them (so the profile cache holds them all), then runs a mixed load
 * (decisions by GET, POST and batch, and touchpoint ingestion) from a pool of
 * concurrent clients for SOAK_MINUTES (default 10; SOAK_QUICK=1 for a 60 s
 * smoke run). It reports latency percentiles and errors per kind of request,
 * and the server's memory after warm-up and at the end.
 *
 * Memory. RSS read at one instant mostly says where the garbage collector's
 * cycle happens to be (it moves in a sawtooth of 50-120 MiB under this load),
 * so the soak compares two windows: the last minute of the warm-up (the
 * first two minutes; the cache is already full, this lets JIT and V8's heap
 * sizing settle) and the last minute of the run. Every SOAK_SAMPLE_SECONDS it
 * reads the server's RSS from /proc. The server runs with --expose-gc and
 * load/soak-probe.ts preloaded: on SIGUSR2 it runs a full GC and reports the
 * heap right after it and its RSS a second later. The soak sends that every
 * SOAK_GC_SECONDS within the two windows and once a minute between them (a
 * forced GC stops the server for 30-90 ms, up to 200 ms on a busy machine,
 * and flattens the sawtooth within the windows). Compared across them:
 *
 *   - RSS after a full GC, median of the window's probes: the footprint with
 *     the garbage gone. This is the figure held to the target.
 *   - heap used after a full GC: what the service really keeps, the leak
 *     detector; its range over every probe after warm-up is printed too.
 *   - RSS, median, lowest and highest of the window's plain samples.
 *   - RSS at two instants (the first sample after warm-up, the last): the old
 *     figure, kept for comparison.
 *
 * Exits 1 on any error, or, in a full run, on growth over the target. Every
 * sample is printed too.
 *
 * Settings (environment): SOAK_MINUTES [10], SOAK_QUICK, SOAK_CONCURRENCY [16],
 * SOAK_CUSTOMERS [2000], SOAK_SAMPLE_SECONDS [5], SOAK_GC_SECONDS [10; 5 in a
 * quick run], SOAK_WARMUP_SECONDS [120, a quarter of the run at most],
 * SOAK_RULES_DIR [rules].
 *
 * The customers are seeded at the per-profile touchpoint cap, so ingestion
 * replaces their oldest touchpoints instead of growing them: the data the
 * server holds stays the same size, and any growth is the server's own.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runLoadScript, startChild, tempDirs, type ChildServer } from './bench/children.js';
import { seedCustomers, warmProfileCache } from './bench/http.js';
import { generateProfiles } from './bench/profiles.js';
import { createRandom } from './bench/random.js';
import { bytes, duration, heading, rate, table } from './bench/report.js';
import { percentile } from './bench/timing.js';
import { CHANNELS, TOUCHPOINT_TYPES } from './bench/vocabulary.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROBE_MODULE = pathToFileURL(join(ROOT, 'load', 'soak-probe.ts')).href;
/** The start of the line load/soak-probe.ts writes to stderr. */
const PROBE_PREFIX = 'soak-probe ';
const PROBE_TIMEOUT_MS = 10_000;
const GROWTH_TARGET = 0.1;
const TOUCHPOINTS_PER_CUSTOMER = 100;
const BATCH_SIZE = 100;
const MiB = 1024 * 1024;

interface Settings {
  quick: boolean;
  durationMs: number;
  warmupMs: number;
  /** The length of the two windows compared: the end of the warm-up and the end of the run. */
  windowMs: number;
  concurrency: number;
  customers: number;
  sampleMs: number;
  probeMs: number;
  rulesDir: string;
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not "${raw}"`);
  return value;
}

function readSettings(): Settings {
  const quick = process.env.SOAK_QUICK === '1';
  const durationMs = quick ? 60_000 : positive('SOAK_MINUTES', 10) * 60_000;
  // JIT, V8's heap sizing and SQLite's pages settle in the first two minutes (the cache is full before the load starts).
  const warmupMs = Math.min(positive('SOAK_WARMUP_SECONDS', 120) * 1000, durationMs / 4);
  return {
    quick,
    durationMs,
    warmupMs,
    windowMs: Math.min(60_000, warmupMs / 2),
    concurrency: Math.floor(positive('SOAK_CONCURRENCY', 16)),
    customers: Math.floor(positive('SOAK_CUSTOMERS', 2000)),
    sampleMs: positive('SOAK_SAMPLE_SECONDS', 5) * 1000,
    probeMs: positive('SOAK_GC_SECONDS', quick ? 5 : 10) * 1000,
    rulesDir: process.env.SOAK_RULES_DIR ?? 'rules',
  };
}

/** The server's resident set size in bytes, from /proc; undefined where /proc is not there. */
function rssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function placementsOf(rulesDir: string): string[] {
  const dir = join(ROOT, rulesDir, 'placements');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { placement: string }).placement);
}

/** Latencies in milliseconds, in a growing Float64Array (half a million requests in a 10-minute run). */
class Latencies {
  private values = new Float64Array(1 << 16);
  size = 0;

  add(value: number): void {
    if (this.size === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.size++] = value;
  }

  sorted(): Float64Array {
    return this.values.slice(0, this.size).sort();
  }
}

/** What load/soak-probe.ts reports right after a full GC, plus what the soak reads beside it. */
interface Probe {
  atMs: number;
  gcMs: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Entries in the profile cache, from /metrics; NaN if the scrape failed. */
  cacheEntries: number;
  /** The SQLite database and its write-ahead log, bytes on disk. */
  dbBytes: number;
  walBytes: number;
}

/** Reads the probe's lines from the server's stderr and asks for one probe at a time. */
function probeReader(server: ChildServer): () => Promise<Omit<Probe, 'atMs' | 'cacheEntries' | 'dbBytes' | 'walBytes'>> {
  const waiting: Array<(line: string) => void> = [];
  const lines = createInterface({ input: server.process.stderr as NodeJS.ReadableStream });
  lines.on('line', (line) => {
    if (line.startsWith(PROBE_PREFIX)) waiting.shift()?.(line.slice(PROBE_PREFIX.length));
  });
  return () =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not answer the GC probe within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
      waiting.push((text) => {
        clearTimeout(timer);
        const parsed = JSON.parse(text) as { gc: boolean; gcMs: number; rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
        if (!parsed.gc) reject(new Error('the server runs without --expose-gc: the probe could not collect'));
        else resolve(parsed);
      });
      server.process.kill('SIGUSR2');
    });
}

async function cacheEntries(base: string): Promise<number> {
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    const match = /^nextbest_profile_cache_entries(?:\{[^}]*\})? (\S+)$/m.exec(text);
    return match ? Number(match[1]) : NaN;
  } catch {
    return NaN;
  }
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const mib = (value: number): string => (Number.isFinite(value) ? (value / MiB).toFixed(0) : '—');
const signedPercent = (value: number): string => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)}%` : '—');
const signedMiB = (value: number): string => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${(value / MiB).toFixed(1)} MiB` : '—');

const KINDS = ['GET decision', 'POST decision', 'POST batch', 'POST touchpoint'] as const;
type Kind = (typeof KINDS)[number];
/** Weights of the mix: mostly decisions, a steady stream of ingestion, a batch now and then. */
const MIX: ReadonlyArray<readonly [Kind, number]> = [
  ['GET decision', 40],
  ['POST decision', 25],
  ['POST batch', 3],
  ['POST touchpoint', 32],
];

interface KindStats {
  latencies: Latencies;
  errors: Map<string, number>;
}

async function main(): Promise<void> {
  const settings = readSettings();
  const random = createRandom(42);
  const placements = placementsOf(settings.rulesDir);
  const dataDir = mkdtempSync(join(tmpdir(), 'nextbest-soak-'));
  tempDirs.add(dataDir);
  const dbPath = join(dataDir, 'profiles.db');
  const log = (message: string): void => void process.stderr.write(`[soak] ${message}\n`);

  log(`starting the service on SQLite in ${dataDir}`);
  const server: ChildServer = await startChild({
    name: 'the nextbest service',
    args: ['--expose-gc', '--import', 'tsx', '--import', PROBE_MODULE, 'src/main.ts'],
    cwd: ROOT,
    env: {
      ...process.env,
      STORE: 'sqlite',
      SQLITE_PATH: dbPath,
      PORT: '0',
      HOST: '127.0.0.1',
      RULES_DIR: settings.rulesDir,
      MAX_TOUCHPOINTS_PER_PROFILE: String(TOUCHPOINTS_PER_CUSTOMER),
      RULES_POLL_INTERVAL_MS: '0',
    },
    urlFromLine: (line) => {
      if (!line.startsWith('{')) return undefined;
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      return entry.msg === 'nextbest listening' && entry.url ? entry.url : undefined;
    },
  });
  const base = server.url;
  const pid = server.process.pid;
  const askProbe = probeReader(server);

  log(`seeding ${settings.customers} customers with ${TOUCHPOINTS_PER_CUSTOMER} touchpoints each`);
  const profiles = generateProfiles(settings.customers, { now: Date.now(), touchpoints: TOUCHPOINTS_PER_CUSTOMER, idPrefix: 'soak-' });
  await seedCustomers(base, profiles);
  const ids = profiles.map((p) => p.customerId);
  // Only decision reads fill the cache: one batch decision per customer puts the whole population in it before the load.
  await warmProfileCache(base, ids, placements[0] as string);
  const cacheBefore = await cacheEntries(base);
  log(`profile cache: ${cacheBefore} entries after one decision per customer`);

  const stats = new Map<Kind, KindStats>(KINDS.map((k) => [k, { latencies: new Latencies(), errors: new Map() }]));
  const mixWeights = MIX.map(([kind, weight]) => [kind, weight] as const);
  let sequence = 0;
  const JSON_HEADERS = { 'content-type': 'application/json' };

  const pickPlacements = (): string[] => placements.filter(() => random.next() < 0.5).concat(random.pick(placements));
  const requestFor = (kind: Kind): { url: string; init: RequestInit; expected: number } => {
    const customerId = random.pick(ids);
    switch (kind) {
      case 'GET decision': {
        const query = pickPlacements()
          .map((p) => `placement=${p}`)
          .join('&');
        return { url: `${base}/v1/decisions/${customerId}?${query}&channel=${random.pick(CHANNELS)}`, init: {}, expected: 200 };
      }
      case 'POST decision':
        return {
          url: `${base}/v1/decisions`,
          init: {
            method: 'POST',
            headers: JSON_HEADERS,
            body: JSON.stringify({ customerId, placements: pickPlacements(), context: { channel: random.pick(CHANNELS) }, explain: random.chance(0.1) }),
          },
          expected: 200,
        };
      case 'POST batch':
        return {
          url: `${base}/v1/decisions/batch`,
          init: {
            method: 'POST',
            headers: JSON_HEADERS,
            body: JSON.stringify({
              requests: Array.from({ length: BATCH_SIZE }, () => ({ customerId: random.pick(ids), placements: pickPlacements() })),
            }),
          },
          expected: 200,
        };
      case 'POST touchpoint': {
        const entry = random.pick(TOUCHPOINT_TYPES);
        return {
          url: `${base}/v1/customers/${customerId}/touchpoints`,
          init: {
            method: 'POST',
            headers: JSON_HEADERS,
            body: JSON.stringify({ id: `soak-tp-${++sequence}`, type: entry.type, channel: random.pick(entry.channels) }),
          },
          expected: 202,
        };
      }
    }
  };

  const rss: Array<{ atMs: number; bytes: number }> = [];
  const probes: Probe[] = [];
  const probeErrors: string[] = [];
  let startedAt = performance.now();
  const elapsed = (): number => performance.now() - startedAt;
  const sample = (): void => {
    const value = rssBytes(pid);
    if (value !== undefined) rss.push({ atMs: elapsed(), bytes: value });
  };
  let probing: Promise<void> = Promise.resolve();
  const probe = (): Promise<void> => {
    probing = probing.then(async () => {
      const atMs = elapsed();
      try {
        const usage = await askProbe();
        probes.push({ atMs, ...usage, cacheEntries: await cacheEntries(base), dbBytes: fileSize(dbPath), walBytes: fileSize(`${dbPath}-wal`) });
      } catch (err) {
        probeErrors.push((err as Error).message);
      }
    });
    return probing;
  };
  sample();
  await probe();
  // The load and the timers start now, so that the probes fall on whole multiples of their period.
  startedAt = performance.now();
  const sampler = setInterval(() => {
    sample();
    const last = rss[rss.length - 1];
    const lastProbe = probes[probes.length - 1];
    const done = [...stats.values()].reduce((n, s) => n + s.latencies.size, 0);
    log(
      `${(elapsed() / 1000).toFixed(0)} s: ${done} requests, RSS ${last ? bytes(last.bytes) : '—'}` +
        (lastProbe ? `; after GC at ${(lastProbe.atMs / 1000).toFixed(0)} s: RSS ${bytes(lastProbe.rss)}, heap ${bytes(lastProbe.heapUsed)}` : ''),
    );
  }, settings.sampleMs);
  // Forced GCs are full stop-the-world collections (tens of ms): every SOAK_GC_SECONDS in the two windows, once a minute between them.
  const warmFrom = settings.warmupMs - settings.windowMs;
  const endFrom = settings.durationMs - settings.windowMs;
  let lastProbeAt = 0;
  const prober = setInterval(() => {
    const now = elapsed();
    const inWindow = (now >= warmFrom && now <= settings.warmupMs + 1000) || now >= endFrom;
    if (inWindow || now - lastProbeAt >= 60_000 - 1000) {
      lastProbeAt = now;
      void probe();
    }
  }, settings.probeMs);

  log(
    `running the mixed load for ${duration(settings.durationMs)} with ${settings.concurrency} clients ` +
      `(warm-up ${duration(settings.warmupMs)}, windows of ${duration(settings.windowMs)})`,
  );
  const worker = async (): Promise<void> => {
    while (elapsed() < settings.durationMs) {
      const kind = random.weighted(mixWeights);
      const { url, init, expected } = requestFor(kind);
      const kindStats = stats.get(kind) as KindStats;
      const t0 = performance.now();
      let outcome: string;
      try {
        const res = await fetch(url, init);
        await res.arrayBuffer();
        outcome = res.status === expected ? 'ok' : `HTTP ${res.status}`;
      } catch (err) {
        outcome = (err as Error).message;
      }
      kindStats.latencies.add(performance.now() - t0);
      if (outcome !== 'ok') kindStats.errors.set(outcome, (kindStats.errors.get(outcome) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: settings.concurrency }, worker));
  const wallMs = elapsed();
  clearInterval(sampler);
  clearInterval(prober);
  sample();
  await probe();
  const alive = server.process.exitCode === null && server.process.signalCode === null;
  await server.stop();

  // ---------------------------------------------------------------- latency
  let totalErrors = 0;
  let totalRequests = 0;
  const rows = KINDS.map((kind) => {
    const s = stats.get(kind) as KindStats;
    const sorted = s.latencies.sorted();
    const errors = [...s.errors.values()].reduce((a, b) => a + b, 0);
    totalErrors += errors;
    totalRequests += sorted.length;
    const at = (q: number): string => duration(percentile(sorted, q));
    return [kind, sorted.length, rate((sorted.length * 1000) / wallMs), at(0.5), at(0.95), at(0.99), at(0.999), duration(sorted[sorted.length - 1] ?? NaN), errors];
  });

  const out: string[] = [];
  out.push(heading(`Soak: ${settings.quick ? 'quick (SOAK_QUICK=1)' : `${settings.durationMs / 60_000} min`}, ${settings.concurrency} clients, ${settings.customers} customers, SQLite`));
  out.push(table(['request', 'count', 'per s', 'p50', 'p95', 'p99', 'p99.9', 'max', 'errors'], rows));
  out.push(`\n${totalRequests} requests in ${duration(wallMs)} (${rate((totalRequests * 1000) / wallMs)}/s), ${totalErrors} errors`);
  for (const kind of KINDS) {
    for (const [what, count] of (stats.get(kind) as KindStats).errors) out.push(`  ${kind}: ${count} × ${what}`);
  }

  // ---------------------------------------------------------------- memory
  // A second of slack: the timers fire a little after each multiple of their period.
  const inWarm = (atMs: number): boolean => atMs >= warmFrom - 1000 && atMs <= settings.warmupMs + 1000;
  const inEnd = (atMs: number): boolean => atMs >= endFrom - 1000;
  const rssWarm = rss.filter((s) => inWarm(s.atMs)).map((s) => s.bytes);
  const rssEnd = rss.filter((s) => inEnd(s.atMs)).map((s) => s.bytes);
  const probesWarm = probes.filter((p) => inWarm(p.atMs));
  const probesEnd = probes.filter((p) => inEnd(p.atMs));
  const afterWarmup = rss.find((s) => s.atMs >= settings.warmupMs);
  const last = rss[rss.length - 1];
  const growth = (from: number, to: number): number => (to - from) / from;

  interface Measure {
    name: string;
    from: number;
    to: number;
  }
  const byProbe = (pick: (p: Probe) => number): { from: number; to: number } => ({ from: median(probesWarm.map(pick)), to: median(probesEnd.map(pick)) });
  const headline: Measure = { name: 'RSS 1 s after a full GC, median', ...byProbe((p) => p.rss) };
  const measures: Measure[] = [
    headline,
    { name: 'heap used right after the GC, median', ...byProbe((p) => p.heapUsed) },
    { name: 'heap reserved by V8 then, median', ...byProbe((p) => p.heapTotal) },
    { name: 'external (buffers) then, median', ...byProbe((p) => p.external) },
    { name: 'RSS, median of plain samples', from: median(rssWarm), to: median(rssEnd) },
    { name: 'RSS, lowest plain sample', from: Math.min(...rssWarm), to: Math.min(...rssEnd) },
    { name: 'RSS, highest plain sample', from: Math.max(...rssWarm), to: Math.max(...rssEnd) },
    { name: 'RSS, two instants (old figure)', from: afterWarmup?.bytes ?? NaN, to: last?.bytes ?? NaN },
  ];
  const window = (from: number, to: number): string => `${(from / 1000).toFixed(0)}–${(to / 1000).toFixed(0)} s`;
  out.push(heading('Server memory'));
  out.push(
    `Compared: the last ${duration(settings.windowMs)} of the warm-up (${window(warmFrom, settings.warmupMs)}: ${rssWarm.length} RSS samples, ${probesWarm.length} forced GCs) ` +
      `and of the run (${window(endFrom, wallMs)}: ${rssEnd.length} samples, ${probesEnd.length} GCs). MiB; the first row is held to the target. ` +
      `The forced GCs flatten the sawtooth within the windows; the samples between them show it.\n`,
  );
  out.push(
    table(
      ['measure', 'warm-up', 'end', 'change', 'growth'],
      measures.map((m) => [m.name, mib(m.from), mib(m.to), signedMiB(m.to - m.from), signedPercent(growth(m.from, m.to))]),
    ),
  );

  const afterWarm = probes.filter((p) => p.atMs >= warmFrom - 1000);
  const range = (pick: (p: Probe) => number): string => {
    const values = afterWarm.map(pick);
    return `${mib(Math.min(...values))}–${mib(Math.max(...values))} (median ${mib(median(values))})`;
  };
  const firstProbe = probes[0];
  const lastProbe = probes[probes.length - 1];
  const peak = rss.reduce<{ atMs: number; bytes: number } | undefined>((max, s) => (max && max.bytes >= s.bytes ? max : s), undefined);
  out.push(
    `\nAfter each of the ${afterWarm.length} forced GCs from ${(warmFrom / 1000).toFixed(0)} s on, MiB: heap used ${range((p) => p.heapUsed)}, ` +
      `heap reserved ${range((p) => p.heapTotal)}, RSS ${range((p) => p.rss)}. ` +
      `Highest RSS sample: ${mib(peak?.bytes ?? NaN)} MiB at ${((peak?.atMs ?? NaN) / 1000).toFixed(0)} s.`,
  );
  out.push(
    `Profile cache: ${cacheBefore} entries before the load, ${lastProbe?.cacheEntries ?? '—'} at the end ` +
      `(${settings.customers} customers). SQLite on disk at the start/end: database ${bytes(firstProbe?.dbBytes ?? NaN)} / ${bytes(lastProbe?.dbBytes ?? NaN)}, ` +
      `WAL ${bytes(firstProbe?.walBytes ?? NaN)} / ${bytes(lastProbe?.walBytes ?? NaN)}.`,
  );
  out.push(`Forced GCs: ${probes.length}, longest ${duration(Math.max(...probes.map((p) => p.gcMs)))}, median ${duration(median(probes.map((p) => p.gcMs)))}.`);
  for (const message of new Set(probeErrors)) out.push(`  probe failed: ${message}`);

  out.push(`\nRSS samples (s: MiB): ${rss.map((s) => `${(s.atMs / 1000).toFixed(0)}: ${mib(s.bytes)}`).join(', ')}`);
  out.push(`\nAfter each forced GC (s: RSS/heap reserved/heap used MiB): ${probes.map((p) => `${(p.atMs / 1000).toFixed(0)}: ${mib(p.rss)}/${mib(p.heapTotal)}/${mib(p.heapUsed)}`).join(', ')}`);

  const headlineGrowth = growth(headline.from, headline.to);
  out.push(
    `\nGrowth after warm-up, ${headline.name} (${mib(headline.from)} -> ${mib(headline.to)} MiB): ${signedPercent(headlineGrowth)} ` +
      `(target < ${GROWTH_TARGET * 100}%${settings.quick ? '; not checked in a quick run' : ''})`,
  );
  out.push(`total errors: ${totalErrors}; server alive at the end: ${alive ? 'yes' : 'NO'}`);
  process.stdout.write(`${out.join('\n')}\n`);

  if (totalErrors > 0 || !alive || probeErrors.length > 0) process.exitCode = 1;
  if (!settings.quick && !(headlineGrowth < GROWTH_TARGET)) {
    process.stderr.write(`[soak] ${headline.name} grew ${signedPercent(headlineGrowth)} after warm-up, over the ${GROWTH_TARGET * 100}% target\n`);
    process.exitCode = 1;
  }
}

await runLoadScript('soak', main);
