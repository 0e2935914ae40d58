import { afterEach, describe, expect, it } from 'vitest';
import { assertRedisBinaries } from '../redis-binaries.js';

describe('assertRedisBinaries', () => {
  const path = process.env.PATH;
  afterEach(() => {
    process.env.PATH = path;
  });

  it('names what to install when redis-server and redis-cli are not on the PATH', () => {
    process.env.PATH = '/nonexistent';
    expect(() => assertRedisBinaries()).toThrow(/needs redis-server and redis-cli on the PATH.*apt-get install redis-server redis-tools/);
  });
});
