/**
 * The progress file of an offers run (`<out>.progress`), which is what makes
 * `--resume` possible. Its first line says what the run is (input, output,
 * placements, format, columns), so a resume with other arguments is refused;
 * each line after it is a checkpoint written once everything before it had
 * reached the files: how many input recipients are done and how long the
 * output and the errors file were then, both at a recipient boundary. A resume
 * cuts both files back to the last checkpoint (rows of a recipient cut short
 * go, to be written again whole) and skips that many recipients of the input.
 * A checkpoint torn by a crash is an unfinished last line, and is ignored.
 */
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';

export interface RunDescription {
  in: string;
  out: string;
  format: string;
  placements: readonly string[];
  errors: string | null;
  /** The CSV's columns, once known. */
  columns: readonly string[] | null;
}

export interface Checkpoint {
  recipients: number;
  outBytes: number;
  errorBytes: number;
}

export interface ProgressFile {
  readonly path: string;
  /** Starts the file afresh for a new run. */
  begin(run: RunDescription): Promise<void>;
  checkpoint(at: Checkpoint): Promise<void>;
  /** The run finished: nothing is left to resume. */
  remove(): Promise<void>;
}

export function progressFile(outPath: string): ProgressFile {
  const path = `${outPath}.progress`;
  return {
    path,
    begin: (run) => writeFile(path, `${JSON.stringify({ run })}\n`),
    checkpoint: (at) => appendFile(path, `${JSON.stringify(at)}\n`),
    remove: () => rm(path, { force: true }),
  };
}

/** The run and its last checkpoint, or null when there is no progress file. */
export async function readProgress(outPath: string): Promise<{ run: RunDescription; last: Checkpoint } | null> {
  let text: string;
  try {
    text = await readFile(`${outPath}.progress`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  // Only lines ended by a line break count: the last one may have been cut by a crash.
  const lines = text.split('\n').slice(0, -1);
  const head = parse(lines[0]) as { run?: RunDescription } | null;
  if (!head?.run) throw new Error(`${outPath}.progress is not the progress file of an offers run`);
  let last: Checkpoint = { recipients: 0, outBytes: 0, errorBytes: 0 };
  for (const line of lines.slice(1)) {
    const at = parse(line) as Checkpoint | null;
    if (at && Number.isInteger(at.recipients) && Number.isInteger(at.outBytes) && Number.isInteger(at.errorBytes)) last = at;
  }
  return { run: head.run, last };
}

function parse(line: string | undefined): unknown {
  if (line === undefined) return null;
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return null;
  }
}
