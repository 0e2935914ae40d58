/**
 * The HTTP side of the benchmark: seeding customers through the ingestion
 * API, warming the profile cache, autocannon runs, and timed batch requests.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import type { Profile } from '../../src/domain/profile.js';
import { processCpuMs } from './children.js';
import { profilePatchBody, touchpointsBody } from './profiles.js';
import { percentile, Samples, type Summary } from './timing.js';

const JSON_HEADERS = { 'content-type': 'application/json' };

/** Runs `task` over the items with at most `concurrency` in flight. */
export async function runPool<T>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

async function send(url: string, init: RequestInit, expected: readonly number[]): Promise<string> {
  const res = await fetch(url, init).catch((err: Error) => {
    throw new Error(`${init.method ?? 'GET'} ${url} failed: ${err.message} (${String((err.cause as Error | undefined)?.message ?? '')})`);
  });
  const text = await res.text();
  if (!expected.includes(res.status)) throw new Error(`${init.method ?? 'GET'} ${url} answered ${res.status}: ${text.slice(0, 500)}`);
  return text;
}

/** Creates each customer through the API as a real sender would: a PATCH for attributes and stage, one POST with all its touchpoints. */
export async function seedCustomers(baseUrl: string, profiles: readonly Profile[], concurrency = 16): Promise<void> {
  await runPool(profiles, concurrency, async (profile) => {
    const url = `${baseUrl}/v1/customers/${encodeURIComponent(profile.customerId)}`;
    await send(url, { method: 'PATCH', headers: JSON_HEADERS, body: profilePatchBody(profile) }, [200]);
    await send(`${url}/touchpoints`, { method: 'POST', headers: JSON_HEADERS, body: touchpointsBody(profile) }, [202]);
  });
}

/**
 * Makes one decision for every customer through the batch API, a thousand
 * at a time, so that every profile is in the service's cache before the
 * measured runs (only decision reads fill it).
 */
export async function warmProfileCache(baseUrl: string, customerIds: readonly string[], placement: string): Promise<void> {
  for (let start = 0; start < customerIds.length; start += 1000) {
    const requests = customerIds.slice(start, start + 1000).map((customerId) => ({ customerId, placements: [placement], context: { channel: 'web' } }));
    await send(`${baseUrl}/v1/decisions/batch`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ requests }) }, [200]);
  }
}

export async function getJson(url: string): Promise<unknown> {
  return JSON.parse(await send(url, {}, [200]));
}

export interface LoadRun {
  /** Successful (2xx) responses per second over the run. */
  requestsPerSec: number;
  /** Latencies of 2xx responses, in milliseconds, from autocannon's per-request times. */
  latency: Summary;
  responses: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  bytesPerResponse: number;
  durationSec: number;
  /** The server process's CPU time (user + system) per 2xx response, in milliseconds; NaN when unknown. */
  serverCpuPerResponse: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  durationSec: number;
  /** The path of each request, called once per request. */
  nextPath: () => string;
  /** GET by default; with POST, `nextBody` gives each request's JSON body. */
  method?: 'GET' | 'POST';
  nextBody?: () => string;
  /** The server's process id, to read its CPU time before and after. */
  serverPid?: number;
}

/**
 * One autocannon run in this process. Latencies are recorded from every
 * response event (autocannon's own histogram rounds to whole milliseconds).
 */
export async function loadTest(options: LoadOptions): Promise<LoadRun> {
  const samples = new Samples();
  let bytes = 0;
  const cpuBefore = processCpuMs(options.serverPid);
  let instance: autocannon.Instance | undefined;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSec,
        requests: [
          {
            method: options.method ?? 'GET',
            setupRequest: (request) =>
              options.nextBody
                ? { ...request, path: options.nextPath(), headers: { ...JSON_HEADERS }, body: options.nextBody() } // a copy: autocannon writes content-length into the headers it is given
                : { ...request, path: options.nextPath() },
          },
        ],
      },
      (err, result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result)),
    );
  });
  instance?.on('response', (_client, statusCode, resBytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300) {
      samples.add(responseTime);
      bytes += resBytes;
    }
  });
  const result = await finished;
  const cpuAfter = processCpuMs(options.serverPid);
  const durationMs = result.duration * 1000;
  const summary = samples.summarise(durationMs);
  return {
    requestsPerSec: summary.opsPerSec,
    latency: summary,
    responses: summary.iterations,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    bytesPerResponse: summary.iterations > 0 ? bytes / summary.iterations : NaN,
    durationSec: result.duration,
    serverCpuPerResponse:
      cpuBefore !== undefined && cpuAfter !== undefined && summary.iterations > 0 ? (cpuAfter - cpuBefore) / summary.iterations : NaN,
  };
}

export interface IngestLoadOptions {
  url: string;
  /** Customers are `${customerPrefix}0` … `${customerPrefix}${customers - 1}`, as generateProfiles names them. */
  customerPrefix: string;
  customers: number;
  connections: number;
  durationSec: number;
  serverPid?: number;
}

/** Single-touchpoint POSTs with fresh ids, spread over the customers in turn: the load a site sends, one per page view. */
export function ingestLoad(options: IngestLoadOptions): Promise<LoadRun> {
  const runId = randomUUID().slice(0, 8);
  let sent = 0;
  let customer = 0;
  return loadTest({
    url: options.url,
    connections: options.connections,
    durationSec: options.durationSec,
    method: 'POST',
    nextPath: () => `/v1/customers/${options.customerPrefix}${customer++ % options.customers}/touchpoints`,
    nextBody: () => JSON.stringify({ id: `ingest-${runId}-${sent++}`, type: 'page_view', channel: 'web', properties: { page: '/tents' } }),
    ...(options.serverPid !== undefined ? { serverPid: options.serverPid } : {}),
  });
}

export interface BatchRun {
  /** Client-side milliseconds per batch: request sent to last byte of the answer. */
  times: number[];
  p50: number;
  max: number;
  results: number;
  bytes: number;
}

/** POSTs the same-sized batch `repetitions` times, one at a time, timing each round trip over the loopback. */
export async function timeBatches(
  baseUrl: string,
  bodies: readonly string[],
  expectedResults: number,
): Promise<BatchRun> {
  const times: number[] = [];
  let results = 0;
  let bytes = 0;
  for (const body of bodies) {
    const start = performance.now();
    const res = await fetch(`${baseUrl}/v1/decisions/batch`, { method: 'POST', headers: JSON_HEADERS, body });
    const text = await res.text();
    times.push(performance.now() - start);
    if (res.status !== 200) throw new Error(`POST /v1/decisions/batch answered ${res.status}: ${text.slice(0, 500)}`);
    const parsed = JSON.parse(text) as { results: Array<{ placements?: unknown }> };
    results = parsed.results.filter((r) => r.placements !== undefined).length;
    if (results !== expectedResults) throw new Error(`the batch answered ${results} decisions, expected ${expectedResults}`);
    bytes = text.length;
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { times, p50: percentile(sorted, 0.5), max: sorted[sorted.length - 1] ?? NaN, results, bytes };
}

/** Sums and counts of the service's own timings, read from its /metrics. */
export interface ServerTimings {
  /** GET /v1/decisions/{id} requests, from the request log middleware's start to the answer. */
  getSeconds: number;
  getCount: number;
  /** decide() calls (batch members included). */
  decideSeconds: number;
  decideCount: number;
}

export async function serverTimings(baseUrl: string): Promise<ServerTimings> {
  const text = await send(`${baseUrl}/metrics`, {}, [200]);
  const value = (pattern: RegExp): number => {
    const match = pattern.exec(text);
    return match ? Number(match[1]) : NaN;
  };
  const get = (suffix: string) => new RegExp(`^nextbest_http_request_duration_seconds_${suffix}\\{method="GET",route="/v1/decisions/:customerId",status="200"\\} (\\S+)$`, 'm');
  return {
    getSeconds: value(get('sum')),
    getCount: value(get('count')),
    decideSeconds: value(/^nextbest_decision_duration_seconds_sum (\S+)$/m),
    decideCount: value(/^nextbest_decision_duration_seconds_count (\S+)$/m),
  };
}

/** Mean handler and decide() times, in milliseconds, between two readings. */
export function meanTimings(before: ServerTimings, after: ServerTimings): { handlerMs: number; decideMs: number } {
  return {
    handlerMs: ((after.getSeconds - before.getSeconds) * 1000) / (after.getCount - before.getCount),
    decideMs: ((after.decideSeconds - before.decideSeconds) * 1000) / (after.decideCount - before.decideCount),
  };
}

/**
 * Several runs against one server as one: responses and server CPU over the
 * summed time; latencies of the run with the median throughput (percentiles
 * of separate runs do not add up). Runs of two servers taken in turns (A B A
 * B) and combined this way are compared on equal terms even when other work
 * on the machine comes and goes during the benchmark.
 */
export function combineRuns(runs: readonly LoadRun[]): LoadRun {
  if (runs.length === 0) throw new Error('combineRuns needs at least one run');
  if (runs.length === 1) return runs[0] as LoadRun;
  const responses = runs.reduce((sum, run) => sum + run.responses, 0);
  const durationSec = runs.reduce((sum, run) => sum + run.durationSec, 0);
  const median = [...runs].sort((a, b) => a.requestsPerSec - b.requestsPerSec)[Math.floor(runs.length / 2)] as LoadRun;
  const cpu = runs.reduce((sum, run) => sum + run.serverCpuPerResponse * run.responses, 0);
  return {
    requestsPerSec: responses / durationSec,
    latency: median.latency,
    responses,
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    timeouts: runs.reduce((sum, run) => sum + run.timeouts, 0),
    bytesPerResponse: runs.reduce((sum, run) => sum + run.bytesPerResponse * run.responses, 0) / responses,
    durationSec,
    serverCpuPerResponse: cpu / responses,
  };
}
