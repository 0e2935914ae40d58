import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../logger.js';

export interface RulesWatcher {
  close(): void;
}

export interface RulesWatcherOptions {
  dir: string;
  /** Called once a burst of changes has settled. */
  onChange: () => void;
  logger: Logger;
  debounceMs?: number;
}

/**
 * Watches the rules folder and everything below it, and calls onChange once
 * changes settle, so an editor's save (often several events) gives one reload.
 */
export function watchRulesDir(options: RulesWatcherOptions): RulesWatcher {
  const debounceMs = options.debounceMs ?? 150;
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher | null = null;
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      options.onChange();
    }, debounceMs);
  };
  try {
    watcher = watch(options.dir, { recursive: true, persistent: false }, schedule);
    watcher.on('error', (err) => options.logger.warn('rules watcher error', { error: err.message }));
  } catch (err) {
    options.logger.warn('cannot watch the rules folder; changes need a restart', { dir: options.dir, error: (err as Error).message });
  }
  return {
    close(): void {
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}
