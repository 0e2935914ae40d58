/**
 * Section `decision-id` of `npm run bench`: what signing a decision id adds to
 * every decision, and what verifying one costs an outcome, in process. The
 * decision is the realistic two-placement answer (three items, two rules),
 * signed as the service signs once its rules' names are numbered (the usual
 * case), and with every name in full (names not numbered yet, or a store that
 * was down since start).
 */
import { createDecisionNames } from '../../src/outcomes/decision-names.js';
import { createDecisionSigner, createKeyring, generateDecisionKey, type DecisionSigner } from '../../src/outcomes/decision-id.js';
import { createMemoryStore } from '../../src/profiles/memory-store.js';
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
const NAMES = ['home-hero', 'email-offers', 'hero-cart-reminder', 'offer-winback-20', 'offer-free-shipping', 'cart-abandoners', 'lapsed-customers'];

export interface DecisionIdBenchResults {
  /** Names numbered: what the service signs once its rules are loaded. */
  signMicros: number;
  verifyMicros: number;
  idLength: number;
  /** Every name in full. */
  literalSignMicros: number;
  literalVerifyMicros: number;
  literalIdLength: number;
}

interface Timing {
  signMicros: number;
  verifyMicros: number;
  idLength: number;
}

async function time(signer: DecisionSigner, iterations: number): Promise<Timing> {
  const now = Date.now();
  let last = '';
  // Warm-up, so the JIT has compiled both paths before they are timed.
  for (let i = 0; i < 20_000; i++) last = signer.sign(`c-${i}`, PLACEMENTS, now);
  for (let i = 0; i < 20_000; i++) await signer.verify(last, now);
  let start = performance.now();
  for (let i = 0; i < iterations; i++) last = signer.sign(`c-${i % 1000}`, PLACEMENTS, now);
  const signMs = (performance.now() - start) / iterations;
  start = performance.now();
  let ok = 0;
  for (let i = 0; i < iterations; i++) if ((await signer.verify(last, now)).ok) ok++;
  const verifyMs = (performance.now() - start) / iterations;
  if (ok !== iterations) throw new Error('a signed id did not verify');
  return { signMicros: signMs * 1000, verifyMicros: verifyMs * 1000, idLength: last.length };
}

export async function decisionIdSection(out: (line?: string) => void, iterations = 200_000): Promise<DecisionIdBenchResults> {
  const keyring = createKeyring([generateDecisionKey()]);
  const names = createDecisionNames({ store: createMemoryStore({ retentionDays: 30, maxTouchpointsPerProfile: 100 }) });
  await names.share(NAMES);
  const numbered = await time(createDecisionSigner(keyring, { names }), iterations);
  const literal = await time(createDecisionSigner(keyring), iterations);
  out(heading('Decision ids (in process)'));
  out(
    `Keyed BLAKE2s-128 (format 3) over the compact encoding of a two-placement, three-item decision; ${iterations.toLocaleString('en-US')} of each, after a warm-up. ` +
      'Names numbered: placement names, item ids and rule names by their number in the shared name list (the usual case); in full: none numbered yet.',
  );
  out();
  out(
    table(
      ['Operation', 'names numbered', 'names in full'],
      [
        ['sign (every decision)', duration(numbered.signMicros / 1000), duration(literal.signMicros / 1000)],
        ['verify (every outcome)', duration(numbered.verifyMicros / 1000), duration(literal.verifyMicros / 1000)],
        ['id length', `${numbered.idLength} characters`, `${literal.idLength} characters`],
      ],
    ),
  );
  return {
    ...numbered,
    literalSignMicros: literal.signMicros,
    literalVerifyMicros: literal.verifyMicros,
    literalIdLength: literal.idLength,
  };
}
