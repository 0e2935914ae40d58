import { spawnSync } from 'node:child_process';

/**
 * Some tests start Redis servers of their own (a cluster, a server they stop
 * and restart), even when a Redis already answers on 6379. Without the binaries
 * they would fail with a bare `spawn redis-server ENOENT`; this says what to install.
 */
export function assertRedisBinaries(): void {
  const missing = ['redis-server', 'redis-cli'].filter((tool) => spawnSync(tool, ['--version']).error);
  if (missing.length > 0) {
    throw new Error(
      `this test starts Redis servers of its own and needs ${missing.join(' and ')} on the PATH. ` +
        'Install them (Debian/Ubuntu: apt-get install redis-server redis-tools); .ci/run does this in CI.',
    );
  }
}
