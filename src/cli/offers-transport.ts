/**
 * Where `nextbest offers` gets its decisions: the stream route
 * (POST /v1/decisions/stream) either of a running service (`--url`) or of the
 * service's own app run in this process over the rules and the store as
 * `serve` reads them. Either way the same route decides, so the two modes
 * answer alike, columns included (the item fields come in its header).
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConfigError, loadConfig } from '../config.js';
import { ITEM_FIELDS_HEADER, NDJSON_TYPE } from '../domain/decision-stream.js';
import { createApp } from '../http/app.js';
import { createProfileStore, decisionKeyring, itemsCountingEveryone, matcherFor } from '../main.js';
import { createDecisionSigner } from '../outcomes/decision-id.js';
import { createSharedOutcomeTotals } from '../outcomes/shared-totals.js';
import { createLogger } from '../observability/logger.js';
import { createRuleRegistry } from '../reload/registry.js';
import { formatRuleError } from '../ruleset/format.js';

/** The run cannot go on (bad configuration, invalid rules, the service refusing or gone). */
export class OffersError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OffersError';
  }
}

export interface DecisionStream {
  /** The catalog item fields of the rules deciding, in order (the CSV's extra columns). */
  itemFields: string[];
  /** The answer's bytes: one line a request, in order. */
  answers: AsyncIterable<Uint8Array>;
}

export interface Transport {
  /** Where the decisions come from, for messages. */
  readonly source: string;
  /** Starts a stream; `body` is read only as fast as the answers are. */
  open(body: AsyncIterable<string>): Promise<DecisionStream>;
  close(): Promise<void>;
}

/** The service's app in this process, configured from the environment as `serve` is. */
export async function localTransport(env: NodeJS.ProcessEnv): Promise<Transport> {
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new OffersError(err.message);
    throw err;
  }
  // Warnings only, and to stderr: standard output may be the offers themselves.
  const logger = createLogger({ level: config.logLevel === 'silent' ? 'silent' : 'warn', destination: process.stderr });
  const registry = createRuleRegistry({ dir: config.rulesDir, logger, createMatcher: matcherFor(config.evaluator), limits: config.ruleLimits });
  const loaded = await registry.reload();
  if (!loaded.ok) throw new OffersError(`the rules in ${config.rulesDir} are invalid:\n${loaded.errors.map((e) => `  ${formatRuleError(e)}`).join('\n')}`);
  let store;
  try {
    store = createProfileStore({
      store: config.store,
      sqlitePath: config.sqlitePath,
      redisUrl: config.redisUrl,
      redisCluster: config.redisCluster,
      redisKeyPrefix: config.redisKeyPrefix,
      retentionDays: config.touchpointRetentionDays,
      maxTouchpointsPerProfile: config.maxTouchpointsPerProfile,
      maxAliasesPerCustomer: config.maxAliasesPerCustomer,
      // One pass over a list, each recipient once: a cache would only cost.
      cacheMax: 0,
      storeTimeoutMs: config.storeTimeoutMs,
    });
  } catch (err) {
    throw new OffersError(`cannot open the ${config.store} profile store: ${(err as Error).message}`);
  }
  // Decisions made here are decisions like any other (contract section 12): signed with the key the service
  // uses, so their outcomes are accepted, and capped with everyone's counts as the store holds them now.
  const keyring = await decisionKeyring(config, store, logger);
  const outcomeTotals = createSharedOutcomeTotals({ store, items: () => itemsCountingEveryone(registry.current) });
  try {
    await outcomeTotals.refresh();
  } catch (err) {
    logger.warn('cannot read everyone\'s outcome counts; caps with scope "all" count nothing in this run', { error: (err as Error).message });
  }
  const app = createApp({ rules: registry, store, logger, signer: createDecisionSigner(keyring.keyring), outcomeTotals });
  const source = config.store === 'sqlite' ? `the rules in ${config.rulesDir} and the store at ${config.sqlitePath}` : `the rules in ${config.rulesDir} and the ${config.store} store`;
  return {
    source,
    async open(body) {
      const iterator = body[Symbol.asyncIterator]();
      const encoder = new TextEncoder();
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const next = await iterator.next();
          if (next.done) controller.close();
          else controller.enqueue(encoder.encode(next.value));
        },
        async cancel() {
          await iterator.return?.();
        },
      });
      const res = await app.request('http://offers.local/v1/decisions/stream', {
        method: 'POST',
        body: stream,
        headers: { 'Content-Type': NDJSON_TYPE },
        duplex: 'half',
      } as RequestInit);
      if (res.status !== 200 || !res.body) throw new OffersError(`the decisions failed: ${res.status} ${await problemText(res.text())}`);
      return { itemFields: parseItemFields(res.headers.get(ITEM_FIELDS_HEADER)), answers: res.body as unknown as AsyncIterable<Uint8Array> };
    },
    close: () => {
      keyring.stop();
      return store.close();
    },
  };
}

/** A running service's stream route. */
export function remoteTransport(url: string, apiKey: string | undefined): Transport {
  let base: URL;
  try {
    base = new URL(url.endsWith('/') ? url : `${url}/`);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new OffersError(`--url must be an http:// or https:// address (got ${JSON.stringify(url)})`);
  }
  const target = new URL('v1/decisions/stream', base);
  return {
    source: base.origin,
    open(body) {
      return new Promise<DecisionStream>((resolve, reject) => {
        const client = target.protocol === 'https:' ? https : http;
        const headers: Record<string, string> = { 'Content-Type': NDJSON_TYPE, 'Transfer-Encoding': 'chunked' };
        if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
        const request = client.request(target, { method: 'POST', headers });
        let answered = false;
        request.on('response', (res) => {
          answered = true;
          if (res.statusCode !== 200) {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (part: string) => (text += part.length < 4096 ? part : ''));
            res.on('end', () => reject(new OffersError(`${base.origin} answered ${res.statusCode}: ${problemTextOf(text)}`)));
            res.on('error', () => reject(new OffersError(`${base.origin} answered ${res.statusCode}`)));
            return;
          }
          const fields = res.headers[ITEM_FIELDS_HEADER.toLowerCase()];
          resolve({ itemFields: parseItemFields(typeof fields === 'string' ? fields : null), answers: res });
        });
        request.on('error', (err) => {
          if (!answered) reject(new OffersError(`cannot reach ${base.origin}: ${err.message}`));
        });
        pipeline(Readable.from(body), request).catch((err: Error) => {
          // The answer stream fails too (the connection is gone); this says why when it is the request's side.
          if (!answered) reject(new OffersError(`sending to ${base.origin} failed: ${err.message}`));
          else request.destroy(err);
        });
      });
    },
    close: async () => undefined,
  };
}

function parseItemFields(header: string | null): string[] {
  if (header === null) throw new OffersError(`the service did not name the catalog item fields (${ITEM_FIELDS_HEADER}): is it a version with the decision stream?`);
  return header === '' ? [] : header.split(',').map((name) => decodeURIComponent(name));
}

async function problemText(text: Promise<string>): Promise<string> {
  return problemTextOf(await text);
}

function problemTextOf(text: string): string {
  try {
    const problem = JSON.parse(text) as { title?: string; detail?: string };
    return [problem.title, problem.detail].filter(Boolean).join(': ') || text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}
