/**
 * Section (d): the profile cache's memory, measured by load/memory.ts
 * (`measureCacheMemory({ profiles, touchpointsPerProfile })`). It runs in a
 * child process of its own with --expose-gc (memory-runner.ts), so the
 * benchmark's own heap does not count and garbage can be collected before
 * each reading.
 */
import { spawn } from 'node:child_process';
import type { CacheMemoryResult } from '../memory.js';

/** The line prefix memory-runner.ts prints its result after. */
export const RESULT_PREFIX = 'BENCH_MEMORY_RESULT ';

export type MemoryOutcome = { status: 'measured'; result: CacheMemoryResult } | { status: 'failed'; error: string };

export interface MemoryOptions {
  profiles: number;
  touchpointsPerProfile: number;
  /** The repository root. */
  root: string;
  timeoutMs?: number;
}

export async function runMemoryMeasurement(options: MemoryOptions): Promise<MemoryOutcome> {
  return new Promise<MemoryOutcome>((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'load/bench/memory-runner.ts'], {
      cwd: options.root,
      env: { ...process.env, MEMORY_PROFILES: String(options.profiles), MEMORY_TOUCHPOINTS: String(options.touchpointsPerProfile) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10 * 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line) {
        resolve({ status: 'measured', result: JSON.parse(line.slice(RESULT_PREFIX.length)) as CacheMemoryResult });
      } else {
        resolve({ status: 'failed', error: `memory measurement exited (${signal ?? `code ${code}`})\n${stderr}` });
      }
    });
  });
}
