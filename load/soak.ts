/**
 * Soak test: `npm run soak`. Starts the real service as a child process on
 * SQLite in a temp folder, seeds customers, then runs a mixed load (decisions
 * by GET, POST and batch, and touchpoint ingestion) from a pool of concurrent
 * clients for SOAK_MINUTES (default 10; SOAK_QUICK=1 for a 60 s smoke run),
 * sampling the server's RSS from /proc. It reports the RSS after warm-up and
 * at the end with the growth, latency percentiles per kind of request, and
 * error counts. Exits 1 on any error, or on RSS growth over the target in a
 * full run (a smoke run is too short for the figure to mean much).
 *
 * Settings (environment): SOAK_MINUTES, SOAK_QUICK, SOAK_CONCURRENCY [16],
 * SOAK_CUSTOMERS [2000], SOAK_SAMPLE_SECONDS [5], SOAK_RULES_DIR [rules].
 *
 * The customers are seeded at the per-profile touchpoint cap, so ingestion
 * replaces their oldest touchpoints instead of growing them: the data the
 * server holds stays the same size, and any RSS growth is the server's own.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runLoadScript, startChild, tempDirs, type ChildServer } from './bench/children.js';
import { seedCustomers } from './bench/http.js';
import { generateProfiles } from './bench/profiles.js';
import { createRandom } from './bench/random.js';
import { bytes, duration, heading, rate, table } from './bench/report.js';
import { Samples } from './bench/timing.js';
import { CHANNELS, TOUCHPOINT_TYPES } from './bench/vocabulary.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GROWTH_TARGET = 0.1;
const TOUCHPOINTS_PER_CUSTOMER = 100;
const BATCH_SIZE = 100;

interface Settings {
  quick: boolean;
  durationMs: number;
  warmupMs: number;
  concurrency: number;
  customers: number;
  sampleMs: number;
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
  return {
    quick,
    durationMs,
    // The first minute (a quarter of a smoke run) fills caches, JIT and SQLite pages: growth is measured after it.
    warmupMs: Math.min(60_000, durationMs / 4),
    concurrency: Math.floor(positive('SOAK_CONCURRENCY', 16)),
    customers: Math.floor(positive('SOAK_CUSTOMERS', 2000)),
    sampleMs: positive('SOAK_SAMPLE_SECONDS', 5) * 1000,
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

function placementsOf(rulesDir: string): string[] {
  const dir = join(ROOT, rulesDir, 'placements');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { placement: string }).placement);
}

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
  samples: Samples;
  errors: Map<string, number>;
}

async function main(): Promise<void> {
  const settings = readSettings();
  const random = createRandom(42);
  const placements = placementsOf(settings.rulesDir);
  const dataDir = mkdtempSync(join(tmpdir(), 'nextbest-soak-'));
  tempDirs.add(dataDir);
  const log = (message: string): void => void process.stderr.write(`[soak] ${message}\n`);

  log(`starting the service on SQLite in ${dataDir}`);
  const server: ChildServer = await startChild({
    name: 'the nextbest service',
    args: ['--import', 'tsx', 'src/main.ts'],
    cwd: ROOT,
    env: {
      ...process.env,
      STORE: 'sqlite',
      SQLITE_PATH: join(dataDir, 'profiles.db'),
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

  log(`seeding ${settings.customers} customers with ${TOUCHPOINTS_PER_CUSTOMER} touchpoints each`);
  const profiles = generateProfiles(settings.customers, { now: Date.now(), touchpoints: TOUCHPOINTS_PER_CUSTOMER, idPrefix: 'soak-' });
  await seedCustomers(base, profiles);
  const ids = profiles.map((p) => p.customerId);

  const stats = new Map<Kind, KindStats>(KINDS.map((k) => [k, { samples: new Samples(), errors: new Map() }]));
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
  const startedAt = performance.now();
  const elapsed = (): number => performance.now() - startedAt;
  const sample = (): void => {
    const value = rssBytes(pid);
    if (value !== undefined) rss.push({ atMs: elapsed(), bytes: value });
  };
  sample();
  const sampler = setInterval(() => {
    sample();
    const last = rss[rss.length - 1];
    const done = [...stats.values()].reduce((n, s) => n + s.samples.size, 0);
    log(`${(elapsed() / 1000).toFixed(0)} s: ${done} requests, RSS ${last ? bytes(last.bytes) : '—'}`);
  }, settings.sampleMs);

  log(`running the mixed load for ${duration(settings.durationMs)} with ${settings.concurrency} clients`);
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
      kindStats.samples.add(performance.now() - t0);
      if (outcome !== 'ok') kindStats.errors.set(outcome, (kindStats.errors.get(outcome) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: settings.concurrency }, worker));
  const wallMs = elapsed();
  clearInterval(sampler);
  sample();
  const alive = server.process.exitCode === null && server.process.signalCode === null;
  await server.stop();

  // ---------------------------------------------------------------- report
  const afterWarmup = rss.find((s) => s.atMs >= settings.warmupMs);
  const end = rss[rss.length - 1];
  const peak = rss.reduce((max, s) => Math.max(max, s.bytes), 0);
  const growth = afterWarmup && end ? (end.bytes - afterWarmup.bytes) / afterWarmup.bytes : NaN;
  let totalErrors = 0;
  const rows = KINDS.map((kind) => {
    const s = stats.get(kind) as KindStats;
    const summary = s.samples.summarise(wallMs);
    const errors = [...s.errors.values()].reduce((a, b) => a + b, 0);
    totalErrors += errors;
    return [kind, summary.iterations, rate(summary.opsPerSec), duration(summary.p50), duration(summary.p99), duration(summary.p999), duration(summary.max), errors];
  });

  const out: string[] = [];
  out.push(heading(`Soak: ${settings.quick ? 'quick (SOAK_QUICK=1)' : `${settings.durationMs / 60_000} min`}, ${settings.concurrency} clients, ${settings.customers} customers, SQLite`));
  out.push(table(['request', 'count', 'per s', 'p50', 'p99', 'p99.9', 'max', 'errors'], rows));
  for (const kind of KINDS) {
    for (const [what, count] of (stats.get(kind) as KindStats).errors) out.push(`  ${kind}: ${count} × ${what}`);
  }
  out.push(heading('Server memory (RSS)'));
  out.push(
    table(
      ['when', 'RSS'],
      [
        [`after warm-up (${duration(afterWarmup?.atMs ?? NaN)})`, bytes(afterWarmup?.bytes ?? NaN)],
        [`end (${duration(end?.atMs ?? NaN)})`, bytes(end?.bytes ?? NaN)],
        ['peak', bytes(peak)],
        ['growth after warm-up', Number.isFinite(growth) ? `${(growth * 100).toFixed(1)}% (target < ${GROWTH_TARGET * 100}%)` : '—'],
      ],
    ),
  );
  out.push(`\nRSS samples (s: MiB): ${rss.map((s) => `${(s.atMs / 1000).toFixed(0)}: ${(s.bytes / 1024 / 1024).toFixed(0)}`).join(', ')}`);
  out.push(`total errors: ${totalErrors}; server alive at the end: ${alive ? 'yes' : 'NO'}`);
  process.stdout.write(`${out.join('\n')}\n`);

  if (totalErrors > 0 || !alive) process.exitCode = 1;
  if (!settings.quick && !(growth < GROWTH_TARGET)) {
    process.stderr.write(`[soak] RSS grew ${(growth * 100).toFixed(1)}% after warm-up, over the ${GROWTH_TARGET * 100}% target\n`);
    process.exitCode = 1;
  }
}

await runLoadScript('soak', main);
