/**
 * Section (g) of `npm run bench`: sends at scale (contract section 12).
 *
 * One SQLite file of customers with 60 touchpoints each, written straight
 * through the SQLite store (seeding 100,000 through the API would take
 * minutes and measures ingestion, which (f) does). Then:
 *
 *   - the decision stream: the service (STORE=sqlite, the default profile
 *     cache of 10,000, so most profiles come from the file) is sent one
 *     stream of 1,000,000 lines (two placements each, the customers in turn)
 *     by a client in this process that writes as fast as the service reads
 *     and counts the answer lines; decisions/s over the whole stream, and the
 *     server's RSS sampled all along against its RSS before the stream (after
 *     a warm-up stream);
 *   - `nextbest offers` in local mode, a child process, over a CSV of every
 *     stored customer: recipients/s from its start to its exit.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '../../src/profiles/sqlite-store.js';
import { serviceUrlFromLine, startChild, tempDirs, type ChildServer } from './children.js';
import { generateProfile } from './profiles.js';
import { bytes, duration, heading, rate, table } from './report.js';
import type { GeneratedRules } from './rules.js';

export interface SendsBenchSettings {
  root: string;
  serviceArgs: string[];
  /** The CLI as `node` runs it: dist/cli/main.js, or src/cli/main.ts through tsx. */
  cliArgs: string[];
  customers: number;
  touchpoints: number;
  streamLines: number;
  warmupLines: number;
  targets: { streamPerSec: number; rssGrowthBytes: number; offersPerSec: number };
  /** Write V8 CPU profiles of the service and the offers run into this folder. */
  cpuProfileDir: string | null;
  /** Another checkout (BENCH_BASELINE): its service streams too, on the same file, the two in turns with fresh processes, `rounds` times each. */
  baseline: { root: string; rounds: number } | null;
}

export interface StreamRun {
  lines: number;
  answers: number;
  problems: number;
  ms: number;
  perSec: number;
  rssBefore: number;
  rssMax: number;
  rssAfter: number;
  /** RSS as each tenth of the answers came back: flat once the heap has grown to its working size, climbing if something leaks. */
  rssByTenth: number[];
  /** The service's V8 heap spaces (size in bytes, from its /metrics) before and after the stream: what the RSS growth is made of. */
  heapBefore: Record<string, number>;
  heapAfter: Record<string, number>;
  /** CPU time of the service's main thread (the one that decides) a line, in µs; NaN where /proc is not there. */
  mainThreadUsPerLine: number;
}

/** One stream of the comparison with BENCH_BASELINE. */
export interface StreamTurn {
  build: 'service' | 'baseline';
  run: StreamRun;
}

export interface SendsBenchResults {
  seedMs?: number;
  databaseBytes?: number;
  stream?: StreamRun;
  /** With a baseline: every stream of the comparison, in the order run (the service's first is `stream`). */
  turns?: StreamTurn[];
  offers?: { recipients: number; ms: number; perSec: number; rows: number; summary: string };
}

const CUSTOMER_PREFIX = 'send-';

export async function sendsSection(
  settings: SendsBenchSettings,
  rules: GeneratedRules,
  now: number,
  progress: (message: string) => void,
  out: (line?: string) => void,
): Promise<SendsBenchResults> {
  const dir = await mkdtemp(join(os.tmpdir(), 'nextbest-bench-sends-'));
  tempDirs.add(dir);
  const results: SendsBenchResults = {};
  const rulesDir = join(dir, 'rules');
  const sqlitePath = join(dir, 'data', 'profiles.db');
  const [first, second] = rules.webPlacements as [string, string];
  let server: ChildServer | undefined;
  try {
    await mkdir(join(rulesDir, 'placements'), { recursive: true });
    for (const source of rules.sources) await writeFile(join(rulesDir, source.file), source.text);

    progress(`(g) seeding ${settings.customers.toLocaleString('en-US')} customers × ${settings.touchpoints} touchpoints into SQLite`);
    const seedStart = performance.now();
    await seed(sqlitePath, settings.customers, settings.touchpoints, now);
    results.seedMs = performance.now() - seedStart;
    results.databaseBytes = (await stat(sqlitePath)).size;

    const profileDir = settings.cpuProfileDir;
    const request = (n: number): string => `{"customerId":"${CUSTOMER_PREFIX}${n % settings.customers}","placements":["${first}","${second}"],"context":{"channel":"email"}}\n`;
    // Alone: one stream of this build. With a baseline: the two builds in turns (A B, then B A, …), each stream from a
    // fresh process, since one process of a build can run several percent faster or slower than another for its life.
    const rounds = settings.baseline?.rounds ?? 1;
    const order: Array<StreamTurn['build']> = [];
    for (let round = 0; round < rounds; round++) {
      if (!settings.baseline) order.push('service');
      else order.push(...(round % 2 === 0 ? (['service', 'baseline'] as const) : (['baseline', 'service'] as const)));
    }
    if (settings.baseline) results.turns = [];
    for (const build of order) {
      const root = build === 'service' ? settings.root : (settings.baseline as { root: string }).root;
      progress(`(g) starting the ${build === 'service' ? 'service' : `baseline (${root})`} on SQLite`);
      server = await startChild({
        name: `the ${build} on SQLite`,
        args: [...(profileDir && build === 'service' ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...(build === 'service' ? settings.serviceArgs : ['dist/main.js'])],
        cwd: root,
        env: { ...process.env, STORE: 'sqlite', SQLITE_PATH: sqlitePath, PORT: '0', HOST: '127.0.0.1', RULES_DIR: rulesDir, RULES_POLL_INTERVAL_MS: '0' },
        urlFromLine: serviceUrlFromLine,
      });
      progress(`(g) warm-up stream of ${settings.warmupLines.toLocaleString('en-US')} lines`);
      await streamLines(server, settings.warmupLines, request);
      progress(`(g) the decision stream (${build}): ${settings.streamLines.toLocaleString('en-US')} lines`);
      const run = await streamLines(server, settings.streamLines, request);
      if (build === 'service') results.stream ??= run;
      results.turns?.push({ build, run });
      await server.stop();
      server = undefined;
    }

    const csvPath = join(dir, 'recipients.csv');
    await writeRecipients(csvPath, settings.customers);
    progress(`(g) nextbest offers, local mode, ${settings.customers.toLocaleString('en-US')} recipients`);
    results.offers = await runOffers(settings, { csvPath, outPath: join(dir, 'offers.csv'), rulesDir, sqlitePath, placements: [first, second] });
  } catch (err) {
    throw new Error(`${(err as Error).message}${server ? `\n-- server stderr --\n${server.stderrTail()}` : ''}`);
  } finally {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
  printSends(settings, results, out, [first, second]);
  return results;
}

/** Customers written through the SQLite store, many writes in flight so they share commits. */
async function seed(path: string, customers: number, touchpoints: number, now: number): Promise<void> {
  const store = createSqliteStore({ path, retentionDays: 365, maxTouchpointsPerProfile: 1000, synchronous: 'NORMAL' });
  try {
    const inFlight = 500;
    for (let start = 0; start < customers; start += inFlight) {
      const writes: Array<Promise<unknown>> = [];
      for (let i = start; i < Math.min(customers, start + inFlight); i++) {
        const profile = generateProfile(i, { now, touchpoints, idPrefix: CUSTOMER_PREFIX });
        writes.push(store.patch(profile.customerId, { attributes: profile.attributes, stage: profile.stage }, now));
        writes.push(store.appendTouchpoints(profile.customerId, profile.touchpoints, now));
      }
      await Promise.all(writes);
    }
  } finally {
    await store.close();
  }
}

/** Sends `count` lines in one stream, as fast as the service reads them, and counts the answers; samples the server's RSS meanwhile. */
export async function streamLines(server: ChildServer, count: number, request: (n: number) => string): Promise<StreamRun> {
  const pid = server.process.pid as number;
  const heapBefore = await heapSpacesOf(server.url);
  const mainThreadBefore = mainThreadCpuMs(pid);
  const rssBefore = await rssOf(pid);
  const rssByTenth: number[] = [];
  let nextTenth = Math.ceil(count / 10);
  let rssMax = rssBefore;
  const sampler = setInterval(() => {
    void rssOf(pid).then((rss) => {
      rssMax = Math.max(rssMax, rss);
    });
  }, 200);
  const started = performance.now();
  try {
    const { answers, problems } = await new Promise<{ answers: number; problems: number }>((resolve, reject) => {
      const req = http.request(`${server.url}/v1/decisions/stream`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' } });
      req.on('error', reject);
      req.on('response', (res) => {
        if (res.statusCode !== 200) reject(new Error(`the stream answered ${res.statusCode}`));
        const counter = answerLineCounter(() => {
          if (counter.answers >= nextTenth) {
            nextTenth += Math.ceil(count / 10);
            void rssOf(pid).then((rss) => rssByTenth.push(rss));
          }
        });
        res.on('data', (chunk: Buffer) => counter.push(chunk));
        res.on('end', () => resolve({ answers: counter.answers, problems: counter.problems }));
        res.on('error', reject);
      });
      let sent = 0;
      const write = (): void => {
        while (sent < count) {
          let text = '';
          for (let i = 0; i < 500 && sent < count; i++) text += request(sent++);
          if (!req.write(text)) {
            req.once('drain', write);
            return;
          }
        }
        req.end();
      };
      write();
    });
    const ms = performance.now() - started;
    const mainThreadUsPerLine = ((mainThreadCpuMs(pid) - mainThreadBefore) * 1000) / count;
    const rssAfter = await rssOf(pid);
    const heapAfter = await heapSpacesOf(server.url);
    return { lines: count, answers, problems, ms, perSec: (answers * 1000) / ms, rssBefore, rssMax, rssAfter, rssByTenth, heapBefore, heapAfter, mainThreadUsPerLine };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * Counts a stream's answer lines and, among them, problems, a chunk at a time
 * (a line may span chunks). A problem line starts with {"type": a decision
 * with {"decisionId": so a line's third byte tells. The client shares the
 * machine with the service, so it finds line ends with indexOf (native)
 * rather than looking at every byte in JavaScript, which took about half of
 * its CPU (docs/performance.md, 2026-12-06, session 11).
 */
export function answerLineCounter(onLine: () => void = () => undefined): { push(chunk: Uint8Array): void; answers: number; problems: number } {
  // Where the next line's third byte is, from the current chunk's start (it may be in a later chunk; negative: none).
  let third = 2;
  const counter = {
    answers: 0,
    problems: 0,
    push(chunk: Uint8Array): void {
      if (third < chunk.length) {
        if (chunk[third] === 0x74) counter.problems++;
        third = -1;
      }
      for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, end + 1)) {
        third = end + 3;
        if (third < chunk.length && chunk[third] === 0x74) counter.problems++;
        counter.answers++;
        onLine();
      }
      third -= chunk.length;
    },
  };
  return counter;
}

/** nodejs_heap_space_size_total_bytes by space, from the service's /metrics (prom-client's process metrics). */
async function heapSpacesOf(url: string): Promise<Record<string, number>> {
  const text = await fetch(`${url}/metrics`).then((res) => res.text()).catch(() => '');
  const spaces: Record<string, number> = {};
  for (const [, space, value] of text.matchAll(/^nodejs_heap_space_size_total_bytes\{space="([a-z_]+)"\} (\d+)/gm)) spaces[space as string] = Number(value);
  return spaces;
}

/** CPU time (user + system) of a process's main thread so far, in ms, from /proc; NaN where it is not there. */
function mainThreadCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : NaN;
}

async function writeRecipients(path: string, customers: number): Promise<void> {
  const file = createWriteStream(path);
  const segments = ['newsletter', 'winback', 'vip'];
  let text = 'customerId,segment\n';
  for (let i = 0; i < customers; i++) {
    text += `${CUSTOMER_PREFIX}${i},${segments[i % segments.length]}\n`;
    if (text.length > 1 << 16) {
      if (!file.write(text)) await new Promise<void>((resolve) => file.once('drain', () => resolve()));
      text = '';
    }
  }
  file.end(text);
  await new Promise<void>((resolve) => file.once('close', () => resolve()));
}

async function runOffers(
  settings: SendsBenchSettings,
  paths: { csvPath: string; outPath: string; rulesDir: string; sqlitePath: string; placements: string[] },
): Promise<NonNullable<SendsBenchResults['offers']>> {
  const profileDir = settings.cpuProfileDir;
  const args = [
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    ...settings.cliArgs,
    'offers',
    ...paths.placements.flatMap((p) => ['--placement', p]),
    '--in',
    paths.csvPath,
    '--out',
    paths.outPath,
  ];
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: settings.root,
    env: { ...process.env, STORE: 'sqlite', SQLITE_PATH: paths.sqlitePath, RULES_DIR: paths.rulesDir, NEXTBEST_PROGRESS: 'summary' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`nextbest offers exited with ${code}:\n${stderr.slice(-2000)}`);
  const output = await readFile(paths.outPath, 'utf8');
  const rows = output.split('\n').length - 2;
  return { recipients: settings.customers, ms, perSec: (settings.customers * 1000) / ms, rows, summary: stderr.trim().split('\n').at(-1) ?? '' };
}

function printSends(settings: SendsBenchSettings, results: SendsBenchResults, out: (line?: string) => void, placements: string[]): void {
  out(heading('(g) Sends at scale: the decision stream and nextbest offers'));
  out(
    `${settings.customers.toLocaleString('en-US')} customers × ${settings.touchpoints} touchpoints in one SQLite file (${bytes(results.databaseBytes ?? NaN)}, ` +
      `seeded through the store in ${duration(results.seedMs ?? NaN)}). Stream: one POST /v1/decisions/stream of ${settings.streamLines.toLocaleString('en-US')} lines ` +
      `(${placements.join(' + ')}, channel email, the customers in turn) to the service (STORE=sqlite, profile cache 10,000: most profiles are read from the file), ` +
      `after a warm-up stream of ${settings.warmupLines.toLocaleString('en-US')}; the client (this process) writes as fast as the service reads and counts answer lines. ` +
      `RSS is the service's, sampled every 200 ms, against its RSS just before the stream. Offers: \`nextbest offers\` in local mode (a child process: its own ` +
      'rules, store and app) over a CSV of every stored customer, timed from spawn to exit.',
  );
  out();
  const rows: Array<Array<string | number>> = [];
  const s = results.stream;
  if (s) {
    rows.push(['stream decisions/s', rate(s.perSec), `≥ ${rate(settings.targets.streamPerSec)}`, s.perSec >= settings.targets.streamPerSec ? 'yes' : 'no']);
    const growth = s.rssMax - s.rssBefore;
    rows.push([`service RSS growth over ${s.lines.toLocaleString('en-US')} lines (max − before)`, bytes(growth), `< ${bytes(settings.targets.rssGrowthBytes)}`, growth < settings.targets.rssGrowthBytes ? 'yes' : 'no']);
    rows.push(['service RSS before / max / after', `${bytes(s.rssBefore)} / ${bytes(s.rssMax)} / ${bytes(s.rssAfter)}`, '', '']);
    rows.push(['service RSS at each tenth of the answers', s.rssByTenth.map((rss) => bytes(rss)).join(', '), '', '']);
    const spaces = Object.keys(s.heapAfter).filter((space) => Math.abs((s.heapAfter[space] ?? 0) - (s.heapBefore[space] ?? 0)) >= 1024 * 1024);
    rows.push([
      'V8 heap spaces that grew or shrank by 1 MiB or more (before → after)',
      spaces.map((space) => `${space} ${bytes(s.heapBefore[space] ?? 0)} → ${bytes(s.heapAfter[space] ?? 0)}`).join(', ') || 'none',
      '',
      '',
    ]);
    rows.push(['stream answers / problem lines / time', `${s.answers.toLocaleString('en-US')} / ${s.problems} / ${duration(s.ms)}`, '', '']);
    rows.push(["the service's main thread: CPU a line", `${s.mainThreadUsPerLine.toFixed(1)} µs`, '', '']);
  }
  const o = results.offers;
  if (o) {
    rows.push(['offers (local) recipients/s', rate(o.perSec), `≥ ${rate(settings.targets.offersPerSec)}`, o.perSec >= settings.targets.offersPerSec ? 'yes' : 'no']);
    rows.push(['offers rows written / time', `${o.rows.toLocaleString('en-US')} / ${duration(o.ms)}`, '', '']);
  }
  out(table(['Figure', 'measured', 'target', 'meets'], rows));
  if (results.turns) {
    out(`\nThe stream against BENCH_BASELINE, in turns, each from a fresh process (the service's first run is the one above):\n`);
    out(
      table(
        ['turn', 'build', 'decisions/s', 'main thread CPU a line', 'RSS growth (max)'],
        results.turns.map(({ build, run }, i) => [i + 1, build, rate(run.perSec), `${run.mainThreadUsPerLine.toFixed(1)} µs`, `${bytes(run.rssMax - run.rssBefore)} (${bytes(run.rssMax)})`]),
      ),
    );
    const sum = (build: StreamTurn['build']) => results.turns?.filter((t) => t.build === build).reduce((acc, t) => ({ lines: acc.lines + t.run.answers, ms: acc.ms + t.run.ms }), { lines: 0, ms: 0 });
    const service = sum('service');
    const baseline = sum('baseline');
    if (service && baseline && baseline.lines > 0) {
      const change = (service.lines / service.ms / (baseline.lines / baseline.ms) - 1) * 100;
      out(`\nSummed over the turns: service ${rate((service.lines * 1000) / service.ms)}/s, baseline ${rate((baseline.lines * 1000) / baseline.ms)}/s: ${change >= 0 ? '+' : ''}${change.toFixed(1)}%`);
    }
  }
  if (o) out(`\nThe offers command's own summary: ${o.summary}`);
  if (settings.cpuProfileDir) out(`CPU profiles of the service and of offers: ${settings.cpuProfileDir}`);
}
