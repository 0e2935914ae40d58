/**
 * The servers under test run as child processes, so they do not share an
 * event loop with the load generator. Every child started here is recorded
 * and killed by `stopAll`, which the benchmark calls in `finally` and on
 * SIGINT/SIGTERM; an exiting parent also kills whatever is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface ChildServer {
  url: string;
  process: ChildProcess;
  /** The last lines the child wrote to stderr, for error messages. */
  stderrTail(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

export interface StartOptions {
  name: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Reads the server's URL from one of its stdout lines; undefined for other lines. */
  urlFromLine: (line: string) => string | undefined;
  timeoutMs?: number;
}

/** The service's URL from its "nextbest listening" log line; undefined for its other lines. */
export function serviceUrlFromLine(line: string): string | undefined {
  try {
    const parsed = JSON.parse(line) as { msg?: string; url?: string };
    return parsed.msg === 'nextbest listening' ? parsed.url : undefined;
  } catch {
    return undefined;
  }
}

/** Starts `node <args>` and resolves once it prints the line that gives its URL. */
export function startChild(options: StartOptions): Promise<ChildServer> {
  const child = spawn(process.execPath, options.args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(...chunk.split('\n').filter(Boolean));
    if (stderr.length > 40) stderr.splice(0, stderr.length - 40);
  });
  const tail = (): string => stderr.join('\n');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => running.delete(child));

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killTimer);
  };

  return new Promise<ChildServer>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${options.name} did not start within ${options.timeoutMs ?? 30_000} ms\n${tail()}`));
    }, options.timeoutMs ?? 30_000);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    let url: string | undefined;
    lines.on('line', (line) => {
      if (url !== undefined) return;
      url = options.urlFromLine(line);
      if (url !== undefined) {
        clearTimeout(timer);
        // From here on stdout (the request log) is drained without being split into lines: this
        // process also runs the load generator, and a line handler per request would take its CPU.
        lines.close();
        child.stdout?.resume();
        resolve({ url, process: child, stderrTail: tail, stop });
      }
    });
    child.once('exit', (code, signal) => {
      if (url !== undefined) return;
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${signal ?? `code ${code}`}) before it was ready\n${tail()}`));
    });
  });
}

/** Kills every child still running and waits for them to exit. */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 3000).unref();
        }),
    ),
  );
}

/** The synchronous last resort on process exit: signal every child still running. */
export function killAllNow(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/**
 * CPU time (user + system, all threads) a process has used so far, in
 * milliseconds, from /proc; undefined where /proc is not there. Divided by
 * the requests served, it is the server's cost per request, which unlike
 * throughput does not depend on how much CPU the load generator took.
 */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/** USER_HZ, 100 on every Linux platform Node supports. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Folders a load script made, removed however it ends (a signal skips `finally` blocks). */
export const tempDirs = new Set<string>();

/**
 * Runs a load script's main: its child servers are stopped and its temporary
 * folders removed on success, failure, SIGINT or SIGTERM.
 */
export async function runLoadScript(name: string, main: () => Promise<void>): Promise<void> {
  process.on('exit', () => {
    killAllNow();
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`[${name}] ${signal}: stopping the servers\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
  try {
    await main();
  } catch (err) {
    process.stderr.write(`${name} failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  } finally {
    await stopAll();
  }
}
