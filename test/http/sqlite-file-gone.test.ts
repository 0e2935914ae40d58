/**
 * `rm profiles.db*` under the running service: SQLite keeps writing into the
 * deleted files, which a restart will not find. The service must stop
 * acknowledging writes and stop saying it is ready.
 */
import fs from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createHarness, expectProblem, removeTempDirs, type Harness } from './harness.js';

describe('the SQLite file deleted under the running service', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  afterAll(removeTempDirs);

  it('answers 503 to writes and to /readyz, never 202', async () => {
    h = await createHarness({ store: 'sqlite' });
    const file = h.sqlitePath as string;
    expect((await h.request('POST', '/v1/customers/c-1/touchpoints', { type: 'page_view', channel: 'web' })).status).toBe(202);
    expect((await h.request('GET', '/readyz')).status).toBe(200);

    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });

    await expectProblem(await h.request('POST', '/v1/customers/c-1/touchpoints', { type: 'page_view', channel: 'web' }), 503);
    await expectProblem(await h.request('PATCH', '/v1/customers/c-1', { attributes: { tier: 'gold' } }), 503);
    const ready = await expectProblem(await h.request('GET', '/readyz'), 503);
    expect(ready.checks).toMatchObject({ store: expect.stringMatching(/profiles\.db was deleted/) });
  });
});
