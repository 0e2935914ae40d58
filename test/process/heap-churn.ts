/**
 * A child for heap-growth.test.ts: holds a live heap of about 20 MB, then
 * allocates objects that outlive young collections (a ring of recent ones,
 * as a stream's groups wait on the socket) and prints the most the old
 * generation held, in MB, with limitHeapGrowth(argv[2]) applied first.
 */
import v8 from 'node:v8';
import { limitHeapGrowth } from '../../src/lifecycle.js';

limitHeapGrowth(Number(process.argv[2]));
const live = Array.from({ length: 500_000 }, (_, i) => ({ i, text: `live-${i}` }));
const ring: unknown[] = new Array(50_000);
let most = 0;
for (let i = 0; i < 12_000_000; i++) {
  ring[i % ring.length] = { i, text: `churn-${i}`, list: [i, i + 1] };
  if (i % 10_000 === 0) {
    const old = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'old_space');
    most = Math.max(most, old?.space_used_size ?? 0);
  }
}
process.stdout.write(`${JSON.stringify({ mostOldMb: most / 2 ** 20, live: live.length })}\n`);
