import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createDecisionSigner,
  createKeyring,
  decodeSharedKey,
  encodeSharedKey,
  generateDecisionKey,
  MAX_DECISION_AGE_DAYS,
  parseDecisionKeys,
} from '../../src/outcomes/decision-id.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
const key = (id: string, secret = `${id}-secret-0123456789`) => ({ id, secret: Buffer.from(secret) });

const placements = {
  'home-hero': { items: [{ id: 'hero-cart', rule: 'cart-abandoners' }, { id: 'hero-default', rule: null }], ranking: 'optimized' },
  'email-offer': { items: [] as Array<{ id: string; rule: string | null }> },
};

describe('signed decision ids', () => {
  it('ends in the first 16 bytes of HMAC-SHA256 over the payload, as node:crypto computes it, so every id issued before verifies', () => {
    const k = key('k1');
    const signer = createDecisionSigner(createKeyring([k]));
    for (const customer of ['c-1', 'c-'.repeat(80), 'ü'.repeat(70)]) {
      const bytes = Buffer.from(signer.sign(customer, placements, NOW), 'base64url');
      const body = bytes.subarray(0, bytes.length - 16);
      expect(bytes.subarray(bytes.length - 16)).toEqual(createHmac('sha256', k.secret).update(body).digest().subarray(0, 16));
      const resigned = Buffer.concat([body, createHmac('sha256', k.secret).update(body).digest().subarray(0, 16)]).toString('base64url');
      expect(signer.verify(resigned, NOW).ok).toBe(true);
    }
  });

  it('round-trips what the decision served, per placement, with rules and arms', () => {
    const signer = createDecisionSigner(createKeyring([key('k1')]));
    const id = signer.sign('c-42', placements, NOW);
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    const result = signer.verify(id, NOW + DAY);
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

  it('refuses every id altered by one character', () => {
    const signer = createDecisionSigner(createKeyring([key('k1')]));
    const id = signer.sign('c-42', placements, NOW);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < id.length; i++) {
      for (const replacement of [alphabet[(alphabet.indexOf(id[i] as string) + 1) % 64], '!']) {
        const altered = id.slice(0, i) + replacement + id.slice(i + 1);
        expect(signer.verify(altered, NOW).ok, `position ${i}`).toBe(false);
      }
    }
    expect(signer.verify(id.slice(0, -1), NOW).ok).toBe(false);
    expect(signer.verify(`${id}A`, NOW).ok).toBe(false);
  });

  it('says why it refuses: garbage, a key it does not know, a wrong signature, an old id', () => {
    const signer = createDecisionSigner(createKeyring([key('k1')]));
    for (const garbage of ['', 'x', '6f1c2a9e-3d7b-4c1e-9a55-0b6d2f7e8c10', 'A'.repeat(500), '\u0000\uffff']) {
      expect(signer.verify(garbage, NOW)).toEqual({ ok: false, reason: 'malformed' });
    }
    const stranger = createDecisionSigner(createKeyring([key('k9')]));
    expect(signer.verify(stranger.sign('c-42', placements, NOW), NOW)).toEqual({ ok: false, reason: 'unknown-key' });
    const sameIdOtherSecret = createDecisionSigner(createKeyring([key('k1', 'another-secret-entirely')]));
    expect(signer.verify(sameIdOtherSecret.sign('c-42', placements, NOW), NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    const id = signer.sign('c-42', placements, NOW);
    expect(signer.verify(id, NOW + MAX_DECISION_AGE_DAYS * DAY).ok).toBe(true);
    expect(signer.verify(id, NOW + MAX_DECISION_AGE_DAYS * DAY + 1000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('never throws on random bytes', () => {
    const signer = createDecisionSigner(createKeyring([key('k1')]));
    const id = signer.sign('c-42', placements, NOW);
    const bytes = Buffer.from(id, 'base64url');
    for (let n = 0; n < 2000; n++) {
      const copy = Buffer.from(bytes.subarray(0, 1 + (n % bytes.length)));
      copy[n % copy.length] = (n * 37) & 0xff;
      expect(() => signer.verify(copy.toString('base64url'), NOW)).not.toThrow();
    }
  });

  it('rotates: the first key signs, older keys still verify', () => {
    const old = createDecisionSigner(createKeyring([key('old')]));
    const oldId = old.sign('c-42', placements, NOW);
    const keyring = createKeyring([key('new'), key('old')]);
    const rotated = createDecisionSigner(keyring);
    expect(rotated.verify(oldId, NOW).ok).toBe(true);
    const fresh = rotated.sign('c-42', placements, NOW);
    expect(rotated.verify(fresh, NOW)).toMatchObject({ ok: true, token: { keyId: 'new' } });
    keyring.adopt(key('shared'));
    expect(rotated.verify(rotated.sign('c', {}, NOW), NOW)).toMatchObject({ ok: true, token: { keyId: 'shared' } });
    expect(rotated.verify(fresh, NOW).ok).toBe(true);
  });

  it('handles long names that need two-byte lengths', () => {
    const signer = createDecisionSigner(createKeyring([key('k1')]));
    const long = { 'a-placement': { items: Array.from({ length: 30 }, (_, i) => ({ id: `${'i'.repeat(127)}${i}`, rule: 'r'.repeat(200) })) } };
    const result = signer.verify(signer.sign('c'.repeat(128), long, NOW), NOW);
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
