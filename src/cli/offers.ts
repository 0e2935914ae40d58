/**
 * `nextbest offers`: the decisions for a list of recipients, for an email
 * send (contract section 12). Recipients are read (input), sent in batches to
 * be decided (transport: decision workers in this process, or a running
 * service's decision stream with --url) and the answers written as they come
 * (output), each part waiting for the next, so a list of any length runs in
 * flat memory. This thread reads and writes; in local mode the deciding and
 * the output's text are the workers'.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatOfName, InputError, readRecipients, type InputFormat, type Recipient, type RowFailure } from './offers-input.js';
import { fileWriter, outputEncoder, streamWriter, type CountingWriter, type OutputFormat } from './offers-output.js';
import { progressFile, readProgress, type Checkpoint, type RunDescription } from './offers-resume.js';
import { localTransport, OffersError, remoteTransport, type Transport } from './offers-transport.js';
import { checkRulesOnce } from './offers-rules.js';
import { createProgress, formatCount, type Progress } from './progress.js';

export const OFFERS_USAGE = `usage: nextbest offers --placement P [--placement Q ...] --in FILE --out FILE [options]

Decides the given placements for every recipient of a list, for an email send.

  -p, --placement P   a placement to decide; repeat for more (CSV input needs at least one;
                      an NDJSON request that names its own placements keeps them)
  -i, --in FILE       the recipients: CSV with a customerId column (every other column goes
                      into context) or NDJSON decision requests; - for standard input
  -o, --out FILE      the offers: .csv (one row per served item) or .ndjson (the decisions);
                      - for standard output (NDJSON unless --format csv)
      --format F      csv or ndjson, whatever the --out name says
      --errors FILE   write the recipients that failed there, as NDJSON
                      {line, customerId, status, title, detail}; without it they go to stderr
      --resume        continue an interrupted run with the same arguments: rows already
                      written stay, the rest are written (from FILE.progress)
      --url URL       decide through a running service's POST /v1/decisions/stream instead
                      of reading the rules and the store here
      --api-key KEY   the key for --url (scope decide); default $NEXTBEST_API_KEY
  -h, --help          show this help

Without --url the rules and the store are those \`nextbest serve\` would use (RULES_DIR,
STORE, SQLITE_PATH, REDIS_URL, ...); SQLite can be read while the service runs.
Exit status: 0 when every recipient was decided, 1 when any failed or the run stopped,
2 for a usage error. A progress bar shows on a terminal, one summary line otherwise.
`;

interface OffersOptions {
  placements: string[];
  in: string;
  out: string;
  format: OutputFormat;
  inputFormat: InputFormat | null;
  errors: string | null;
  resume: boolean;
  url: string | null;
  apiKey: string | undefined;
}

/** Checkpoints come at least this often, and whenever this much output is waiting. */
const CHECKPOINT_MS = 1000;
const FLUSH_CHARS = 1 << 20;
/** Request lines sent together. */
const REQUEST_CHUNK_CHARS = 64 * 1024;
const STDERR_FAILURES_SHOWN = 20;

class UsageError extends Error {}

export async function runOffersCommand(argv: string[]): Promise<number> {
  let options: OffersOptions;
  try {
    const parsed = parseOptions(argv);
    if (parsed === 'help') {
      process.stdout.write(OFFERS_USAGE);
      return 0;
    }
    options = parsed;
  } catch (err) {
    process.stderr.write(`nextbest offers: ${(err as Error).message}\n\n${OFFERS_USAGE}`);
    return 2;
  }
  try {
    return await runOffers(options);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`nextbest offers: ${err.message}\n`);
      return 2;
    }
    if (err instanceof OffersError || err instanceof InputError) {
      process.stderr.write(`nextbest offers: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function parseOptions(argv: string[]): OffersOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      placement: { type: 'string', short: 'p', multiple: true },
      in: { type: 'string', short: 'i' },
      out: { type: 'string', short: 'o' },
      format: { type: 'string' },
      errors: { type: 'string' },
      resume: { type: 'boolean' },
      url: { type: 'string' },
      'api-key': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.in === undefined) throw new Error('--in is required (- for standard input)');
  if (values.out === undefined) throw new Error('--out is required (- for standard output)');
  const placements = values.placement ?? [];
  for (const placement of placements) if (!/^[a-z][a-z0-9_.-]{0,63}$/.test(placement)) throw new Error(`--placement ${JSON.stringify(placement)} is not a placement name`);
  const named = values.out === '-' ? null : formatOfName(values.out);
  const format = values.format ?? named ?? (values.out === '-' ? 'ndjson' : null);
  if (format !== 'csv' && format !== 'ndjson') {
    throw new Error(values.format ? `--format must be csv or ndjson (got ${JSON.stringify(values.format)})` : `--out must end in .csv or .ndjson (or give --format)`);
  }
  const inputFormat = values.in === '-' ? null : formatOfName(values.in);
  if (inputFormat === 'csv' && placements.length === 0) throw new Error('--placement is required for CSV input');
  if (values.resume && values.out === '-') throw new Error('--resume needs an --out file: standard output cannot be resumed');
  if (values.errors !== undefined && (values.errors === values.out || values.errors === '-')) throw new Error('--errors must be a file of its own');
  return {
    placements,
    in: values.in,
    out: values.out,
    format,
    inputFormat,
    errors: values.errors ?? null,
    resume: values.resume ?? false,
    url: values.url ?? null,
    apiKey: values['api-key'] ?? process.env.NEXTBEST_API_KEY,
  };
}

/** What the run has done so far. */
interface Tally {
  recipients: number;
  decided: number;
  failed: number;
  rows: number;
}

async function runOffers(options: OffersOptions): Promise<number> {
  const started = performance.now();
  const progress = progressFile(options.out);
  const resumeFrom = options.resume ? await resumePoint(options) : null;
  const transport: Transport = options.url ? remoteTransport(options.url, options.apiKey) : await localTransport(process.env, { rules: checkRulesOnce(process.env) });
  const bar = progressBarWanted();
  const meter = createProgress({ sink: process.stderr, bar, unit: 'recipients' });
  if (bar && options.in !== '-') void countRecipients(options).then((total) => total !== null && meter.setTotal(total));

  const tally: Tally = { recipients: resumeFrom?.recipients ?? 0, decided: 0, failed: 0, rows: 0 };
  const pending: Recipient[] = [];
  let pendingHead = 0;
  let inputFailure: unknown = null;
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // The request lines, read from the input only as fast as the stream takes them.
  const requests = async function* (): AsyncGenerator<string> {
    try {
      let skip = resumeFrom?.recipients ?? 0;
      let text = '';
      const input = options.in === '-' ? process.stdin : createReadStream(options.in);
      for await (const recipient of readRecipients(input as AsyncIterable<Buffer>, options.inputFormat, options.placements)) {
        if (skip > 0) {
          skip--;
          continue;
        }
        pending.push(recipient);
        if (recipient.request === undefined) continue;
        text += recipient.request;
        if (text.length >= REQUEST_CHUNK_CHARS) {
          yield text;
          text = '';
        }
        if (interrupted) break;
      }
      if (text !== '') yield text;
    } catch (err) {
      inputFailure = err;
      throw err;
    }
  };

  let output: CountingWriter | null = null;
  let errorsOut: CountingWriter | null = null;
  let shownFailures = 0;
  let lastCheckpoint = performance.now();
  const checkpoint = async (): Promise<void> => {
    await output?.flush();
    await errorsOut?.flush();
    if (output && options.out !== '-') await progress.checkpoint({ recipients: tally.recipients, outBytes: output.bytes, errorBytes: errorsOut?.bytes ?? 0 });
    lastCheckpoint = performance.now();
  };
  const fail = (recipient: Recipient, failure: RowFailure): void => {
    tally.failed++;
    const entry = JSON.stringify({ line: recipient.line, customerId: recipient.customerId, status: failure.status, title: failure.title, detail: failure.detail });
    if (errorsOut) errorsOut.write(`${entry}\n`);
    else if (shownFailures++ < STDERR_FAILURES_SHOWN) process.stderr.write(`${meterClear(bar)}failed: ${entry}\n`);
  };
  /** Recipients that failed before being sent, up to the next one that was. */
  const settleUnsent = (): Recipient | undefined => {
    for (;;) {
      const next = pending[pendingHead];
      if (next === undefined) return undefined;
      pendingHead++;
      if (next.request !== undefined) return next;
      fail(next, next.failure as RowFailure);
      tally.recipients++;
    }
  };

  try {
    const stream = await transport.open(requests(), options.format);
    const columns = options.format === 'csv' ? stream.itemFields : null;
    if (resumeFrom && JSON.stringify(resumeFrom.run.columns) !== JSON.stringify(columns)) {
      throw new OffersError(
        `the catalog's item fields have changed since ${options.out} was begun (${(resumeFrom.run.columns ?? []).join(',')} then, ${(columns ?? []).join(',')} now): its rows would not fit its header; start it again without --resume`,
      );
    }
    const encoder = outputEncoder(options.format, stream.itemFields);
    output = options.out === '-' ? streamWriter(process.stdout) : await fileWriter(options.out, resumeFrom ? resumeFrom.last.outBytes : null);
    if (options.errors) errorsOut = await fileWriter(options.errors, resumeFrom && resumeFrom.run.errors === options.errors ? resumeFrom.last.errorBytes : null);
    if (output.bytes === 0) output.write(encoder.header());
    if (!resumeFrom && options.out !== '-') {
      const run: RunDescription = { in: options.in, out: options.out, format: options.format, placements: options.placements, errors: options.errors, columns };
      await progress.begin(run);
    }
    await checkpoint();

    for await (const batch of stream.answers) {
      let failures = 0;
      for (const rows of batch.rows) {
        const recipient = settleUnsent();
        if (!recipient) throw new OffersError('the service answered more lines than were sent');
        tally.recipients++;
        if (rows < 0) {
          fail(recipient, batch.failures[failures++] as RowFailure);
          continue;
        }
        tally.decided++;
        tally.rows += rows;
      }
      output.write(batch.output);
      meter.update(tally.recipients);
      if (output.pending >= FLUSH_CHARS || performance.now() - lastCheckpoint >= CHECKPOINT_MS) await checkpoint();
      if (interrupted) break;
    }
    if (!interrupted) {
      if (inputFailure) throw inputFailure;
      // Recipients after the last one sent that failed before sending.
      const unanswered = settleUnsent();
      if (unanswered) throw new OffersError(`the answers stopped before line ${unanswered.line} of the input`);
    }
    await checkpoint();
  } catch (err) {
    await checkpoint().catch(() => undefined);
    const cause = inputFailure ?? err;
    if (!(cause instanceof OffersError || cause instanceof InputError)) throw cause;
    meter.finish(`nextbest offers: ${cause.message}`);
    if (output && options.out !== '-') process.stderr.write(`${formatCount(tally.recipients)} recipients done; run again with --resume to continue\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await output?.close();
    await errorsOut?.close();
    await transport.close();
  }

  const seconds = (performance.now() - started) / 1000;
  const done = tally.recipients - (resumeFrom?.recipients ?? 0);
  const what = options.format === 'csv' ? `${formatCount(tally.rows)} rows` : `${formatCount(tally.decided)} decisions`;
  const failed = tally.failed > 0 ? `, ${formatCount(tally.failed)} failed${options.errors ? ` (in ${options.errors})` : ''}` : '';
  const resumed = resumeFrom ? ` (resumed after ${formatCount(resumeFrom.recipients)})` : '';
  if (interrupted) {
    meter.finish(`nextbest offers: interrupted after ${formatCount(tally.recipients)} recipients${resumed}; run again with --resume to continue`);
    return 130;
  }
  await progress.remove();
  meter.finish(
    `nextbest offers: ${formatCount(done)} recipients${resumed} → ${options.out === '-' ? 'standard output' : options.out}: ${what}${failed}; ` +
      `${seconds.toFixed(1)} s, ${formatCount(Math.round(done / Math.max(seconds, 1e-3)))} recipients/s, from ${transport.source}`,
  );
  return tally.failed > 0 ? 1 : 0;
}

/** Where a resumed run starts, after checking it is the same run; null when there is nothing to resume (a fresh start). */
async function resumePoint(options: OffersOptions): Promise<{ run: RunDescription; last: Checkpoint; recipients: number } | null> {
  let found: Awaited<ReturnType<typeof readProgress>>;
  try {
    found = await readProgress(options.out);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!found) {
    const exists = await stat(options.out).then(
      () => true,
      () => false,
    );
    if (exists) throw new UsageError(`nothing to resume: ${options.out}.progress is missing (the run that wrote ${options.out} finished, or was not an offers run); remove ${options.out} to start again`);
    return null;
  }
  const { run, last } = found;
  const same = run.in === options.in && run.format === options.format && JSON.stringify(run.placements) === JSON.stringify(options.placements);
  if (!same) {
    throw new UsageError(
      `${options.out} was begun with --in ${run.in} --format ${run.format} ${run.placements.map((p) => `--placement ${p}`).join(' ')}: resume it with the same arguments, or start again without --resume`,
    );
  }
  const size = await stat(options.out).then(
    (s) => s.size,
    () => -1,
  );
  if (size < last.outBytes) throw new UsageError(`${options.out} is shorter than its progress file says (${size} < ${last.outBytes} bytes): start again without --resume`);
  return { run, last, recipients: last.recipients };
}

/** A terminal gets the bar; NEXTBEST_PROGRESS=bar or =summary decides it instead (tests, or a terminal that should not get one). */
function progressBarWanted(): boolean {
  const forced = process.env.NEXTBEST_PROGRESS;
  if (forced === 'bar') return true;
  if (forced === 'summary') return false;
  return process.stderr.isTTY === true;
}

function meterClear(bar: boolean): string {
  return bar ? '\r\x1b[K' : '';
}

/** The number of recipients in the input file, counted on the side for the bar's total. */
async function countRecipients(options: OffersOptions): Promise<number | null> {
  try {
    let count = 0;
    for await (const _ of readRecipients(createReadStream(options.in), options.inputFormat, options.placements)) count++;
    return count;
  } catch {
    return null;
  }
}
