import { readFileSync } from 'node:fs';

let version: string | undefined;

/** The package's version, from the package.json two folders up (src/… or dist/… run alike). */
export function packageVersion(): string {
  if (version === undefined) {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    version = typeof manifest.version === 'string' ? manifest.version : '0.0.0';
  }
  return version;
}
