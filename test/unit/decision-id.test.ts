import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '../../src/domain/errors.js';
import { createBlake2sMac } from '../../src/outcomes/blake2s.js';
import { createDecisionNames, type DecisionNamesOptions } from '../../src/outcomes/decision-names.js';
import { createMemoryStore } from '../../src/profiles/memory-store.js';
import {
  createDecisionSigner,
  FORMAT_VERSION,
  createKeyring,
  decodeSharedKey,
  encodeSharedKey,
  generateDecisionKey,
  MAX_DECISION_AGE_DAYS,
  parseDecisionKeys,
  type DecisionSigner,
} from '../../src/outcomes/decision-id.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
const key = (id: string, secret = `${id}-secret-0123456789`) => ({ id, secret: Buffer.from(secret) });

const placements = {
  'home-hero': { items: [{ id: 'hero-cart', rule: 'cart-abandoners' }, { id: 'hero-default', rule: null }], ranking: 'optimized' },
  'email-offer': { items: [] as Array<{ id: string; rule: string | null }> },
};

/** Every one-character change of the id (to the next letter of the alphabet, or out of it), and one character less or more: each refused. */
async function expectEveryAlterationRefused(signer: DecisionSigner, id: string): Promise<void> {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < id.length; i++) {
    for (const replacement of [alphabet[(alphabet.indexOf(id[i] as string) + 1) % 64], '!']) {
      const altered = id.slice(0, i) + replacement + id.slice(i + 1);
      expect((await signer.verify(altered, NOW)).ok, `position ${i}`).toBe(false);
    }
  }
  expect((await signer.verify(id.slice(0, -1), NOW)).ok).toBe(false);
  expect((await signer.verify(`${id}A`, NOW)).ok).toBe(false);
}

describe('signed decision ids', () => {
  it('ends in keyed BLAKE2s-128 over the payload (format 3), and format 2 ids, ending in HMAC-SHA256 over the same payload, still verify', async () => {
    const k = key('k1');
    const signer = createDecisionSigner(createKeyring([k]));
    const longKey = key('k2', 'a-configured-secret-longer-than-32-bytes-0123456789');
    const longSigner = createDecisionSigner(createKeyring([longKey]));
    for (const customer of ['c-1', 'c-'.repeat(80), 'ü'.repeat(70)]) {
      const bytes = Buffer.from(signer.sign(customer, placements, NOW), 'base64url');
      expect(bytes[0]).toBe(3);
      const body = bytes.subarray(0, bytes.length - 16);
      const blake = new Uint8Array(16);
      createBlake2sMac(k.secret, 16).write(body, body.length, blake, 0, 16);
      expect(bytes.subarray(bytes.length - 16)).toEqual(Buffer.from(blake));
      // The same payload as format 2: the version byte 2, then the first 16 bytes of HMAC-SHA256 (node:crypto's).
      const formatTwo = Buffer.from(body);
      formatTwo[0] = 2;
      const hmac = createHmac('sha256', k.secret).update(formatTwo).digest().subarray(0, 16);
      expect((await signer.verify(Buffer.concat([formatTwo, hmac]).toString('base64url'), NOW)).ok).toBe(true);
      // A format 3 body under an HMAC, or a format 2 body under BLAKE2s, is refused: the version picks the MAC.
      expect(await signer.verify(Buffer.concat([body, createHmac('sha256', k.secret).update(body).digest().subarray(0, 16)]).toString('base64url'), NOW)).toEqual({ ok: false, reason: 'bad-signature' });
      expect(await signer.verify(Buffer.concat([formatTwo, Buffer.from(blake)]).toString('base64url'), NOW)).toEqual({ ok: false, reason: 'bad-signature' });
      // A secret longer than BLAKE2s's 32-byte key is keyed by its SHA-256.
      const long = Buffer.from(longSigner.sign(customer, placements, NOW), 'base64url');
      const longBody = long.subarray(0, long.length - 16);
      const longMac = new Uint8Array(16);
      createBlake2sMac(createHash('sha256').update(longKey.secret).digest(), 16).write(longBody, longBody.length, longMac, 0, 16);
      expect(long.subarray(long.length - 16)).toEqual(Buffer.from(longMac));
    }
  });

  it('round-trips what the decision served, per placement, with rules and arms', async () => {
    const signer = createDecisionSigner(createKeyring([key('k1')]));
    const id = signer.sign('c-42', placements, NOW);
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    const result = await signer.verify(id, NOW + DAY);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.token.customerId).toBe('c-42');
    expect(result.token.keyId).toBe('k1');
    expect(result.token.issuedAt).toBe(NOW / 1000);
    const hero = result.token.placements.get('home-hero');
    expect(hero?.arm).toBe('optimized');
    expect([...(hero?.items ?? [])]).toEqual([
      ['hero-cart', 'cart-abandoners'],
      ['hero-default', null],
    ]);
    expect(result.token.placements.get('email-offer')).toEqual({ arm: null, items: new Map() });
  });

  it('never issues the same id twice', () => {
    const signer = createDecisionSigner(createKeyring([key('k1')]));
    const ids = new Set(Array.from({ length: 1000 }, () => signer.sign('c-1', placements, NOW)));
    expect(ids.size).toBe(1000);
    const other = createDecisionSigner(createKeyring([key('k1')]));
    expect(ids.has(other.sign('c-1', placements, NOW))).toBe(false);
  });

  it('refuses every id altered by one character', async () => {
    const signer = createDecisionSigner(createKeyring([key('k1')]));
    const id = signer.sign('c-42', placements, NOW);
    await expectEveryAlterationRefused(signer, id);
  });

  it('says why it refuses: garbage, a key it does not know, a wrong signature, an old id', async () => {
    const signer = createDecisionSigner(createKeyring([key('k1')]));
    for (const garbage of ['', 'x', '6f1c2a9e-3d7b-4c1e-9a55-0b6d2f7e8c10', 'A'.repeat(500), '\u0000\uffff']) {
      expect(await signer.verify(garbage, NOW)).toEqual({ ok: false, reason: 'malformed' });
    }
    const stranger = createDecisionSigner(createKeyring([key('k9')]));
    expect(await signer.verify(stranger.sign('c-42', placements, NOW), NOW)).toEqual({ ok: false, reason: 'unknown-key' });
    const sameIdOtherSecret = createDecisionSigner(createKeyring([key('k1', 'another-secret-entirely')]));
    expect(await signer.verify(sameIdOtherSecret.sign('c-42', placements, NOW), NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    const id = signer.sign('c-42', placements, NOW);
    expect((await signer.verify(id, NOW + MAX_DECISION_AGE_DAYS * DAY)).ok).toBe(true);
    expect(await signer.verify(id, NOW + MAX_DECISION_AGE_DAYS * DAY + 1000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('never throws on random bytes', async () => {
    const signer = createDecisionSigner(createKeyring([key('k1')]));
    const id = signer.sign('c-42', placements, NOW);
    const bytes = Buffer.from(id, 'base64url');
    for (let n = 0; n < 2000; n++) {
      const copy = Buffer.from(bytes.subarray(0, 1 + (n % bytes.length)));
      copy[n % copy.length] = (n * 37) & 0xff;
      await expect(signer.verify(copy.toString('base64url'), NOW)).resolves.toHaveProperty('ok');
    }
  });

  it('rotates: the first key signs, older keys still verify', async () => {
    const old = createDecisionSigner(createKeyring([key('old')]));
    const oldId = old.sign('c-42', placements, NOW);
    const keyring = createKeyring([key('new'), key('old')]);
    const rotated = createDecisionSigner(keyring);
    expect((await rotated.verify(oldId, NOW)).ok).toBe(true);
    const fresh = rotated.sign('c-42', placements, NOW);
    expect(await rotated.verify(fresh, NOW)).toMatchObject({ ok: true, token: { keyId: 'new' } });
    keyring.adopt(key('shared'));
    expect(await rotated.verify(rotated.sign('c', {}, NOW), NOW)).toMatchObject({ ok: true, token: { keyId: 'shared' } });
    expect((await rotated.verify(fresh, NOW)).ok).toBe(true);
  });

  it('handles long names that need two-byte lengths', async () => {
    const signer = createDecisionSigner(createKeyring([key('k1')]));
    const long = { 'a-placement': { items: Array.from({ length: 30 }, (_, i) => ({ id: `${'i'.repeat(127)}${i}`, rule: 'r'.repeat(200) })) } };
    const result = await signer.verify(signer.sign('c'.repeat(128), long, NOW), NOW);
    expect(result.ok && result.token.placements.get('a-placement')?.items.get(`${'i'.repeat(127)}7`)).toBe('r'.repeat(200));
  });

  it('parses DECISION_ID_KEYS and names the faulty entry', () => {
    expect(parseDecisionKeys('k2:abcdefghijklmnop1234, k1:qrstuvwxyz0123456789').map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(() => parseDecisionKeys('k1:short')).toThrow(/entry 1 \(k1\).*16/);
    expect(() => parseDecisionKeys('nocolon')).toThrow(/entry 1/);
    expect(() => parseDecisionKeys('a:abcdefghijklmnop1234,a:abcdefghijklmnop1234')).toThrow(/twice/);
    expect(() => parseDecisionKeys(' , ')).toThrow(/at least one/);
  });

  it('shares a generated key through its text form', () => {
    const generated = generateDecisionKey();
    expect(decodeSharedKey(encodeSharedKey(generated))).toEqual(generated);
    expect(decodeSharedKey('garbage')).toBeNull();
  });
});

/** A memory store that counts the name list reads and can be made to fail. */
function nameStore() {
  const backing = createMemoryStore({ retentionDays: 30, maxTouchpointsPerProfile: 10 });
  const counted = {
    reads: 0,
    adds: 0,
    down: false,
    async addDecisionNames(names: readonly string[]) {
      counted.adds++;
      if (counted.down) throw new StoreUnavailableError('the store is down');
      return backing.addDecisionNames(names);
    },
    async decisionNames() {
      counted.reads++;
      if (counted.down) throw new StoreUnavailableError('the store is down');
      return backing.decisionNames();
    },
  };
  return counted;
}

const ALL_NAMES = ['home-hero', 'email-offer', 'hero-cart', 'hero-default', 'cart-abandoners'];

/** A signer over a name list shared through `store`, with the rule set's names numbered. */
async function numberedSigner(store: ReturnType<typeof nameStore>, k = key('k1'), options: Partial<DecisionNamesOptions> = {}) {
  const names = createDecisionNames({ store, ...options });
  await names.share(ALL_NAMES);
  return { names, signer: createDecisionSigner(createKeyring([k]), { names }) };
}

describe('decision ids with numbered names (formats 2 and 3)', () => {
  it('writes numbered names as 2n + 1 and the others in full as 2L, a fallback rule as 0', async () => {
    const store = nameStore();
    const names = createDecisionNames({ store, batchMs: 60_000 });
    await names.share(['home-hero', 'hero-cart', 'cart-abandoners']);
    const signer = createDecisionSigner(createKeyring([key('k1')]), { names });
    const bytes = Buffer.from(signer.sign('c-42', placements, NOW), 'base64url');
    expect(bytes[0]).toBe(FORMAT_VERSION);
    // version, key id "k1", issuedAt, 6 random bytes, counter 0: then the customer id in full, as in format 1.
    const customerAt = 1 + 3 + 4 + 6 + 1;
    expect([...bytes.subarray(customerAt, customerAt + 5)]).toEqual([4, ...Buffer.from('c-42')]);
    const ascii = (text: string) => [...Buffer.from(text)];
    expect([...bytes.subarray(customerAt + 5, bytes.length - 16)]).toEqual([
      2, // placements
      1, // home-hero: number 0
      1, // optimized
      2, // items
      3, // hero-cart: number 1
      5, // its rule cart-abandoners: number 2
      2 * 12, ...ascii('hero-default'), // not numbered: in full
      0, // a fallback item: no rule
      2 * 11, ...ascii('email-offer'),
      0, // no arm
      0, // no items
    ]);
    const result = await signer.verify(bytes.toString('base64url'), NOW);
    expect(result.ok && [...(result.token.placements.get('home-hero')?.items ?? [])]).toEqual([
      ['hero-cart', 'cart-abandoners'],
      ['hero-default', null],
    ]);
  });

  it('round-trips any names, numbered or in full, rules and fallbacks', async () => {
    const nameArb = fc.oneof(fc.constantFrom(...ALL_NAMES, '', 'ü-ß-✓', 'x'.repeat(70)), fc.string({ maxLength: 80 }));
    const decisionArb = fc.dictionary(
      nameArb,
      fc.record({
        items: fc.uniqueArray(fc.record({ id: nameArb, rule: fc.option(nameArb, { nil: null }) }), { selector: (item) => item.id, maxLength: 5 }),
        ranking: fc.constantFrom(undefined, 'optimized', 'priority'),
      }),
      { maxKeys: 4 },
    );
    const store = nameStore();
    const names = createDecisionNames({ store, batchMs: 60_000 });
    const signer = createDecisionSigner(createKeyring([key('k1')]), { names });
    await fc.assert(
      fc.asyncProperty(decisionArb, fc.subarray([...ALL_NAMES, 'ü-ß-✓', '']), fc.string({ maxLength: 20 }), async (decision, numbered, customerId) => {
        await names.share(numbered);
        const served = Object.fromEntries(Object.entries(decision).map(([name, p]) => [name, p.ranking === undefined ? { items: p.items } : { items: p.items, ranking: p.ranking }]));
        const result = await signer.verify(signer.sign(customerId, served, NOW), NOW);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.token.customerId).toBe(Buffer.from(customerId).toString());
        expect([...result.token.placements.keys()]).toEqual(Object.keys(decision));
        for (const [name, placement] of Object.entries(decision)) {
          expect(result.token.placements.get(name)).toEqual({ arm: placement.ranking ?? null, items: new Map(placement.items.map((item) => [item.id, item.rule])) });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is less than half as long once the names are numbered', async () => {
    const literal = createDecisionSigner(createKeyring([key('k1')])).sign('c-42', placements, NOW);
    const { signer } = await numberedSigner(nameStore());
    const numbered = signer.sign('c-42', placements, NOW);
    expect(numbered.length * 2).toBeLessThan(literal.length);
  });

  it('still verifies format 2 ids, names numbered under HMAC-SHA256', async () => {
    // Signed by the format 2 signer (key k1, at NOW), the rule set's names numbered as numberedSigner numbers them.
    const formatTwo = 'AgJrMWmkKkCKKoWCdEAABGMtNDICAQECBQkHAAMAAIMR1Q-jsav8PZY7Clnb-QQ';
    const { signer } = await numberedSigner(nameStore());
    const result = await signer.verify(formatTwo, NOW + DAY);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.token).toMatchObject({ keyId: 'k1', issuedAt: NOW / 1000, customerId: 'c-42' });
    expect(result.token.placements).toEqual(
      new Map([
        ['home-hero', { arm: 'optimized', items: new Map([['hero-cart', 'cart-abandoners'], ['hero-default', null]]) }],
        ['email-offer', { arm: null, items: new Map() }],
      ]),
    );
    await expectEveryAlterationRefused(signer, formatTwo);
  });

  it('still verifies format 1 ids, every name in full', async () => {
    // Signed by the format 1 signer (key k1, at NOW), before the name list existed.
    const formatOne =
      'AQJrMWmkKkAOjIvpiLIABGMtNDIDCWhvbWUtaGVybwECCWhlcm8tY2FydBBjYXJ0LWFiYW5kb25lcnMMaGVyby1kZWZhdWx0AAtlbWFpbC1vZmZlcgAAD8O8bsOvLXBsYWNlbWVudAIBCG9mZmVyLcOfCXJ1bGUt4pyTxgYePmS9Aa5OfRJ74De05Q';
    const store = nameStore();
    const { signer } = await numberedSigner(store);
    const result = await signer.verify(formatOne, NOW + DAY);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.token).toMatchObject({ keyId: 'k1', issuedAt: NOW / 1000, customerId: 'c-42' });
    expect(result.token.placements).toEqual(
      new Map([
        ['home-hero', { arm: 'optimized', items: new Map([['hero-cart', 'cart-abandoners'], ['hero-default', null]]) }],
        ['email-offer', { arm: null, items: new Map() }],
        ['ünï-placement', { arm: 'priority', items: new Map([['offer-ß', 'rule-✓']]) }],
      ]),
    );
    for (let i = 0; i < formatOne.length; i++) {
      const altered = formatOne.slice(0, i) + (formatOne[i] === 'A' ? 'B' : 'A') + formatOne.slice(i + 1);
      expect((await signer.verify(altered, NOW)).ok, `position ${i}`).toBe(false);
    }
    expect(store.reads).toBe(0);
  });

  it('refuses every id altered by one character', async () => {
    const { signer } = await numberedSigner(nameStore());
    const id = signer.sign('c-42', placements, NOW);
    await expectEveryAlterationRefused(signer, id);
  });

  it('checks the MAC before any name: a forged id with unknown numbers never reads the store', async () => {
    const store = nameStore();
    const { signer } = await numberedSigner(store);
    // The same key id with another secret: the payload is well formed and names numbers nobody gave out.
    const forger = await numberedSigner(nameStore(), key('k1', 'not-the-secret-at-all'));
    await forger.names.share(Array.from({ length: 500 }, (_, n) => `made-up-${n}`));
    const forged = forger.signer.sign('c-42', { 'made-up-499': { items: [{ id: 'made-up-498', rule: 'made-up-497' }] } }, NOW);
    for (let n = 0; n < 50; n++) expect(await signer.verify(forged, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    // Random bytes shaped like an id, and an expired id of ours, are refused before any read too.
    const bytes = Buffer.from(forged, 'base64url');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    expect((await signer.verify(bytes.toString('base64url'), NOW)).ok).toBe(false);
    expect(await signer.verify(signer.sign('c-42', placements, NOW), NOW + (MAX_DECISION_AGE_DAYS + 1) * DAY)).toEqual({ ok: false, reason: 'expired' });
    expect(store.reads).toBe(0);
  });

  it('reads the name list once for numbers another replica gave out, shared by every verify waiting', async () => {
    const store = nameStore();
    const replicaA = await numberedSigner(store);
    const fresh = createDecisionNames({ store });
    const replicaB = createDecisionSigner(createKeyring([key('k1')]), { names: fresh });
    const ids = Array.from({ length: 20 }, (_, n) => replicaA.signer.sign(`c-${n}`, placements, NOW));
    expect(fresh.size).toBe(0);
    const results = await Promise.all(ids.map((id) => replicaB.verify(id, NOW)));
    expect(results.every((result) => result.ok)).toBe(true);
    expect(store.reads).toBe(1);
    expect(fresh.size).toBe(ALL_NAMES.length);
    // Known now: no more reads.
    await replicaB.verify(ids[0] as string, NOW);
    expect(store.reads).toBe(1);
  });

  it('refuses as malformed a number still unknown after the read, and reads at most once every 500 ms', async () => {
    const store = nameStore();
    let clock = 0;
    const sleeps: number[] = [];
    const names = createDecisionNames({
      store,
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
    });
    const verifier = createDecisionSigner(createKeyring([key('k1')]), { names });
    // Our key, numbers this store never gave out (the list was lost, say).
    const elsewhere = await numberedSigner(nameStore());
    const id = elsewhere.signer.sign('c-42', placements, NOW);
    expect(await verifier.verify(id, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(store.reads).toBe(1);
    expect(sleeps).toEqual([]);
    clock += 100;
    const again = await Promise.all([verifier.verify(id, NOW), verifier.verify(id, NOW), verifier.verify(id, NOW)]);
    expect(again).toEqual(Array(3).fill({ ok: false, reason: 'malformed' }));
    // The second read waited out the rest of the 500 ms, and the three shared it.
    expect(store.reads).toBe(2);
    expect(sleeps).toEqual([400]);
    clock += 1000;
    await verifier.verify(id, NOW);
    expect(store.reads).toBe(3);
    expect(sleeps).toEqual([400]);
  });

  it('answers StoreUnavailableError when the list cannot be read, so the client retries', async () => {
    const store = nameStore();
    const { signer } = await numberedSigner(store);
    const fresh = createDecisionSigner(createKeyring([key('k1')]), { names: createDecisionNames({ store }) });
    const id = signer.sign('c-42', placements, NOW);
    store.down = true;
    await expect(fresh.verify(id, NOW)).rejects.toBeInstanceOf(StoreUnavailableError);
    // Ids with every name in full need no store.
    const literal = createDecisionSigner(createKeyring([key('k1')])).sign('c-42', placements, NOW);
    expect((await fresh.verify(literal, NOW)).ok).toBe(true);
  });

  it('signs names without a number in full and has them numbered in the background, several at once', async () => {
    const store = nameStore();
    const names = createDecisionNames({ store, batchMs: 5 });
    const signer = createDecisionSigner(createKeyring([key('k1')]), { names });
    const first = signer.sign('c-42', placements, NOW);
    signer.sign('c-43', placements, NOW);
    expect(store.adds).toBe(0);
    await vi.waitFor(() => expect(names.size).toBe(ALL_NAMES.length));
    expect(store.adds).toBe(1);
    const later = signer.sign('c-42', placements, NOW);
    expect(later.length).toBeLessThan(first.length);
    expect((await signer.verify(first, NOW)).ok).toBe(true);
    expect((await signer.verify(later, NOW)).ok).toBe(true);
  });

  it('keeps signing in full while the store is down, and numbers the names once it answers', async () => {
    const store = nameStore();
    store.down = true;
    const errors: string[] = [];
    const names = createDecisionNames({ store, retryMs: 10, onError: (error) => errors.push(error.message) });
    await expect(names.share(ALL_NAMES)).rejects.toBeInstanceOf(StoreUnavailableError);
    const signer = createDecisionSigner(createKeyring([key('k1')]), { names });
    const literal = signer.sign('c-42', placements, NOW);
    expect((await signer.verify(literal, NOW)).ok).toBe(true);
    // Sent again in the background, and told each time it fails.
    await vi.waitFor(() => expect(errors.length).toBeGreaterThan(1));
    expect(names.size).toBe(0);
    store.down = false;
    await vi.waitFor(() => expect(names.size).toBe(ALL_NAMES.length));
    expect(signer.sign('c-42', placements, NOW).length).toBeLessThan(literal.length);
    names.stop();
  });

  it('asks for a name once: one the list has no room for stays in full', async () => {
    const backing = createMemoryStore({ retentionDays: 30, maxTouchpointsPerProfile: 10, maxDecisionNames: 2 });
    let adds = 0;
    const names = createDecisionNames({
      store: { addDecisionNames: (list) => (adds++, backing.addDecisionNames(list)), decisionNames: () => backing.decisionNames() },
      batchMs: 1,
    });
    await names.share(ALL_NAMES);
    expect(names.size).toBe(2);
    const signer = createDecisionSigner(createKeyring([key('k1')]), { names });
    for (let n = 0; n < 5; n++) signer.sign('c-42', placements, NOW);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(adds).toBe(1);
  });
});
