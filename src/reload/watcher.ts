import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../observability/logger.js';
import { isReadableName, isReadSubfolder } from '../ruleset/layout.js';

export interface RulesWatcher {
  close(): void;
}

export interface RulesWatcherOptions {
  dir: string;
  /**
   * Called once a burst of changes has settled. One change may be reported
   * twice (by its events and by the poll): the service passes the registry's
   * reloadIfChanged, which loads only files whose content differs from the
   * last load's.
   */
  onChange: () => void;
  logger: Logger;
  debounceMs?: number;
  /** How often to compare the folder's file sizes and times, in case an event was missed; 0: never. */
  pollMs?: number;
}

/**
 * Watches the rules folder and everything below it, and calls onChange once
 * changes settle, so an editor's save (often several events) gives one reload.
 *
 * Events alone are not enough: a Kubernetes ConfigMap update swaps the
 * "..data" symlink rather than writing the files, some editors and network
 * filesystems produce no event we can see, and a folder replaced as a whole
 * leaves the watch on the old one. A cheap poll of file names, sizes and
 * modification times (resolving symlinks) catches all of these; the watch
 * keeps the common case under a second.
 */
export function watchRulesDir(options: RulesWatcherOptions): RulesWatcher {
  const debounceMs = options.debounceMs ?? 150;
  const pollMs = options.pollMs ?? 2000;
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher | null = null;
  let closed = false;
  let fingerprint: string | null = null;

  const schedule = (): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      options.onChange();
    }, debounceMs);
  };

  const startWatch = (): void => {
    try {
      watcher = watch(options.dir, { recursive: true, persistent: false }, schedule);
      watcher.on('error', (err) => {
        options.logger.warn('rules watcher error; relying on polling until it can watch again', { error: err.message });
        watcher?.close();
        watcher = null;
      });
    } catch (err) {
      watcher = null;
      options.logger.warn('cannot watch the rules folder; polling for changes', { dir: options.dir, error: (err as Error).message });
    }
  };
  startWatch();

  let polling = false;
  const pollOnce = async (): Promise<void> => {
    if (polling || closed) return;
    polling = true;
    try {
      const next = await folderFingerprint(options.dir);
      if (fingerprint !== null && next !== fingerprint) {
        schedule();
        // The folder may have been replaced: watch whatever is there now.
        watcher?.close();
        watcher = null;
      }
      if (!watcher && next !== '') startWatch();
      fingerprint = next;
    } finally {
      polling = false;
    }
  };
  const poll = pollMs > 0 ? setInterval(() => void pollOnce(), pollMs) : null;
  poll?.unref();
  if (poll) void pollOnce();

  return {
    close(): void {
      closed = true;
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      watcher?.close();
    },
  };
}

/** Names, sizes and modification times of every file the loader reads (symlinks followed); '' when the folder is gone. */
export async function folderFingerprint(dir: string): Promise<string> {
  const parts: string[] = [];
  const visit = async (folder: string, prefix: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(folder)).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const info = await stat(join(folder, name)).catch(() => null);
      if (!info) continue;
      if (info.isDirectory()) {
        if (prefix === '' && isReadSubfolder(name)) await visit(join(folder, name), `${name}/`);
      } else if (isReadableName(name)) {
        parts.push(`${prefix}${name}:${info.size}:${info.mtimeMs}:${info.ino}`);
      }
    }
  };
  await visit(dir, '');
  return parts.join('\n');
}
