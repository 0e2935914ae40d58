/**
 * Section `decision-id` of `npm run bench`: what signing a decision id adds to
 * every decision, and what verifying one costs an outcome, in process. The
 * decision is the realistic two-placement answer (three items, two rules).
 */
import { createDecisionSigner, createKeyring, generateDecisionKey } from '../../src/outcomes/decision-id.js';
import { duration, heading, table } from './report.js';

const PLACEMENTS = {
  'home-hero': { items: [{ id: 'hero-cart-reminder', rule: 'cart-abandoners' }] },
  'email-offers': {
    items: [
      { id: 'offer-winback-20', rule: 'lapsed-customers' },
      { id: 'offer-free-shipping', rule: null },
    ],
  },
};

export interface DecisionIdBenchResults {
  signMicros: number;
  verifyMicros: number;
  idLength: number;
}

export function decisionIdSection(out: (line?: string) => void, iterations = 200_000): DecisionIdBenchResults {
  const signer = createDecisionSigner(createKeyring([generateDecisionKey()]));
  const now = Date.now();
  let last = '';
  // Warm-up, so the JIT has compiled both paths before they are timed.
  for (let i = 0; i < 20_000; i++) last = signer.sign(`c-${i}`, PLACEMENTS, now);
  for (let i = 0; i < 20_000; i++) signer.verify(last, now);
  let start = performance.now();
  for (let i = 0; i < iterations; i++) last = signer.sign(`c-${i % 1000}`, PLACEMENTS, now);
  const signMs = (performance.now() - start) / iterations;
  start = performance.now();
  let ok = 0;
  for (let i = 0; i < iterations; i++) if (signer.verify(last, now).ok) ok++;
  const verifyMs = (performance.now() - start) / iterations;
  if (ok !== iterations) throw new Error('a signed id did not verify');
  out(heading('Decision ids (in process)'));
  out(`HMAC-SHA256 over the compact encoding of a two-placement, three-item decision; ${iterations.toLocaleString('en-US')} of each, after a warm-up.`);
  out();
  out(
    table(
      ['Operation', 'per call', 'id length'],
      [
        ['sign (every decision)', duration(signMs), `${last.length} characters`],
        ['verify (every outcome)', duration(verifyMs), ''],
      ],
    ),
  );
  return { signMicros: signMs * 1000, verifyMicros: verifyMs * 1000, idLength: last.length };
}
