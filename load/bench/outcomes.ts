/**
 * Section `outcomes` of `npm run bench`, on SQLite (durable):
 *   - outcome ingestion over HTTP: POST /v1/outcomes with batches of 100
 *     outcomes, each of a real decision's served item (signed ids), in
 *     outcomes/s;
 *   - the GET decision of the realistic request with caps on every catalog
 *     item (one counting the customer's outcomes, one everyone's) against the
 *     same rules without caps, in the same run, one service after the other
 *     on the same seeded customers.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { serviceUrlFromLine, startChild, tempDirs, type ChildServer } from './children.js';
import { combineRuns, loadTest, seedCustomers, type LoadRun } from './http.js';
import { generateProfiles } from './profiles.js';
import { duration, heading, percent, rate, table } from './report.js';
import type { GeneratedRules } from './rules.js';

export interface OutcomesBenchSettings {
  root: string;
  serviceArgs: string[];
  customers: number;
  touchpoints: number;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /** GET runs per service, taken in turns (plain, capped, plain, ...). */
  rounds: number;
  /** BENCH_CPU_PROF: a V8 CPU profile of each service goes to a folder of this one, named after its rules. */
  cpuProfileDir: string | null;
}

export interface OutcomesBenchResults {
  ingest?: LoadRun & { outcomesPerSec: number };
  withoutCaps?: LoadRun;
  withCaps?: LoadRun;
}

const BATCH = 100;
const KINDS = ['impression', 'click', 'conversion', 'dismiss'] as const;

export async function outcomesSection(
  settings: OutcomesBenchSettings,
  rules: GeneratedRules,
  now: number,
  progress: (message: string) => void,
  out: (line?: string) => void,
): Promise<OutcomesBenchResults> {
  const dir = await mkdtemp(join(os.tmpdir(), 'nextbest-bench-outcomes-'));
  tempDirs.add(dir);
  const results: OutcomesBenchResults = {};
  const customers = generateProfiles(settings.customers, { now, touchpoints: settings.touchpoints, idPrefix: 'outcome-bench-' });
  const [first, second] = rules.webPlacements as [string, string];
  const paths = customers.map((c) => `/v1/decisions/${c.customerId}?placement=${first}&placement=${second}&channel=web`);
  const nextPath = () => paths[Math.floor(Math.random() * paths.length)] as string;
  const servers = new Map<boolean, ChildServer>();
  let starting: ChildServer | undefined;
  try {
    for (const capped of [false, true]) {
      const rulesDir = join(dir, capped ? 'capped' : 'plain');
      await mkdir(join(rulesDir, 'placements'), { recursive: true });
      for (const source of rules.sources) {
        let text = source.text;
        if (capped && source.file === 'catalog.json') {
          const catalog = JSON.parse(text) as { items: Array<Record<string, unknown>> };
          for (const item of catalog.items) {
            item.caps = [
              { kind: 'impression', max: 1_000_000, withinDays: 7 },
              { kind: 'conversion', max: 1_000_000, scope: 'all' },
            ];
          }
          text = JSON.stringify(catalog);
        }
        await writeFile(join(rulesDir, source.file), text);
      }
      const label = capped ? 'with caps' : 'without caps';
      progress(`(outcomes) starting the service on SQLite, rules ${label}`);
      starting = await startChild({
        name: `the service on SQLite, ${label}`,
        args: settings.cpuProfileDir
          ? ['--cpu-prof', '--cpu-prof-dir', join(settings.cpuProfileDir, `outcomes-${capped ? 'capped' : 'plain'}`), ...settings.serviceArgs]
          : settings.serviceArgs,
        cwd: settings.root,
        env: { ...process.env, STORE: 'sqlite', SQLITE_PATH: join(dir, `${label}.db`), PORT: '0', HOST: '127.0.0.1', RULES_DIR: rulesDir, RULES_POLL_INTERVAL_MS: '0' },
        urlFromLine: serviceUrlFromLine,
      });
      const server = starting;
      progress(`(outcomes) seeding ${customers.length} customers`);
      await seedCustomers(server.url, customers);
      // Outcomes are ingested on both services, so that both decide over profiles holding the same outcomes and
      // the GET figures differ by the caps alone.
      const bodies = await outcomeBatches(server.url, paths);
      let next = 0;
      const nextBody = () => bodies[next++ % bodies.length] as string;
      progress(`(outcomes) ingestion: batches of ${BATCH}, ${settings.warmupSeconds} s warm-up, ${settings.seconds} s measured`);
      const ingest = { url: server.url, connections: Math.min(settings.connections, 16), method: 'POST' as const, nextPath: () => '/v1/outcomes', nextBody };
      await loadTest({ ...ingest, durationSec: settings.warmupSeconds });
      const run = await loadTest({ ...ingest, durationSec: settings.seconds, serverPid: server.process.pid });
      if (!capped) results.ingest = { ...run, outcomesPerSec: run.requestsPerSec * BATCH };
      servers.set(capped, server);
      starting = undefined;
    }
    // Both services stay up and take turns, so that other work on the machine weighs on both alike.
    const runs = new Map<boolean, LoadRun[]>([
      [false, []],
      [true, []],
    ]);
    for (let round = 0; round < settings.rounds; round++) {
      for (const [capped, server] of servers) {
        progress(`(outcomes) GET decisions ${capped ? 'with' : 'without'} caps, round ${round + 1} of ${settings.rounds}`);
        await loadTest({ url: server.url, connections: settings.connections, durationSec: settings.warmupSeconds, nextPath });
        runs.get(capped)?.push(await loadTest({ url: server.url, connections: settings.connections, durationSec: settings.seconds, nextPath, serverPid: server.process.pid }));
      }
    }
    results.withoutCaps = combineRuns(runs.get(false) ?? []);
    results.withCaps = combineRuns(runs.get(true) ?? []);
  } catch (err) {
    const failing = starting ?? [...servers.values()].at(-1);
    throw new Error(`${(err as Error).message}${failing ? `\n-- server stderr --\n${failing.stderrTail()}` : ''}`);
  } finally {
    await starting?.stop();
    await Promise.all([...servers.values()].map((server) => server.stop()));
    await rm(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
  print(settings, results, out);
  return results;
}

/**
 * Batches of real outcomes: a decision per path, then one outcome of each
 * kind for each item it served, a hundred to a body. Once the run has sent
 * them all it starts over, and those count as duplicates (still a full check
 * and a write transaction each).
 */
async function outcomeBatches(url: string, paths: readonly string[]): Promise<string[]> {
  const outcomes: unknown[] = [];
  for (const path of paths) {
    const decision = (await (await fetch(`${url}${path}`)).json()) as { decisionId: string; customerId: string; placements: Record<string, { items: Array<{ id: string }> }> };
    for (const [placement, { items }] of Object.entries(decision.placements)) {
      for (const item of items) for (const kind of KINDS) outcomes.push({ decisionId: decision.decisionId, customerId: decision.customerId, placement, item: item.id, kind });
    }
  }
  const bodies: string[] = [];
  for (let start = 0; start + BATCH <= outcomes.length; start += BATCH) bodies.push(JSON.stringify({ outcomes: outcomes.slice(start, start + BATCH) }));
  if (bodies.length === 0) throw new Error('the decisions served too few items to fill one batch of outcomes');
  return bodies;
}

function print(settings: OutcomesBenchSettings, results: OutcomesBenchResults, out: (line?: string) => void): void {
  out(heading('Outcomes on SQLite (durable)'));
  out(
    `${settings.customers.toLocaleString('en-US')} customers seeded through the API; ${settings.seconds} s measured after ${settings.warmupSeconds} s of warm-up each` +
      `${settings.rounds > 1 ? `; the two GET services take ${settings.rounds} turns each (A B A B), their runs summed` : ''}. ` +
      `Ingestion: POST /v1/outcomes, ${BATCH} outcomes of real decisions per body (each id verified, one transaction per customer). ` +
      'GET decisions: the realistic two-placement request, the same rules with and without caps on every catalog item.',
  );
  out();
  const row = (name: string, run: LoadRun | undefined, extra: string) =>
    run ? [name, rate(run.requestsPerSec), duration(run.latency.p50), duration(run.latency.p99), duration(run.serverCpuPerResponse), run.non2xx + run.errors + run.timeouts, extra] : [name, '', '', '', '', '', 'not run'];
  const base = results.withoutCaps?.requestsPerSec;
  const capped = results.withCaps?.requestsPerSec;
  out(
    table(
      ['Run', 'req/s', 'p50', 'p99', 'server CPU/response', 'non-2xx/errors', ''],
      [
        row(`POST ${BATCH} outcomes`, results.ingest, results.ingest ? `${rate(results.ingest.outcomesPerSec)} outcomes/s` : ''),
        row('GET decision, no caps', results.withoutCaps, ''),
        row('GET decision, caps on every item', results.withCaps, base && capped ? `${capped >= base ? '+' : ''}${percent(capped / base - 1)} req/s vs no caps` : ''),
      ],
    ),
  );
}
