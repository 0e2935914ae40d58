/**
 * `npm run bench`: how fast nextbest decides, in one run on this machine.
 *
 *   (a) in-process decide() on generated rules (50-rule and 500-rule
 *       placements, and the realistic two-placement request), compiled
 *       evaluator against json-rules-engine on the same rules and profiles;
 *   (b) HTTP GET decisions with autocannon against the real service (a child
 *       process) and against a bare Hono route serving a decision-sized body,
 *       then that route again spinning as long as the service's handler took
 *       (read from its /metrics): what handler time alone costs here;
 *   (c) a 1000-request batch, over HTTP and in-process;
 *   (d) the profile cache's memory, through load/memory.ts;
 *   (e) the service on Redis (load/bench/redis.ts);
 *   (f) ingestion on SQLite, durable: single-touchpoint POSTs from 50
 *       connections (load/bench/ingest.ts);
 *   (g) sends at scale: a 1,000,000-line decision stream against the service
 *       on SQLite, with its RSS, and `nextbest offers` in local mode over
 *       100,000 stored customers (load/bench/sends.ts);
 *   (h) optimized ranking: a simulation that shows it learns (counts, not
 *       timings), its cost per decision, and a 400-day report
 *       (load/bench/optimize.ts).
 *
 * A benchmark, not a test: it prints figures beside the targets and never
 * fails on them. Environment:
 *   BENCH_DURATION   seconds per HTTP run (default 10)
 *   BENCH_ROUNDS     where two services are compared (the baseline in (b),
 *                    caps in outcomes), runs each, taken in turns A B A B and
 *                    summed (default 2; 1 with BENCH_QUICK); in (b) each
 *                    round starts and seeds fresh service processes
 *   BENCH_QUICK=1    short everything (a smoke test, well under a minute)
 *   BENCH_EVALUATOR  compiled | json-rules-engine: run only that side
 *   BENCH_ONLY       comma-separated sections to run: decide (a), http (b, and
 *                    the batch over HTTP), batch (c, in-process), memory (d),
 *                    redis (e: the service on the Redis store), ingest (f:
 *                    touchpoint POSTs on SQLite), decision-id (signing and
 *                    verifying decision ids in process), outcomes (outcome
 *                    batches over HTTP on SQLite, and the GET decision with
 *                    caps on the served items against the same without),
 *                    sends (g: the decision stream and nextbest offers),
 *                    journey (h: the journey map over 100,000 customers in
 *                    SQLite), optimize (i: optimized ranking's simulation,
 *                    its cost and the report query); default all
 *   BENCH_CPU_PROF=dir  (g) also writes V8 CPU profiles of the service and of
 *                    the offers run there, and outcomes of its two services
 *   BENCH_REDIS_URL  the Redis for (e), default redis://127.0.0.1:6379; its
 *                    keys go under a prefix of their own and are deleted
 *   BENCH_SERVICE    dist (default: builds dist/ with `npm run build`'s tsc
 *                    and runs `node dist/main.js`, as `npm start` does) or tsx
 *                    (runs src/main.ts through tsx, no build)
 *   BENCH_JSON=path  also write the results as JSON there
 *   BENCH_BASELINE=dir  another checkout of nextbest with a built dist/ (e.g.
 *                    a git worktree of an earlier commit): section (b) also
 *                    measures its GET decision, seeded the same way, in the
 *                    same run, between the service and the bare route, so a
 *                    change on the decision path is compared on equal terms;
 *                    section (g) streams to both in turns (BENCH_ROUNDS
 *                    each, fresh processes) on the same seeded file
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toDecisionProfile, type DecisionProfile } from '../src/domain/decision-profile.js';
import type { Decision, DecisionRequest } from '../src/domain/decision.js';
import type { Profile } from '../src/domain/profile.js';
import { decide } from '../src/decide/decide.js';
import { createFacts } from '../src/conditions/decision-facts.js';
import { resolveStage } from '../src/decide/stage.js';
import { buildRuleset } from '../src/ruleset/build.js';
import { createCompiledMatcher } from '../src/conditions/compiled-matcher.js';
import { createJreMatcher } from '../src/conditions/jre-matcher.js';
import type { MatcherFactory } from '../src/conditions/matcher.js';
import type { Placement, RulesetSnapshot } from '../src/ruleset/snapshot.js';
import { runLoadScript, startChild, tempDirs, type ChildServer } from './bench/children.js';
import { combineRuns, getJson, loadTest, meanTimings, seedCustomers, serverTimings, timeBatches, warmProfileCache, type BatchRun, type LoadRun } from './bench/http.js';
import { runMemoryMeasurement, type MemoryOutcome } from './bench/cache-memory.js';
import { generateProfiles } from './bench/profiles.js';
import { ingestSection } from './bench/ingest.js';
import { optimizeSection } from './bench/optimize.js';
import { decisionIdSection } from './bench/decision-id.js';
import { outcomesSection } from './bench/outcomes.js';
import { journeySection } from './bench/journey.js';
import { redisSection } from './bench/redis.js';
import { sendsSection } from './bench/sends.js';
import { bytes, duration, heading, percent, rate, ratio, table, type Cell } from './bench/report.js';
import { generateRules, type GeneratedRules } from './bench/rules.js';
import { collectGarbage, Samples, timeBoxed, timeBoxedWith, type Summary } from './bench/timing.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

type EvaluatorName = 'compiled' | 'json-rules-engine';
type Section = 'decide' | 'http' | 'batch' | 'memory' | 'redis' | 'ingest' | 'decision-id' | 'outcomes' | 'sends' | 'journey' | 'optimize';
const SECTIONS: readonly Section[] = ['decide', 'http', 'batch', 'memory', 'redis', 'ingest', 'decision-id', 'outcomes', 'sends', 'journey', 'optimize'];
const EVALUATORS: Record<EvaluatorName, MatcherFactory> = {
  compiled: createCompiledMatcher,
  'json-rules-engine': createJreMatcher,
};

/** The key of the baseline service among the services of (b). */
const BASELINE = 'baseline' as const;

const TARGETS = {
  speedup500: 100,
  httpShareOfBare: 0.6,
  httpP99Ms: 10,
  batchMs: 100,
  cacheRssBytes: 1024 ** 3,
  ingestPerSec: 5000,
  streamPerSec: 25_000,
  streamRssGrowthBytes: 50 * 1024 * 1024,
  offersPerSec: 20_000,
};

interface Settings {
  quick: boolean;
  evaluators: EvaluatorName[];
  sections: ReadonlySet<Section>;
  service: 'dist' | 'tsx';
  httpSeconds: number;
  httpWarmupSeconds: number;
  connections: number;
  scenarioMs: number;
  breakdownMs: number;
  warmupMs: number;
  poolSize: number;
  customers: number;
  touchpoints: number;
  batchSize: number;
  batchRepetitions: number;
  batchWarmups: number;
  equivalenceProfiles: number;
  memoryProfiles: number;
  jsonPath: string | undefined;
  /** A checkout with dist/ built, measured beside the service in (b); null: none. */
  baseline: string | null;
  /** Runs per service where two are compared (the baseline in (b), caps in outcomes), taken in turns. */
  rounds: number;
}

function readSettings(env: NodeJS.ProcessEnv): Settings {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const only = env.BENCH_EVALUATOR?.trim();
  let evaluators: EvaluatorName[] = ['compiled', 'json-rules-engine'];
  if (only) {
    const name = only === 'jre' ? 'json-rules-engine' : only;
    if (name !== 'compiled' && name !== 'json-rules-engine') {
      throw new Error(`BENCH_EVALUATOR must be compiled or json-rules-engine (got ${JSON.stringify(only)})`);
    }
    evaluators = [name];
  }
  let sections: ReadonlySet<Section> = new Set(SECTIONS);
  if (env.BENCH_ONLY?.trim()) {
    const asked = env.BENCH_ONLY.split(',').map((name) => name.trim());
    const unknown = asked.filter((name) => !SECTIONS.includes(name as Section));
    if (unknown.length > 0) throw new Error(`BENCH_ONLY takes ${SECTIONS.join(', ')} (got ${JSON.stringify(env.BENCH_ONLY)})`);
    sections = new Set(asked as Section[]);
  }
  const baseline = env.BENCH_BASELINE?.trim() || null;
  if (baseline !== null && !existsSync(join(baseline, 'dist', 'main.js'))) {
    throw new Error(`BENCH_BASELINE must be a checkout of nextbest with dist/ built (no ${join(baseline, 'dist', 'main.js')}; run npm run build there)`);
  }
  const service = env.BENCH_SERVICE?.trim() || 'dist';
  if (service !== 'dist' && service !== 'tsx') throw new Error(`BENCH_SERVICE must be dist or tsx (got ${JSON.stringify(env.BENCH_SERVICE)})`);
  const seconds = env.BENCH_DURATION ? Number(env.BENCH_DURATION) : quick ? 2 : 10;
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`BENCH_DURATION must be a positive number of seconds (got ${JSON.stringify(env.BENCH_DURATION)})`);
  const rounds = env.BENCH_ROUNDS ? Number(env.BENCH_ROUNDS) : quick ? 1 : 2;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`BENCH_ROUNDS must be a whole number of at least 1 (got ${JSON.stringify(env.BENCH_ROUNDS)})`);
  return {
    rounds,
    quick,
    evaluators,
    sections,
    service,
    baseline,
    httpSeconds: seconds,
    httpWarmupSeconds: quick ? 0.5 : 2,
    connections: 50,
    scenarioMs: quick ? 250 : 2000,
    breakdownMs: quick ? 150 : 1000,
    warmupMs: quick ? 100 : 500,
    poolSize: 1000,
    customers: quick ? 300 : 10_000,
    touchpoints: 60,
    batchSize: 1000,
    batchRepetitions: quick ? 2 : 10,
    batchWarmups: quick ? 0 : 2,
    equivalenceProfiles: quick ? 50 : 300,
    memoryProfiles: quick ? 5_000 : 100_000,
    jsonPath: env.BENCH_JSON || undefined,
  };
}

const out = (text = ''): void => {
  process.stdout.write(`${text}\n`);
};
/** Progress goes to stderr, so stdout is the report alone. */
const started = performance.now();
const progress = (text: string): void => {
  process.stderr.write(`[bench +${((performance.now() - started) / 1000).toFixed(1)}s] ${text}\n`);
};

async function main(): Promise<void> {
  const settings = readSettings(process.env);
  const now = Date.now();
  const results: Record<string, unknown> = { settings: { ...settings, sections: [...settings.sections], jsonPath: undefined } };

  const rules = generateRules({ now });
  const snapshots = new Map<EvaluatorName, RulesetSnapshot>();
  const all: EvaluatorName[] = ['compiled', 'json-rules-engine'];
  for (const name of all) snapshots.set(name, buildSnapshot(rules, EVALUATORS[name], now));
  const reference = snapshots.get('compiled') as RulesetSnapshot;

  const otherLoad = await otherCpuShare(1000);
  results.machine = { ...printHeader(settings, rules, reference), otherLoadAtStart: otherLoad, loadAverageAtStart: os.loadavg() };
  out(
    `Load before the run: ${percent(otherLoad)} of the machine's CPU busy with other processes (1 s sample), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ` +
      'other work on the box shows up in every figure below.',
  );

  progress('generating the profile pool');
  const pool = generateProfiles(settings.poolSize, { now, touchpoints: settings.touchpoints });
  const compact = pool.map(toDecisionProfile);

  const run = settings.sections;
  if (run.has('optimize')) results.optimize = await optimizeSection({ budgetMs: settings.scenarioMs, warmupMs: settings.warmupMs }, progress, out);
  if (run.has('decide')) results.inProcess = await inProcessSection(settings, rules, snapshots, compact, pool, now);
  const http: HttpResults = run.has('http') ? await httpSection(settings, rules, now) : { service: {} };
  if (run.has('http')) results.http = http;
  const batchInProcess = run.has('batch') ? await inProcessBatch(settings, rules, snapshots, compact, now) : {};
  if (run.has('batch')) results.batchInProcess = batchInProcess;
  if (run.has('http') || run.has('batch')) printBatch(settings, rules, http, batchInProcess);
  if (run.has('memory')) results.memory = await memorySection(settings);
  // The http section builds dist/ itself; the later service sections build it once if it has not run.
  let built = run.has('http');
  const ensureDist = async (section: string): Promise<void> => {
    if (settings.service !== 'dist' || built) return;
    progress(`(${section}) building dist/ (npm run build)`);
    await buildDist();
    built = true;
  };
  if (run.has('redis')) {
    await ensureDist('e');
    results.redis = await redisSection(
      {
        root: ROOT,
        serviceArgs: serviceArgs(settings),
        redisUrl: process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379',
        customers: settings.quick ? 300 : 5000,
        touchpoints: settings.touchpoints,
        connections: settings.connections,
        seconds: settings.httpSeconds,
        warmupSeconds: settings.httpWarmupSeconds,
      },
      rules,
      now,
      progress,
      out,
    );
  }
  if (run.has('ingest')) {
    await ensureDist('f');
    results.ingest = await ingestSection(
      {
        root: ROOT,
        serviceArgs: serviceArgs(settings),
        customers: settings.quick ? 200 : 2000,
        touchpoints: settings.touchpoints,
        connections: settings.connections,
        seconds: settings.httpSeconds,
        warmupSeconds: settings.httpWarmupSeconds,
        target: TARGETS.ingestPerSec,
      },
      rules,
      now,
      progress,
      out,
    );
  }
  if (run.has('outcomes')) {
    await ensureDist('outcomes');
    results.outcomes = await outcomesSection(
      {
        root: ROOT,
        serviceArgs: serviceArgs(settings),
        customers: settings.quick ? 200 : 2000,
        touchpoints: settings.touchpoints,
        connections: settings.connections,
        seconds: settings.httpSeconds,
        warmupSeconds: settings.httpWarmupSeconds,
        rounds: settings.rounds,
        cpuProfileDir: process.env.BENCH_CPU_PROF?.trim() || null,
      },
      rules,
      now,
      progress,
      out,
    );
  }
  if (run.has('sends')) {
    await ensureDist('g');
    results.sends = await sendsSection(
      {
        root: ROOT,
        serviceArgs: serviceArgs(settings),
        cliArgs: settings.service === 'dist' ? ['dist/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'],
        customers: settings.quick ? 5000 : 100_000,
        touchpoints: settings.touchpoints,
        streamLines: settings.quick ? 50_000 : 1_000_000,
        warmupLines: settings.quick ? 5000 : 20_000,
        targets: { streamPerSec: TARGETS.streamPerSec, rssGrowthBytes: TARGETS.streamRssGrowthBytes, offersPerSec: TARGETS.offersPerSec },
        cpuProfileDir: process.env.BENCH_CPU_PROF?.trim() || null,
        baseline: settings.baseline ? { root: settings.baseline, rounds: settings.rounds } : null,
      },
      rules,
      now,
      progress,
      out,
    );
  }
  if (run.has('decision-id')) results.decisionId = await decisionIdSection(out, settings.quick ? 20_000 : 200_000);
  if (run.has('journey')) {
    results.journey = await journeySection({ customers: settings.quick ? 5000 : 100_000, touchpoints: 20, now }, reference, progress, out);
  }
  out();
  out(`Load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (the benchmark itself keeps ~2 busy while it runs).`);

  if (settings.jsonPath) {
    await mkdir(dirname(settings.jsonPath), { recursive: true });
    await writeFile(settings.jsonPath, `${JSON.stringify(results, null, 2)}\n`);
    progress(`results written to ${settings.jsonPath}`);
  }
}

/** The share of all cores busy over a sample, from /proc/stat (this process is idle meanwhile); NaN where /proc is missing. */
async function otherCpuShare(sampleMs: number): Promise<number> {
  const read = async (): Promise<[number, number] | undefined> => {
    try {
      const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
      const ticks = line.trim().split(/\s+/).slice(1).map(Number);
      const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
      return [ticks.reduce((a, b) => a + b, 0), idle];
    } catch {
      return undefined;
    }
  };
  const before = await read();
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  const after = await read();
  if (!before || !after || after[0] === before[0]) return NaN;
  return 1 - (after[1] - before[1]) / (after[0] - before[0]);
}

function buildSnapshot(rules: GeneratedRules, createMatcher: MatcherFactory, now: number): RulesetSnapshot {
  const built = buildRuleset(rules.sources, { now, createMatcher });
  if (!built.snapshot) {
    const shown = built.errors.slice(0, 10).map((e) => `  ${e.file} ${e.path}: ${e.message}`);
    throw new Error(`the generated rules are invalid (${built.errors.length} errors):\n${shown.join('\n')}`);
  }
  return built.snapshot;
}

function printHeader(settings: Settings, rules: GeneratedRules, snapshot: RulesetSnapshot): Record<string, unknown> {
  const cpus = os.cpus();
  const machine = {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memory: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
  const standard = [...snapshot.placements.values()].filter((p) => p.name !== rules.largePlacement);
  const ruleCount = [...snapshot.placements.values()].reduce((sum, p) => sum + p.rules.length, 0);
  out('# nextbest benchmark');
  out();
  out(`Machine: ${machine.cpus} cores (${machine.cpuModel}), ${bytes(machine.memory)} RAM, Node ${machine.node}, ${machine.platform}`);
  out(
    `Rules: ${standard.length} placements × ${standard[0]?.rules.length ?? 0} rules + 1 × ${snapshot.placements.get(rules.largePlacement)?.rules.length ?? 0} ` +
      `(${ruleCount} rules), ${snapshot.catalog.size} catalog items, ${snapshot.segments.size} segments, ${snapshot.stageRules.length} stage rules; ` +
      `${snapshot.warnings.length} load warnings`,
  );
  out(
    `Profiles: ${settings.touchpoints} touchpoints each (12 types, 5 channels, over a year), a few attributes; ` +
      `in-process pool ${settings.poolSize}, HTTP ${settings.customers.toLocaleString('en-US')} customers`,
  );
  out(`Evaluators: ${settings.evaluators.join(', ')}${settings.quick ? '  (BENCH_QUICK: short runs, figures are rough)' : ''}`);
  if (settings.sections.size < SECTIONS.length) out(`Sections: ${[...settings.sections].join(', ')} only (BENCH_ONLY)`);
  return machine;
}

// ---------------------------------------------------------------- (a) in-process

interface Scenario {
  key: string;
  label: string;
  placements: string[];
  context: Record<string, string>;
}

async function inProcessSection(
  settings: Settings,
  rules: GeneratedRules,
  snapshots: Map<EvaluatorName, RulesetSnapshot>,
  profiles: readonly DecisionProfile[],
  pool: readonly Profile[],
  now: number,
): Promise<Record<string, unknown>> {
  const [first, second] = rules.webPlacements as [string, string];
  const web = { channel: 'web' };
  const scenarios: Scenario[] = [
    { key: 'placement50', label: `1 placement × 50 rules (${first})`, placements: [first], context: web },
    { key: 'placement500', label: `1 placement × 500 rules (${rules.largePlacement})`, placements: [rules.largePlacement], context: web },
    { key: 'request2x50', label: `2 placements × 50 rules (${first} + ${second})`, placements: [first, second], context: web },
  ];

  out(heading('(a) In-process decide()'));
  out(
    `One decide() call per iteration (facts, stage inference, matching, arbitration), profiles taken in turn from a pool of ${profiles.length}, ` +
      `context {"channel":"web"}; ${duration(settings.warmupMs)} warm-up, then ${duration(settings.scenarioMs)} per row, timed with performance.now().`,
  );
  let equivalence: { line: string; data: Record<string, number> } | undefined;
  if (settings.evaluators.length === 2) {
    progress('(a) checking that both evaluators decide alike');
    equivalence = await checkEquivalence(snapshots, profiles.slice(0, settings.equivalenceProfiles), now);
    out(equivalence.line);
  }
  const statistics = await matchStatistics(snapshots.get('compiled') as RulesetSnapshot, rules, profiles, now);
  out(statistics.line);
  out();

  const summaries: Record<string, Partial<Record<EvaluatorName, Summary>>> = {};
  const rows: Cell[][] = [];
  for (const scenario of scenarios) {
    summaries[scenario.key] = {};
    const requests = pool.map((p): DecisionRequest => ({ customerId: p.customerId, placements: scenario.placements, context: scenario.context, explain: false }));
    for (const evaluator of settings.evaluators) {
      progress(`(a) ${scenario.label}, ${evaluator}`);
      const snapshot = snapshots.get(evaluator) as RulesetSnapshot;
      const options = { now, decisionId: 'bench' };
      const summary = await timeBoxed(
        (i) => decide(snapshot, profiles[i % profiles.length] as DecisionProfile, requests[i % requests.length] as DecisionRequest, options),
        { budgetMs: settings.scenarioMs, warmupMs: settings.warmupMs },
      );
      (summaries[scenario.key] as Record<string, Summary>)[evaluator] = summary;
      rows.push([scenario.label, evaluator, duration(summary.p50), duration(summary.p99), duration(summary.mean), rate(summary.opsPerSec), summary.iterations.toLocaleString('en-US')]);
    }
  }
  out(table(['Scenario', 'Evaluator', 'p50', 'p99', 'mean', 'ops/s', 'iterations'], rows, 2));

  if (settings.evaluators.length === 2) {
    out();
    const speedRows = scenarios.map((scenario) => {
      const s = summaries[scenario.key] as Record<EvaluatorName, Summary>;
      const target = scenario.key === 'placement500' ? `≥ ${TARGETS.speedup500}×` : '';
      const speedup = s['json-rules-engine'].mean / s.compiled.mean;
      return [
        scenario.label,
        duration(s['json-rules-engine'].mean),
        duration(s.compiled.mean),
        ratio(speedup),
        ratio(s['json-rules-engine'].p50 / s.compiled.p50),
        target,
        target ? (speedup >= TARGETS.speedup500 ? 'yes' : 'no') : '',
      ];
    });
    out(table(['Scenario', 'json-rules-engine mean', 'compiled mean', 'speedup (mean)', 'speedup (p50)', 'target', 'meets'], speedRows));
  }

  const breakdown = await whereTimeGoes(settings, rules, snapshots, profiles, pool, now, summaries);
  return { equivalence: equivalence?.data, statistics: statistics.data, scenarios: summaries, breakdown };
}

/** Both evaluators must give the same decisions, or the comparison means nothing. */
async function checkEquivalence(
  snapshots: Map<EvaluatorName, RulesetSnapshot>,
  profiles: readonly DecisionProfile[],
  now: number,
): Promise<{ line: string; data: Record<string, number> }> {
  const compiled = snapshots.get('compiled') as RulesetSnapshot;
  const jre = snapshots.get('json-rules-engine') as RulesetSnapshot;
  const placements = [...compiled.placements.keys()];
  let differ = 0;
  for (const profile of profiles) {
    const request: DecisionRequest = { customerId: profile.customerId, placements, context: { channel: 'web' }, explain: false };
    const options = { now, decisionId: 'bench' };
    const a = JSON.stringify(await decide(compiled, profile, request, options));
    const b = JSON.stringify(await decide(jre, profile, request, options));
    if (a !== b) differ++;
  }
  const line =
    differ === 0
      ? `Both evaluators give identical decisions for ${profiles.length} pool profiles × ${placements.length} placements.`
      : `WARNING: the evaluators disagree for ${differ} of ${profiles.length} profiles (× ${placements.length} placements); the comparison is suspect.`;
  return { line, data: { profiles: profiles.length, placements: placements.length, differ } };
}

/** How much of each placement matches: arbitration work, and what a lazy evaluator can skip, depend on it. */
async function matchStatistics(
  snapshot: RulesetSnapshot,
  rules: GeneratedRules,
  profiles: readonly DecisionProfile[],
  now: number,
): Promise<{ line: string; data: Record<string, number> }> {
  let matched50 = 0;
  let placements50 = 0;
  let matched500 = 0;
  let fallbacks = 0;
  let decisions = 0;
  const large = snapshot.placements.get(rules.largePlacement);
  const standard = [...snapshot.placements.values()].filter((p) => p !== large);
  for (const profile of profiles) {
    const facts = createFacts({ customerId: profile.customerId, profile, context: { channel: 'web' }, now });
    await resolveStage(snapshot, profile, facts);
    for (const placement of standard) {
      matched50 += (await placement.matcher.match(facts)).size;
      placements50++;
    }
    if (large) matched500 += (await large.matcher.match(facts)).size;
    const decision = await decide(snapshot, profile, { customerId: profile.customerId, placements: [...snapshot.placements.keys()], context: { channel: 'web' }, explain: false }, { now, decisionId: 'bench' });
    for (const placement of Object.values(decision.placements)) {
      decisions++;
      if (placement.fallback) fallbacks++;
    }
  }
  const avg50 = matched50 / placements50;
  const avg500 = matched500 / profiles.length;
  const size50 = standard[0]?.rules.length ?? 50;
  const size500 = large?.rules.length ?? 500;
  return {
    line:
      `Rules whose conditions hold, per decision: ${avg50.toFixed(1)} of ${size50} (${percent(avg50 / size50)}) on the 50-rule placements, ` +
      `${avg500.toFixed(1)} of ${size500} (${percent(avg500 / size500)}) on the 500-rule one; fallback served in ${percent(fallbacks / decisions)} of placement decisions.`,
    data: { matchedPer50: avg50, matchedPer500: avg500, fallbackShare: fallbacks / decisions },
  };
}

/** Parts of the realistic request timed on their own, to show where a decision's time goes. */
async function whereTimeGoes(
  settings: Settings,
  rules: GeneratedRules,
  snapshots: Map<EvaluatorName, RulesetSnapshot>,
  profiles: readonly DecisionProfile[],
  pool: readonly Profile[],
  now: number,
  scenarios: Record<string, Partial<Record<EvaluatorName, Summary>>>,
): Promise<Record<string, Partial<Record<EvaluatorName, Summary>>>> {
  const budget = { budgetMs: settings.breakdownMs, warmupMs: settings.warmupMs };
  const [first, second] = rules.webPlacements as [string, string];
  const context = { channel: 'web' };
  const profileAt = (i: number): DecisionProfile => profiles[i % profiles.length] as DecisionProfile;
  const steps: Record<string, Partial<Record<EvaluatorName, Summary>>> = {};
  const labels: Record<string, string> = {
    toDecisionProfile: 'toDecisionProfile(profile) (when a profile is loaded)',
    factsAndStage: 'createFacts + stage inference (5 stage rules)',
    match50: `match(): every rule of ${first} (50)`,
    decide50: `decide(): ${first} (50 rules)`,
    match500: `match(): every rule of ${rules.largePlacement} (500)`,
    decide500: `decide(): ${rules.largePlacement} (500 rules)`,
    decide2x50: 'decide(): 2 placements × 50 rules',
    stringify: 'JSON.stringify(decision), 2 placements',
  };

  progress('(a) where the time goes: evaluator-independent steps');
  const shared = {
    toDecisionProfile: await timeBoxed((i) => toDecisionProfile(pool[i % pool.length] as Profile), budget),
    stringify: await (async () => {
      const snapshot = snapshots.get(settings.evaluators[0] as EvaluatorName) as RulesetSnapshot;
      const decisions: Decision[] = [];
      for (let i = 0; i < 100; i++) {
        const profile = profileAt(i);
        decisions.push(await decide(snapshot, profile, { customerId: profile.customerId, placements: [first, second], context, explain: false }, { now, decisionId: crypto.randomUUID() }));
      }
      return timeBoxed((i) => JSON.stringify(decisions[i % decisions.length]), budget);
    })(),
  };

  for (const evaluator of settings.evaluators) {
    progress(`(a) where the time goes: ${evaluator}`);
    const snapshot = snapshots.get(evaluator) as RulesetSnapshot;
    const freshFacts = async (i: number) => {
      const profile = profileAt(i);
      const facts = createFacts({ customerId: profile.customerId, profile, context, now });
      await resolveStage(snapshot, profile, facts);
      return facts;
    };
    const matcherOf = (name: string) => (snapshot.placements.get(name) as Placement).matcher;
    const measured: Record<string, Summary> = {
      factsAndStage: await timeBoxed(async (i) => {
        const profile = profileAt(i);
        await resolveStage(snapshot, profile, createFacts({ customerId: profile.customerId, profile, context, now }));
      }, budget),
      match50: await timeBoxedWith(freshFacts, (facts) => matcherOf(first).match(facts), budget),
      match500: await timeBoxedWith(freshFacts, (facts) => matcherOf(rules.largePlacement).match(facts), budget),
    };
    const fromScenarios: Record<string, Summary | undefined> = {
      decide50: scenarios.placement50?.[evaluator],
      decide500: scenarios.placement500?.[evaluator],
      decide2x50: scenarios.request2x50?.[evaluator],
    };
    for (const [key, summary] of [...Object.entries(shared), ...Object.entries(measured), ...Object.entries(fromScenarios)]) {
      if (summary) (steps[key] ??= {})[evaluator] = summary;
    }
  }

  out();
  out(`Where the time goes (mean per call; match() rows evaluate every rule on fresh facts, decide() stops at maxItems when the evaluator allows it):`);
  out();
  const order = ['toDecisionProfile', 'factsAndStage', 'match50', 'decide50', 'match500', 'decide500', 'decide2x50', 'stringify'];
  out(
    table(
      ['Step', ...settings.evaluators],
      order.map((key) => [labels[key] as string, ...settings.evaluators.map((e) => duration(steps[key]?.[e]?.mean ?? NaN))]),
    ),
  );
  return steps;
}

// ---------------------------------------------------------------- (b) HTTP

interface ServiceRun {
  load: LoadRun;
  /** Mean time in the app per GET (request log start to answer), from the service's /metrics. */
  handlerMs: number;
  /** Mean decide() time, from the same. */
  decideMs: number;
  batch: BatchRun;
  seedMs: number;
  startLine: Record<string, unknown>;
}

interface HttpResults {
  service: Partial<Record<EvaluatorName, ServiceRun>>;
  /** BENCH_BASELINE's build, compiled evaluator, measured the same way. */
  baseline?: LoadRun;
  /** The baseline's own handler and decide() times, from its /metrics. */
  baselineTimings?: { handlerMs: number; decideMs: number };
  bare?: LoadRun;
  /** The bare route again, spinning as long as the service's handler took per request. */
  bareSpin?: { spinUs: number; load: LoadRun };
  decisionBytes?: number;
}

async function httpSection(settings: Settings, rules: GeneratedRules, now: number): Promise<HttpResults> {
  const results: HttpResults = { service: {} };
  const dir = await mkdtemp(join(os.tmpdir(), 'nextbest-bench-'));
  tempDirs.add(dir);
  try {
    const rulesDir = join(dir, 'rules');
    await mkdir(join(rulesDir, 'placements'), { recursive: true });
    for (const source of rules.sources) await writeFile(join(rulesDir, source.file), source.text);

    progress(`(b) generating ${settings.customers} customers`);
    const customers = generateProfiles(settings.customers, { now, touchpoints: settings.touchpoints });
    const [first, second] = rules.webPlacements as [string, string];
    const paths = customers.map((c) => `/v1/decisions/${c.customerId}?placement=${first}&placement=${second}&channel=web`);
    const nextPath = () => paths[Math.floor(Math.random() * paths.length)] as string;
    const batchBodies = Array.from({ length: settings.batchRepetitions + settings.batchWarmups }, (_, r) =>
      JSON.stringify({
        requests: Array.from({ length: settings.batchSize }, (_, k) => ({
          customerId: (customers[(r * 997 + k) % customers.length] as Profile).customerId,
          placements: [rules.emailPlacement],
          context: { channel: 'email', campaign: 'weekly-2026-48' },
        })),
      }),
    );
    let decisionBody: string | undefined;
    const batches = new Map<EvaluatorName, BatchRun>();

    // The services (one per evaluator) are seeded side by side, each ingesting on its own core, then measured
    // one at a time while the others sit idle.
    const services = new Map<EvaluatorName | typeof BASELINE, { server: ChildServer; startLine: Record<string, unknown> }>();
    if (settings.service === 'dist') {
      progress('(b) building dist/ (npm run build)');
      await buildDist();
    }
    /** Starts every service, seeds them side by side and warms their caches; returns how long seeding took. */
    const startAll = async (): Promise<number> => {
      for (const evaluator of settings.evaluators) {
        progress(`(b) starting the service (EVALUATOR=${evaluator})`);
        services.set(evaluator, await startService(settings, rulesDir, evaluator));
      }
      if (settings.baseline !== null) {
        progress(`(b) starting the baseline service (${settings.baseline})`);
        services.set(BASELINE, await startService(settings, rulesDir, 'compiled', settings.baseline));
      }
      progress(`(b) seeding ${customers.length} customers × ${settings.touchpoints} touchpoints through the API of ${services.size} service(s)`);
      const seedStart = performance.now();
      await Promise.all([...services.values()].map(({ server }) => withStderr(server, () => seedCustomers(server.url, customers))));
      const took = performance.now() - seedStart;
      progress(`(b) seeded in ${duration(took)}; warming the profile caches`);
      await Promise.all(
        [...services.values()].map(({ server }) => withStderr(server, () => warmProfileCache(server.url, customers.map((c) => c.customerId), first))),
      );
      return took;
    };
    const stopAll = async (): Promise<void> => {
      await Promise.all([...services.values()].map(({ server }) => server.stop()));
      services.clear();
    };
    try {
      const seedMs = await startAll();

      // Each service takes its turn; with a baseline, BENCH_ROUNDS turns each (A B A B), summed, so that other
      // work coming and going on the machine weighs on both alike. Each round after the first starts every service
      // afresh: one process of a build can run several percent faster or slower than another of the same build
      // (the same build against itself differed by 15% in one run), so a round's processes are a sample, not the
      // build. The batch runs once, after the first turn.
      const turns = new Map<EvaluatorName | typeof BASELINE, { runs: LoadRun[]; handlerMs: number[]; decideMs: number[] }>();
      const rounds = settings.baseline !== null ? settings.rounds : 1;
      for (let round = 0; round < rounds; round++) {
        if (round > 0) {
          progress(`(b) round ${round + 1} of ${rounds}: fresh service processes`);
          await stopAll();
          await startAll();
        }
        for (const [evaluator, { server }] of services) {
          await withStderr(server, async () => {
            if (decisionBody === undefined && evaluator !== BASELINE) {
              decisionBody = JSON.stringify(await getJson(`${server.url}${paths[0]}`));
              results.decisionBytes = Buffer.byteLength(decisionBody);
            }
            const label = evaluator === BASELINE ? 'the baseline service' : `the service (${evaluator})`;
            progress(`(b) autocannon against ${label}: ${settings.httpWarmupSeconds} s warm-up, ${settings.httpSeconds} s measured${rounds > 1 ? `, turn ${round + 1} of ${rounds}` : ''}`);
            await loadTest({ url: server.url, connections: settings.connections, durationSec: settings.httpWarmupSeconds, nextPath });
            const timingsBefore = await serverTimings(server.url);
            const load = await loadTest({ url: server.url, connections: settings.connections, durationSec: settings.httpSeconds, nextPath, serverPid: server.process.pid });
            const timings = meanTimings(timingsBefore, await serverTimings(server.url));
            let turn = turns.get(evaluator);
            if (!turn) turns.set(evaluator, (turn = { runs: [], handlerMs: [], decideMs: [] }));
            turn.runs.push(load);
            turn.handlerMs.push(timings.handlerMs);
            turn.decideMs.push(timings.decideMs);
            if (round === 0 && evaluator !== BASELINE) {
              progress(`(c) ${settings.batchRepetitions} batches of ${settings.batchSize} over HTTP (${evaluator})`);
              await timeBatches(server.url, batchBodies.slice(0, settings.batchWarmups), settings.batchSize);
              batches.set(evaluator, await timeBatches(server.url, batchBodies.slice(settings.batchWarmups), settings.batchSize));
            }
          });
        }
      }
      const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
      for (const [evaluator, turn] of turns) {
        const load = combineRuns(turn.runs);
        const timings = { handlerMs: mean(turn.handlerMs), decideMs: mean(turn.decideMs) };
        if (evaluator === BASELINE) {
          results.baseline = load;
          results.baselineTimings = timings;
          continue;
        }
        const entry = services.get(evaluator);
        const batch = batches.get(evaluator);
        if (entry && batch) results.service[evaluator] = { load, batch, seedMs, startLine: entry.startLine, ...timings };
      }
    } finally {
      await stopAll();
    }

    if (decisionBody !== undefined) {
      const bodyFile = join(dir, 'decision.json');
      await writeFile(bodyFile, decisionBody);
      const runBare = async (spinUs: number): Promise<LoadRun> => {
        const label = spinUs > 0 ? `the bare Hono route spinning ${spinUs} µs a request` : 'the bare Hono route';
        progress(`(b) starting ${label}`);
        const bare = await startChild({
          name: 'the bare Hono server',
          args: ['--import', 'tsx', 'load/bench/bare-server.ts'],
          cwd: ROOT,
          env: { ...process.env, BARE_BODY_FILE: bodyFile, BARE_SPIN_US: String(spinUs), PORT: '0', HOST: '127.0.0.1' },
          urlFromLine: (line) => {
            const parsed = parseJsonLine(line);
            return parsed?.msg === 'bare listening' && typeof parsed.url === 'string' ? parsed.url : undefined;
          },
        });
        try {
          progress(`(b) autocannon against ${label}: ${settings.httpWarmupSeconds} s warm-up, ${settings.httpSeconds} s measured`);
          await loadTest({ url: bare.url, connections: settings.connections, durationSec: settings.httpWarmupSeconds, nextPath });
          return await loadTest({ url: bare.url, connections: settings.connections, durationSec: settings.httpSeconds, nextPath, serverPid: bare.process.pid });
        } finally {
          await bare.stop();
        }
      };
      results.bare = await runBare(0);
      // What the service's time in its handler costs by itself: the bare route, spinning that long.
      const handlerMs = results.service[settings.evaluators[0] as EvaluatorName]?.handlerMs;
      if (handlerMs !== undefined && Number.isFinite(handlerMs)) {
        const spinUs = Math.round(handlerMs * 1000);
        results.bareSpin = { spinUs, load: await runBare(spinUs) };
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
  printHttp(settings, rules, results);
  return results;
}

async function startService(
  settings: Settings,
  rulesDir: string,
  evaluator: EvaluatorName,
  /** Another checkout to run from its dist/ (BENCH_BASELINE); absent: this one. */
  checkout?: string,
): Promise<{ server: ChildServer; startLine: Record<string, unknown> }> {
  let startLine: Record<string, unknown> = {};
  const server = await startChild({
    name: checkout ? `the baseline service in ${checkout}` : `the nextbest service (EVALUATOR=${evaluator})`,
    args: checkout ? ['dist/main.js'] : serviceArgs(settings),
    cwd: checkout ?? ROOT,
    env: {
      ...process.env,
      STORE: 'memory',
      PORT: '0',
      HOST: '127.0.0.1',
      RULES_DIR: rulesDir,
      EVALUATOR: evaluator,
      PROFILE_CACHE_MAX: String(Math.max(50_000, settings.customers * 2)),
      RULES_POLL_INTERVAL_MS: '0',
    },
    urlFromLine: (line) => {
      const parsed = parseJsonLine(line);
      if (parsed?.msg !== 'nextbest listening' || typeof parsed.url !== 'string') return undefined;
      startLine = parsed;
      return parsed.url;
    },
  });
  return { server, startLine };
}

/** How the service is started: `node dist/main.js`, as `npm start` runs it, or through tsx from the sources. */
function serviceArgs(settings: Settings): string[] {
  return settings.service === 'dist' ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts'];
}

/** `npm run build`'s compilation, so the service measured is the sources as they are now. */
async function buildDist(): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`building dist/ failed (BENCH_SERVICE=tsx runs the sources without a build):\n${output}`);
}

/** Runs a step against a server, adding the server's last stderr lines to any error. */
async function withStderr<T>(server: ChildServer, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw new Error(`${(err as Error).message}\n-- server stderr --\n${server.stderrTail()}`);
  }
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function printHttp(settings: Settings, rules: GeneratedRules, results: HttpResults): void {
  const [first, second] = rules.webPlacements as [string, string];
  out(heading('(b) HTTP GET /v1/decisions/{id}'));
  out(
    `GET /v1/decisions/{id}?placement=${first}&placement=${second}&channel=web, ${settings.connections} connections, ` +
      `${settings.httpSeconds} s per run after ${settings.httpWarmupSeconds} s of warm-up, customers drawn at random from ${settings.customers.toLocaleString('en-US')} ` +
      `seeded through the ingestion API (${settings.touchpoints} touchpoints each), profile cache warm.`,
  );
  out(
    `The service (node ${serviceArgs(settings).join(' ')}, STORE=memory) and the bare Hono route (load/bench/bare-server.ts, serving a real ${bytes(results.decisionBytes ?? NaN)} decision ` +
      `with c.json) each run as a child process; autocannon runs in this process, so load generator and server share the ${os.cpus().length} cores, ` +
      `as any load generator on the same box would. Latency is per request as autocannon sees it (only 2xx); ` +
      `server CPU/response is the server process's user + system CPU time (all its threads, from /proc) over the run divided by the responses, which does not depend on the CPU autocannon took.`,
  );
  out();
  const rows: Cell[][] = [];
  const row = (target: string, run: LoadRun): Cell[] => [
    target,
    rate(run.requestsPerSec),
    duration(run.latency.p50),
    duration(run.latency.p99),
    duration(run.latency.p999),
    duration(run.latency.max),
    duration(run.serverCpuPerResponse),
    run.responses.toLocaleString('en-US'),
    run.non2xx + run.errors + run.timeouts,
  ];
  for (const evaluator of settings.evaluators) {
    const run = results.service[evaluator];
    if (run) rows.push(row(`service (EVALUATOR=${evaluator})`, run.load));
  }
  if (results.baseline) rows.push(row(`baseline (${settings.baseline}, compiled)`, results.baseline));
  if (results.bare) rows.push(row('bare Hono, same body', results.bare));
  if (results.bareSpin) rows.push(row(`bare Hono, spinning ${results.bareSpin.spinUs} µs a request`, results.bareSpin.load));
  out(table(['Target', 'req/s', 'p50', 'p99', 'p99.9', 'max', 'server CPU/response', 'responses', 'non-2xx/errors'], rows));
  out();
  const bare = results.bare;
  const checks: Cell[][] = [];
  for (const evaluator of settings.evaluators) {
    const run = results.service[evaluator];
    if (!run) continue;
    const share = bare ? run.load.requestsPerSec / bare.requestsPerSec : NaN;
    checks.push([`service/bare throughput (${evaluator})`, percent(share), `≥ ${percent(TARGETS.httpShareOfBare)}`, share >= TARGETS.httpShareOfBare ? 'yes' : 'no']);
    checks.push([`p99 at ${settings.connections} connections (${evaluator})`, duration(run.load.latency.p99), `< ${TARGETS.httpP99Ms} ms`, run.load.latency.p99 < TARGETS.httpP99Ms ? 'yes' : 'no']);
  }
  const compiled = results.service.compiled;
  if (results.baseline && compiled) {
    const change = compiled.load.requestsPerSec / results.baseline.requestsPerSec - 1;
    checks.push(['GET throughput, service against baseline (compiled)', `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`, '≥ -5%', change >= -0.05 ? 'yes' : 'no']);
  }
  out(table(['Figure', 'measured', 'target', 'meets'], checks));
  for (const evaluator of settings.evaluators) {
    const run = results.service[evaluator];
    if (!run) continue;
    const outside = run.load.serverCpuPerResponse - run.handlerMs;
    out();
    out(
      `Where a response's server time goes (${evaluator}, from the service's /metrics over the measured run): ${duration(run.handlerMs)} in the app ` +
        `(request log start to answer), of which decide() ${duration(run.decideMs)}; the other ${duration(outside)} of CPU per response is outside the app: ` +
        `Node's HTTP parsing and socket writes, the event loop, garbage collection and the kernel.`,
    );
  }
  if (results.baseline && results.baselineTimings) {
    const outside = results.baseline.serverCpuPerResponse - results.baselineTimings.handlerMs;
    out();
    out(
      `The baseline, measured the same way: ${duration(results.baselineTimings.handlerMs)} in the app, of which decide() ${duration(results.baselineTimings.decideMs)}; ` +
        `${duration(outside)} of CPU per response outside the app.`,
    );
  }
  if (results.bare && results.bareSpin) {
    const spun = results.bareSpin.load;
    out(
      `The bare route spinning ${results.bareSpin.spinUs} µs a request, as long as the service spends in its app, reaches ${percent(spun.requestsPerSec / results.bare.requestsPerSec)} ` +
        `of the bare throughput at ${duration(spun.serverCpuPerResponse)} of server CPU per response: on this machine each microsecond a request spends in the app ` +
        `adds about ${((spun.serverCpuPerResponse - results.bare.serverCpuPerResponse) / (results.bareSpin.spinUs / 1000)).toFixed(1)} µs of server CPU per response ` +
        `(the longer the server works on a request, the more often the load generator on the other core has gone idle and each response must wake it).`,
    );
  }
  const seeds = settings.evaluators.map((e) => results.service[e]).filter((r): r is ServiceRun => r !== undefined);
  if (seeds.length > 0) {
    const seedMs = seeds[0]?.seedMs ?? NaN;
    out();
    out(
      `Seeding ${settings.customers.toLocaleString('en-US')} customers (a PATCH and a ${settings.touchpoints}-touchpoint POST each, 16 in flight per service) ` +
        `into ${seeds.length} service(s) side by side took ${duration(seedMs)}: ` +
        `${rate((seeds.length * settings.customers * settings.touchpoints * 1000) / seedMs)} touchpoints/s ingested in all.`,
    );
  }
  for (const evaluator of settings.evaluators) {
    const logged = results.service[evaluator]?.startLine.evaluator;
    if (logged !== undefined && logged !== evaluator) {
      out(`WARNING: the service started with EVALUATOR=${evaluator} says it runs "${String(logged)}"; that row is mislabelled.`);
    }
  }
}

// ---------------------------------------------------------------- (c) batch

async function inProcessBatch(
  settings: Settings,
  rules: GeneratedRules,
  snapshots: Map<EvaluatorName, RulesetSnapshot>,
  profiles: readonly DecisionProfile[],
  now: number,
): Promise<Partial<Record<EvaluatorName, Summary>>> {
  const results: Partial<Record<EvaluatorName, Summary>> = {};
  const context = { channel: 'email', campaign: 'weekly-2026-48' };
  const requests = profiles.map((p): DecisionRequest => ({ customerId: p.customerId, placements: [rules.emailPlacement], context, explain: false }));
  for (const evaluator of settings.evaluators) {
    progress(`(c) ${settings.batchRepetitions} in-process batches of ${settings.batchSize} decide() calls (${evaluator})`);
    const snapshot = snapshots.get(evaluator) as RulesetSnapshot;
    const batch = async (r: number): Promise<void> => {
      for (let k = 0; k < settings.batchSize; k++) {
        const index = (r * 997 + k) % profiles.length;
        await decide(snapshot, profiles[index] as DecisionProfile, requests[index] as DecisionRequest, { now, decisionId: 'bench' });
      }
    };
    for (let r = 0; r < settings.batchWarmups; r++) await batch(r);
    collectGarbage();
    const times: number[] = [];
    for (let r = 0; r < settings.batchRepetitions; r++) {
      const start = performance.now();
      await batch(r + settings.batchWarmups);
      times.push(performance.now() - start);
    }
    const samples = new Samples();
    for (const t of times) samples.add(t);
    results[evaluator] = samples.summarise(times.reduce((a, b) => a + b, 0));
  }
  return results;
}

function printBatch(settings: Settings, rules: GeneratedRules, http: HttpResults, inProcess: Partial<Record<EvaluatorName, Summary>>): void {
  out(heading(`(c) A batch of ${settings.batchSize} decisions (${rules.emailPlacement}, 50 rules, channel email)`));
  out(
    `HTTP: POST /v1/decisions/batch with ${settings.batchSize} requests, timed by the client from sending to the last byte over the loopback ` +
      `(so it includes parsing, validation, profile loads from the warm cache and ~${bytes(http.service[settings.evaluators[0] as EvaluatorName]?.batch.bytes ?? NaN)} of JSON out), ` +
      `${settings.batchRepetitions} batches one after another after ${settings.batchWarmups} unmeasured. In-process: ${settings.batchSize} decide() calls in a row, ${settings.batchRepetitions} times.`,
  );
  out();
  const rows: Cell[][] = [];
  for (const evaluator of settings.evaluators) {
    const run = http.service[evaluator]?.batch;
    const local = inProcess[evaluator];
    const p50 = run?.p50 ?? NaN;
    rows.push([
      evaluator,
      duration(p50),
      duration(run?.max ?? NaN),
      duration(local?.p50 ?? NaN),
      duration(local?.max ?? NaN),
      `< ${TARGETS.batchMs} ms`,
      Number.isFinite(p50) ? (p50 < TARGETS.batchMs ? 'yes' : 'no') : '—',
    ]);
  }
  out(table(['Evaluator', 'HTTP batch p50', 'HTTP batch max', `in-process ${settings.batchSize} decide() p50`, 'in-process max', 'target (server time)', 'meets (p50)'], rows));
}

// ---------------------------------------------------------------- (d) memory

async function memorySection(settings: Settings): Promise<MemoryOutcome> {
  progress(`(d) profile cache memory: ${settings.memoryProfiles.toLocaleString('en-US')} profiles × ${settings.touchpoints} touchpoints`);
  const outcome = await runMemoryMeasurement({ profiles: settings.memoryProfiles, touchpointsPerProfile: settings.touchpoints, root: ROOT });
  out(heading(`(d) Memory: ${settings.memoryProfiles.toLocaleString('en-US')} cached profiles × ${settings.touchpoints} touchpoints`));
  if (outcome.status === 'failed') {
    out(`Not measured: the measurement failed.\n${outcome.error}`);
    return outcome;
  }
  const r = outcome.result;
  out(
    'load/memory.ts (measureCacheMemory) fills the profile cache through its decision-loading path in a process of its own ' +
      '(node --expose-gc), then reads memory after full collections.',
  );
  out();
  out(
    table(
      ['Figure', 'value', 'target', 'meets'],
      [
        ['RSS of the process holding the cache', bytes(r.rssBytes), `≤ ${bytes(TARGETS.cacheRssBytes)}`, r.rssBytes <= TARGETS.cacheRssBytes ? 'yes' : 'no'],
        ['RSS added by filling the cache', bytes(r.added.rssBytes), '', ''],
        ['V8 heap in use', bytes(r.heapBytes), '', ''],
        ['heap + off-heap added per profile', bytes(r.bytesPerProfile), '', ''],
        ['RSS before filling', bytes(r.baseline.rssBytes), '', ''],
        ['time to fill the cache', duration(r.fillMs), '', ''],
      ],
    ),
  );
  return outcome;
}

// ---------------------------------------------------------------- run

await runLoadScript('bench', main);
