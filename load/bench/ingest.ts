/**
 * Section (f) of `npm run bench`: ingestion on SQLite, durable.
 *
 * The service on its default store (STORE=sqlite, synchronous=FULL: every
 * acknowledged write is fsynced) with customers seeded through the API, then
 * single-touchpoint POSTs from 50 connections, fresh ids, spread over the
 * customers: what a site sends, one touchpoint per page view. Concurrent
 * writes share a commit (src/profiles/sqlite-group-commit.ts), so the rate
 * depends on how many fsyncs a second the disk under the temporary folder
 * takes as much as on CPU.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { serviceUrlFromLine, startChild, tempDirs, type ChildServer } from './children.js';
import { ingestLoad, seedCustomers, type LoadRun } from './http.js';
import { generateProfiles } from './profiles.js';
import { duration, heading, rate, table } from './report.js';
import type { GeneratedRules } from './rules.js';

export interface IngestBenchSettings {
  root: string;
  /** How the service is started (node's arguments): dist/main.js, or src/main.ts through tsx. */
  serviceArgs: string[];
  customers: number;
  touchpoints: number;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /** Requests per second the section aims at. */
  target: number;
}

export interface IngestBenchResults {
  seedMs?: number;
  ingest?: LoadRun;
  /** The folder the SQLite file lived in: its disk sets the price of an fsync. */
  folder?: string;
}

const CUSTOMER_PREFIX = 'ingest-bench-';

export async function ingestSection(
  settings: IngestBenchSettings,
  rules: GeneratedRules,
  now: number,
  progress: (message: string) => void,
  out: (line?: string) => void,
): Promise<IngestBenchResults> {
  const dir = await mkdtemp(join(os.tmpdir(), 'nextbest-bench-ingest-'));
  tempDirs.add(dir);
  const results: IngestBenchResults = { folder: os.tmpdir() };
  let server: ChildServer | undefined;
  try {
    const rulesDir = join(dir, 'rules');
    await mkdir(join(rulesDir, 'placements'), { recursive: true });
    for (const source of rules.sources) await writeFile(join(rulesDir, source.file), source.text);

    progress('(f) starting the service on SQLite');
    server = await startChild({
      name: 'the service on SQLite',
      args: settings.serviceArgs,
      cwd: settings.root,
      env: {
        ...process.env,
        STORE: 'sqlite',
        SQLITE_PATH: join(dir, 'data', 'profiles.db'),
        PORT: '0',
        HOST: '127.0.0.1',
        RULES_DIR: rulesDir,
        RULES_POLL_INTERVAL_MS: '0',
      },
      urlFromLine: serviceUrlFromLine,
    });

    const customers = generateProfiles(settings.customers, { now, touchpoints: settings.touchpoints, idPrefix: CUSTOMER_PREFIX });
    progress(`(f) seeding ${customers.length} customers × ${settings.touchpoints} touchpoints into SQLite`);
    const seedStart = performance.now();
    await seedCustomers(server.url, customers);
    results.seedMs = performance.now() - seedStart;

    progress(`(f) ingestion: one touchpoint per POST, ${settings.warmupSeconds} s warm-up, ${settings.seconds} s measured`);
    const ingest = { url: server.url, customerPrefix: CUSTOMER_PREFIX, customers: customers.length, connections: settings.connections };
    await ingestLoad({ ...ingest, durationSec: settings.warmupSeconds });
    results.ingest = await ingestLoad({ ...ingest, durationSec: settings.seconds, serverPid: server.process.pid });
  } catch (err) {
    throw new Error(`${(err as Error).message}${server ? `\n-- server stderr --\n${server.stderrTail()}` : ''}`);
  } finally {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
  printIngest(settings, results, out);
  return results;
}

function printIngest(settings: IngestBenchSettings, results: IngestBenchResults, out: (line?: string) => void): void {
  out(heading('(f) Ingestion on SQLite (durable)'));
  out(
    `The service (STORE=sqlite, synchronous=FULL, its file under ${results.folder ?? '?'}) with ${settings.customers.toLocaleString('en-US')} customers × ` +
      `${settings.touchpoints} touchpoints seeded through the API; then ${settings.connections} connections POST one touchpoint each (fresh ids, the customers in turn), ` +
      `${settings.seconds} s measured after ${settings.warmupSeconds} s of warm-up. A 202 comes only after the commit holding the touchpoint; ` +
      'writes that arrive together share one commit and its fsync.',
  );
  out();
  const run = results.ingest;
  if (run) {
    out(
      table(
        ['Run', 'req/s', 'p50', 'p99', 'max', 'server CPU/response', 'responses', 'non-2xx/errors', 'target', 'meets'],
        [
          [
            'POST one touchpoint',
            rate(run.requestsPerSec),
            duration(run.latency.p50),
            duration(run.latency.p99),
            duration(run.latency.max),
            duration(run.serverCpuPerResponse),
            run.responses.toLocaleString('en-US'),
            run.non2xx + run.errors + run.timeouts,
            `≥ ${rate(settings.target)}/s`,
            run.requestsPerSec >= settings.target ? 'yes' : 'no',
          ],
        ],
      ),
    );
  }
  if (results.seedMs !== undefined) {
    out();
    out(
      `Seeding (a PATCH and a ${settings.touchpoints}-touchpoint POST per customer, 16 in flight) took ${duration(results.seedMs)}: ` +
        `${rate((settings.customers * settings.touchpoints * 1000) / results.seedMs)} touchpoints/s.`,
    );
  }
}
