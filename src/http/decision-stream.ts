/**
 * POST /v1/decisions/stream: decision requests as NDJSON in, one answer a
 * line out, in order (contract section 12).
 *
 * The body is read a chunk at a time and answered as it comes: its lines are
 * decided in groups, each group's profiles read with one getManyForDecision
 * while the group before it is decided, and the body is read ahead only while
 * fewer than READ_AHEAD_LINES lines wait, as the answers are taken by the
 * client. So a slow reader slows the work, a slow writer gets its answers as
 * its lines arrive, and memory holds those lines, a chunk, two groups and at
 * most one unfinished line (MAX_STREAM_LINE_BYTES) whatever the count. When
 * the client goes away, the answer is cancelled and the body stops being read.
 *
 * Each line is decided through decideCounted, as the batch route decides each
 * request, so a stream and a batch decide alike; the whole stream uses the
 * rules snapshot current when it began.
 */
import type { Context } from 'hono';
import { decisionRequestSchema, type Decision, type DecisionRequest } from '../domain/decision.js';
import type { DecisionProfile } from '../domain/decision-profile.js';
import { ITEM_FIELDS_HEADER, MAX_STREAM_LINE_BYTES, NDJSON_TYPE } from '../domain/decision-stream.js';
import { UnknownPlacementsError } from '../decide/decide.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
import { decisionJson } from './decision-json.js';
import { decideCounted, readProfiles, toDecisionRequest } from './decisions.js';
import type { DegradedReason } from './degraded-warning.js';
import type { ResolvedDeps } from './deps.js';
import { NdjsonLineSplitter, type BodyLine } from './ndjson-lines.js';
import { PROBLEM_TYPES, toProblem, type Problem } from './problem.js';
import { checkRawJson } from './request-body.js';
import { defineRoute } from './route.js';

/** Lines decided together: one profile read each. Large enough to pay for the read, small enough to answer early and let other requests in between. */
export const STREAM_GROUP_SIZE = 128;
/** The first group of the lines at hand: its read is waited for with nothing else to do; the next ones are read while the one before is decided. */
const FIRST_GROUP_SIZE = 32;
/**
 * The body is read ahead while fewer lines than this wait to be decided, so
 * that the next group's read can start whatever the size of the body's chunks
 * (about 160 lines of a send). Decided a chunk at a time, the groups' reads
 * started again at each chunk, and the decisions waited for them: about a
 * quarter of the stream's time (docs/performance.md, 2026-12-06, session 11).
 */
export const READ_AHEAD_LINES = 2 * STREAM_GROUP_SIZE;

export const decisionStreamRoute = defineRoute({
  method: 'POST',
  path: '/v1/decisions/stream',
  scope: 'decide',
  // Read a line at a time, each at most MAX_STREAM_LINE_BYTES: no count limit, so no body limit.
  bodyLimit: false,
  body: {
    description: `One decision request a line (NDJSON), as many as you like; each line at most ${MAX_STREAM_LINE_BYTES / 1024} KB. Blank lines are skipped (and counted).`,
    contentType: NDJSON_TYPE,
    schemas: [decisionRequestSchema],
    examples: {
      send: {
        summary: 'Three recipients of an email send',
        value:
          '{"customerId":"c-42","placements":["email-banner"],"context":{"channel":"email"}}\n' +
          '{"customerId":"c-43","placements":["email-banner"],"context":{"channel":"email"}}\n' +
          '{"customerId":"c-44","placements":["email-banner","home-hero"],"context":{"channel":"email"}}\n',
      },
    },
  },
  handler: (deps) => async (c) => {
    // Before anything is read: no rules yet is a 503 for the whole stream.
    const snapshot = deps.snapshot();
    const body = bodySource(c);
    const answers = answerStream(deps, snapshot, body);
    // The answer starts with its first line, so a failure before any (the store broken) is an ordinary error answer.
    let first: IteratorResult<Uint8Array>;
    try {
      first = await answers.next();
    } catch (err) {
      body.cancel();
      throw err;
    }
    let held: Uint8Array | null = first.done ? null : first.value;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (held !== null) {
          controller.enqueue(held);
          held = null;
          return;
        }
        const next = await answers.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      cancel() {
        // The client went away: stop reading its body, and the work with it.
        body.cancel();
        answers.return(undefined).catch(() => undefined);
      },
    });
    return c.body(stream, 200, { 'Content-Type': NDJSON_TYPE, [ITEM_FIELDS_HEADER]: itemFieldsHeader(snapshot) });
  },
  doc: {
    operationId: 'decideStream',
    summary: 'Decide for a stream of customers',
    description:
      `Decision requests as NDJSON, one a line, with no limit on their number: the answer is NDJSON too, one line a request, in order: the decision, or a problem (a \`StreamProblem\`) with its \`status\` and the \`line\` it answers (from 1, blank lines counted). A bad line does not stop the stream; a line over ${MAX_STREAM_LINE_BYTES / 1024} KB answers a problem with status 413. ` +
      'Answers flow while the body is still arriving, and the service reads the body only as fast as the answers are read, so memory stays flat whatever the count. ' +
      'The whole stream is decided with the rules loaded when it began. The request body is not limited by MAX_BODY_BYTES. ' +
      `The \`${ITEM_FIELDS_HEADER}\` header names, in order, the catalog item fields other than \`id\` and \`caps\` (each percent-encoded, joined by commas): the columns of \`nextbest offers\`.`,
    tag: 'decisions',
    responses: {
      200: {
        description: 'One line a request, in order: a Decision or a StreamProblem (the schema below is that of each line).',
        headers: {
          [ITEM_FIELDS_HEADER]: {
            description: 'The catalog item fields other than `id` and `caps`, in order of first appearance in catalog.json, each percent-encoded, joined by commas.',
            schema: { type: 'string', examples: ['kind,channels,title,url'] },
          },
        },
        content: { [NDJSON_TYPE]: { schema: { oneOf: [{ $ref: '#/components/schemas/Decision' }, { $ref: '#/components/schemas/StreamProblem' }] } } },
      },
      503: 'NotReady',
    },
  },
});

/** The body, a chunk at a time, and a way to stop reading it. */
interface BodySource extends AsyncIterable<Buffer> {
  cancel(): void;
}

/**
 * The Request's web stream, which @hono/node-server makes from the Node
 * request. Reading the Node request directly (`c.env.incoming`) was measured
 * against it, streaming 200,000 lines to this route six times each on a busy
 * 2-core VM: 14-24k lines/s directly, 19-57k through the web stream, and the
 * spread between runs of either was larger than any difference. So the one
 * path that `app.request()` (tests, `nextbest offers` in local mode) also
 * takes.
 */
function bodySource(c: Context): BodySource {
  const web = c.req.raw.body;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let cancelled = false;
  return {
    async *[Symbol.asyncIterator]() {
      if (!web || cancelled) return;
      reader = web.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done || cancelled) return;
        yield Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      }
    },
    cancel: () => {
      cancelled = true;
      reader?.cancel().catch(() => undefined);
    },
  };
}

/**
 * The answers, a group of lines' at a time, as the body's bytes.
 */
async function* answerStream(deps: ResolvedDeps, snapshot: RulesetSnapshot, body: BodySource): AsyncGenerator<Uint8Array> {
  for await (const answers of lineDecider(deps, snapshot)(bodyLines(body))) {
    yield encodeLines(answers.map((answer) => ('decision' in answer ? `${decisionJson(answer.decision)}\n` : problemLine(answer.problem, answer.line))));
  }
}

/**
 * Lines as they arrive, for lineDecider: what has arrived is taken without
 * waiting, so a group is never held back for lines the client has not sent
 * (it may wait for its answers before it sends more).
 */
export interface LineSource {
  /** Up to `max` of the lines that have arrived, in order; none when none has. */
  take(max: number): BodyLine[];
  /** Resolves true once a line has arrived, false when there are no more. Throws what reading them threw. */
  arrival(): Promise<boolean>;
}

/** Lines all at hand (a batch of `nextbest offers`). */
export function linesAtHand(lines: readonly BodyLine[]): LineSource {
  let at = 0;
  return {
    take(max) {
      const taken = lines.slice(at, at + max);
      at += taken.length;
      return taken;
    },
    arrival: () => Promise.resolve(at < lines.length),
  };
}

/**
 * A body's lines, read a chunk ahead while fewer than READ_AHEAD_LINES wait.
 * A failure to read (the client went away) is thrown to whoever asks once the
 * lines read before it are taken.
 */
export function bodyLines(body: AsyncIterable<Buffer>): LineSource {
  const splitter = new NdjsonLineSplitter(MAX_STREAM_LINE_BYTES);
  const chunks = body[Symbol.asyncIterator]();
  let waiting: BodyLine[] = [];
  let at = 0;
  let ended = false;
  let failure: { error: unknown } | null = null;
  let reading: Promise<void> | null = null;
  const readAhead = (): void => {
    if (reading !== null || ended || failure !== null || waiting.length - at >= READ_AHEAD_LINES) return;
    reading = chunks.next().then(
      (next) => {
        reading = null;
        if (at > 0) {
          waiting = waiting.slice(at);
          at = 0;
        }
        if (next.done) {
          splitter.end(waiting);
          ended = true;
        } else {
          splitter.push(next.value, waiting);
          readAhead();
        }
      },
      (error: unknown) => {
        reading = null;
        failure = { error };
      },
    );
  };
  return {
    take(max) {
      if (failure !== null && at === waiting.length) throw failure.error;
      const taken = waiting.slice(at, at + max);
      at += taken.length;
      readAhead();
      return taken;
    },
    async arrival() {
      for (;;) {
        if (at < waiting.length) return true;
        if (failure !== null) throw failure.error;
        if (ended) return false;
        readAhead();
        await reading;
      }
    },
  };
}

/**
 * Lines of text (each ending with its newline, so no line ends inside a
 * surrogate pair) as UTF-8, each encoded on its own into one buffer. A
 * group's answers joined into one string make a rope of thousands of pieces,
 * and V8 flattening it before encoding took ten times what the encoding did:
 * about 6 µs a line against 0.6 for 128 answers of 1.7 KB
 * (docs/performance.md, 2026-12-06, session 10).
 */
export function encodeLines(texts: readonly string[]): Uint8Array {
  let units = 0;
  for (const text of texts) units += text.length;
  // A UTF-16 unit takes one byte or more, so the texts' length is what they take when they are ASCII, as answers
  // nearly always are; a line that might not fit is measured, and what does not fit goes on in another buffer.
  const chunks: Buffer[] = [];
  let out = Buffer.allocUnsafeSlow(units);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i] as string;
    units -= text.length;
    if (text.length * 3 > out.length - at) {
      const bytes = Buffer.byteLength(text);
      if (bytes > out.length - at) {
        chunks.push(out.subarray(0, at));
        // What is left, counted at its best: the rest of this buffer is measured again as it is used.
        out = Buffer.allocUnsafeSlow(bytes + units);
        at = 0;
      }
    }
    at += out.write(text, at);
  }
  if (chunks.length === 0) return out.subarray(0, at);
  chunks.push(out.subarray(0, at));
  return Buffer.concat(chunks);
}

/** A line's answer: its decision, or the problem in its place. */
export type LineAnswer = { line: number; decision: Decision } | { line: number; problem: Problem };

/**
 * Decides a stream's lines, given as they come, a group at a time; each
 * group's answers in order. What the stream route answers, and what
 * `nextbest offers` decides in local mode (src/cli/offers-worker.ts), so the
 * two decide alike. An unexpected failure before the first answer is thrown
 * (the request fails); after it, each line of the failed group answers a 500
 * problem (the failure logged once) and the stream goes on.
 */
export function lineDecider(deps: ResolvedDeps, snapshot: RulesetSnapshot): (source: LineSource) => AsyncGenerator<LineAnswer[]> {
  let answered = false;
  return async function* (source) {
    // Each group's profiles are asked for before the group ahead of it is decided, so a store that reads elsewhere
    // (SQLite's reader thread, Redis) reads the next group meanwhile, from the lines that have arrived: a group waits
    // for none that has not. A group read with none under way is small, as nothing is decided while it is waited for.
    let next: PreparedGroup | null = null;
    for (;;) {
      let group = next;
      if (group === null) {
        let lines = source.take(FIRST_GROUP_SIZE);
        if (lines.length === 0) {
          if (!(await source.arrival())) return;
          lines = source.take(FIRST_GROUP_SIZE);
        }
        group = prepareGroup(deps, lines);
      }
      const ahead = source.take(STREAM_GROUP_SIZE);
      next = ahead.length > 0 ? prepareGroup(deps, ahead) : null;
      let answers: LineAnswer[];
      try {
        answers = await decideGroup(deps, snapshot, group);
      } catch (err) {
        if (!answered) throw err;
        deps.logger.error('decision stream: a group of lines failed', { err, firstLine: group.parsed[0]?.line, lines: group.parsed.length });
        const { problem } = toProblem(err);
        answers = group.parsed.map((entry) => ({ line: entry.line, problem }));
      }
      answered = true;
      yield answers;
    }
  };
}

type ParsedLine = { line: number; request: DecisionRequest } | { line: number; problem: Problem };

/** A group's lines parsed, and the read of their profiles under way. */
interface PreparedGroup {
  parsed: ParsedLine[];
  profiles: Promise<Map<string, DecisionProfile> | DegradedReason | null>;
}

function prepareGroup(deps: ResolvedDeps, group: readonly BodyLine[]): PreparedGroup {
  const parsed = group.map(parseLine);
  const ids = new Set<string>();
  for (const entry of parsed) if ('request' in entry) ids.add(entry.request.customerId);
  // Each customer of a send is read once: a cache in front answers what it holds but keeps none of them (it would
  // only push the hot profiles out, and the churn grew the heap by over 100 MiB a million lines).
  const profiles = ids.size > 0 ? readProfiles(deps, [...ids], { cacheMisses: false }) : Promise.resolve(null);
  // Awaited when the group is decided; until then a failure must not count as unhandled (the client may go first).
  profiles.catch(() => undefined);
  return { parsed, profiles };
}

async function decideGroup(deps: ResolvedDeps, snapshot: RulesetSnapshot, group: PreparedGroup): Promise<LineAnswer[]> {
  const loaded = await group.profiles;
  const profiles = typeof loaded === 'string' ? null : loaded;
  const degraded = typeof loaded === 'string' ? loaded : undefined;
  const now = deps.now();
  const answers: LineAnswer[] = [];
  for (const entry of group.parsed) {
    if ('problem' in entry) {
      answers.push(entry);
      continue;
    }
    const profile = profiles?.get(entry.request.customerId) ?? null;
    try {
      answers.push({ line: entry.line, decision: await decideCounted(deps, snapshot, profile, entry.request, now, degraded) });
    } catch (err) {
      if (!(err instanceof UnknownPlacementsError)) throw err;
      answers.push({ line: entry.line, problem: toProblem(err).problem });
    }
  }
  return answers;
}

function parseLine(entry: BodyLine): ParsedLine {
  const { line } = entry;
  if ('unreadable' in entry) {
    const problem: Problem =
      entry.unreadable === 'too-large'
        ? { type: PROBLEM_TYPES.tooLarge, title: 'Line too large', status: 413, detail: `line ${line} is longer than ${MAX_STREAM_LINE_BYTES} bytes` }
        : { type: PROBLEM_TYPES.malformedJson, title: 'Malformed JSON', status: 400, detail: `line ${line} is not valid UTF-8` };
    return { line, problem };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(entry.text);
  } catch (err) {
    const detail = `line ${line} is not valid JSON: ${(err as Error).message}`;
    return { line, problem: { type: PROBLEM_TYPES.malformedJson, title: 'Malformed JSON', status: 400, detail } };
  }
  try {
    checkRawJson(raw, '$');
    return { line, request: toDecisionRequest(raw) };
  } catch (err) {
    return { line, problem: toProblem(err).problem };
  }
}

/** A problem as the stream's line answering line `line`. */
export function problemLine(problem: Problem, line: number): string {
  return `${JSON.stringify({ ...problem, line })}\n`;
}

const itemFieldsBySnapshot = new WeakMap<RulesetSnapshot, string>();

/** The header naming the catalog item fields, in order of first appearance; made once per snapshot. */
function itemFieldsHeader(snapshot: RulesetSnapshot): string {
  let header = itemFieldsBySnapshot.get(snapshot);
  if (header === undefined) {
    header = catalogItemFields(snapshot).map(encodeURIComponent).join(',');
    itemFieldsBySnapshot.set(snapshot, header);
  }
  return header;
}

/** Every field of the catalog's items other than `id` and `caps`, in order of first appearance in catalog.json. */
export function catalogItemFields(snapshot: RulesetSnapshot): string[] {
  const fields = new Set<string>();
  for (const item of snapshot.catalog.values()) {
    for (const key of Object.keys(item.fields)) if (key !== 'id' && key !== 'caps') fields.add(key);
  }
  return [...fields];
}
