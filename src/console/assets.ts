/**
 * The console's files: its own client (src/console/client, plain ES modules,
 * no build step) and the libraries it runs on, read from the installed
 * packages (preact, its hooks, htm; chart.js). A fixed list, so no request
 * can name another file; each compressed once and served with an ETag.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compressible, type Compressed } from '../http/compressed.js';

const JS = 'text/javascript; charset=utf-8';

/**
 * The client's own folder: `../../src/console/client` from this file is the
 * same folder whether it runs from src/ (tsx) or dist/ (the build), so the
 * client needs no copying step; package.json ships it.
 */
const CLIENT_DIR = fileURLToPath(new URL('../../src/console/client/', import.meta.url));

const require = createRequire(import.meta.url);

function packageFile(specifier: string, relative = ''): string {
  return relative === '' ? require.resolve(specifier) : path.join(path.dirname(require.resolve(specifier)), relative);
}

/** Served name → where it is read from, and its type. */
const SOURCES: Readonly<Record<string, { file: () => string; type: string }>> = {
  'console.js': { file: () => path.join(CLIENT_DIR, 'console.js'), type: JS },
  'console.css': { file: () => path.join(CLIENT_DIR, 'console.css'), type: 'text/css; charset=utf-8' },
  'preact.mjs': { file: () => packageFile('preact'), type: JS },
  'hooks.mjs': { file: () => packageFile('preact/hooks'), type: JS },
  'htm.mjs': { file: () => packageFile('htm', 'htm.module.js'), type: JS },
  'chart.umd.min.js': { file: () => packageFile('chart.js', 'chart.umd.min.js'), type: JS },
};

export interface ConsoleAsset {
  body: Compressed;
  type: string;
  etag: string;
}

let loaded: ReadonlyMap<string, ConsoleAsset> | undefined;

export function isConsoleAsset(name: string): boolean {
  return Object.hasOwn(SOURCES, name);
}

/** Reads every asset on first use: a missing package fails that request, not start-up. */
export function consoleAssets(): ReadonlyMap<string, ConsoleAsset> {
  if (loaded) return loaded;
  const assets = new Map<string, ConsoleAsset>();
  for (const [name, source] of Object.entries(SOURCES)) {
    const bytes = readFileSync(source.file());
    const body = new Uint8Array(new ArrayBuffer(bytes.byteLength));
    body.set(bytes);
    assets.set(name, { body: compressible(body), type: source.type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
  }
  loaded = assets;
  return assets;
}
