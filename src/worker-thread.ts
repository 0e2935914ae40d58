/**
 * Worker threads running one of the service's own modules, whether it runs
 * built (dist/, JavaScript) or from src/ under tsx or vitest (TypeScript). A
 * TypeScript worker needs tsx's loader (a dev dependency) registered in its
 * own thread first: hooks and --import flags do not carry over into a worker
 * on every Node version.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** The module `name` (no extension) beside the module at `base` (its import.meta.url), in the same language. */
export function moduleBeside(base: string, name: string): URL {
  return new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
}

export function startModuleWorker(url: URL, options: WorkerOptions = {}): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`, { ...options, eval: true });
}
