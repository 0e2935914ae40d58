/**
 * Signed decision ids (contract section 8): a decisionId carries what the
 * decision served, signed, so that an outcome sent back with it can be
 * checked on any replica, after any restart, without a decision log written
 * on the hot path.
 *
 * The id is base64url of a compact binary payload followed by a MAC:
 *
 *   version      1 byte (FORMAT_VERSION)
 *   key id       varint length + UTF-8
 *   issuedAt     4 bytes, epoch seconds, big-endian
 *   unique       PREFIX_BYTES random bytes drawn once per process + varint counter
 *   customerId   varint length + UTF-8, as asked
 *   placements   varint count, then each:
 *     name       a name (below)
 *     arm        1 byte: 0 none, 1 optimized, 2 priority
 *     items      varint count, then each: item id (a name), rule (a name, or
 *                0 for a fallback item)
 *   mac          keyed BLAKE2s-128 of everything before (MAC_BYTES bytes)
 *
 * A name is one varint v: odd, v = 2n + 1 is number n of the decision name
 * list shared through the profile store (decision-names.ts); even, v = 2L
 * is followed by L bytes of UTF-8, the name in full. A rule's literal is
 * v = 2(L + 1), so that 0 stays free for "no rule". Placement names, item ids
 * and rule names are few and repeat in every id: numbered, an id is less than
 * half as long, and cheaper to sign and verify. A name without a number yet is
 * written in full (always valid) and numbered in the background.
 *
 * Format 3 (this one) is format 2 with keyed BLAKE2s-128 as its MAC
 * (blake2s.ts): the payload is under one 64-byte block, which BLAKE2s
 * absorbs in one compression after the key's (compressed once per key),
 * where HMAC-SHA256 took two; signing was most of what v2 added to a GET
 * decision (docs/performance.md). The key is the secret itself, or its
 * SHA-256 when it is longer than BLAKE2s's 32 bytes.
 *
 * Format 2 (the same payload) ended in the first 16 bytes of
 * HMAC-SHA256(secret, payload); format 1 (before the name list) wrote every
 * name in full: varint length + UTF-8, a rule's length plus one. Ids of both
 * still verify, with the same keys.
 *
 * The MAC is checked before anything in the payload is looked up, so an id
 * this service did not issue never makes it read the name list from the store.
 *
 * The per-process random prefix and the counter make every id unique without
 * drawing random bytes per decision (which costs more than the MAC). The MAC
 * is computed in place after the payload from each key's precomputed state:
 * no allocation per decision but the id's string.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { MAX_DECISION_NAMES } from '../profiles/store.js';
import { createDecisionNames, type DecisionNames } from './decision-names.js';
import { createBlake2sMac, type Blake2sMac } from './blake2s.js';
import { createHmacSha256, type HmacSha256 } from './hmac-sha256.js';

export const FORMAT_VERSION = 3;
/** Names numbered, MAC HMAC-SHA256; still verified. */
const FORMAT_HMAC = 2;
/** Every name in full; still verified. */
const FORMAT_LITERAL_NAMES = 1;
const MAC_BYTES = 16;
const PREFIX_BYTES = 6;
/** Outcomes for decisions older than this are refused (contract: at least 30 days must be accepted). */
export const MAX_DECISION_AGE_DAYS = 30;
const MAX_AGE_SECONDS = MAX_DECISION_AGE_DAYS * 24 * 60 * 60;
/** A decision's clock may run a little ahead of the verifying replica's. */
const FUTURE_SKEW_SECONDS = 5 * 60;
const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;

export type RankingArm = 'optimized' | 'priority';
const ARM_CODES: Record<RankingArm, number> = { optimized: 1, priority: 2 };
const ARMS: ReadonlyArray<RankingArm | null> = [null, 'optimized', 'priority'];

export interface DecisionKey {
  /** Short, printable; carried in every id so the verifier knows which secret to use. */
  id: string;
  secret: Buffer;
}

/** What a decision id says about the decision; what outcomes are checked against. */
export interface DecisionToken {
  keyId: string;
  /** Epoch seconds. */
  issuedAt: number;
  customerId: string;
  placements: Map<string, TokenPlacement>;
}

export interface TokenPlacement {
  arm: RankingArm | null;
  /** Item id → the rule that served it (null for a fallback item). */
  items: Map<string, string | null>;
}

/** What sign() reads of a decision: structurally a Decision's placements. */
export interface SignablePlacement {
  items: ReadonlyArray<{ id: string; rule: string | null }>;
  ranking?: string;
}

export type VerifyFailure = 'malformed' | 'unknown-key' | 'bad-signature' | 'expired';
export type VerifyResult = { ok: true; token: DecisionToken } | { ok: false; reason: VerifyFailure };

/**
 * The keys a service signs and verifies with. The first signs; every key
 * verifies, so a key can be rotated in front of the old one without breaking
 * the ids issued before. `adopt` puts a key first at run time (the key shared
 * through the store, once it is known).
 */
export interface DecisionKeyring {
  readonly signing: DecisionKey;
  find(id: string): DecisionKey | undefined;
  adopt(key: DecisionKey): void;
}

export function createKeyring(keys: readonly DecisionKey[]): DecisionKeyring {
  if (keys.length === 0) throw new Error('a decision keyring needs at least one key');
  let ordered = [...keys];
  return {
    get signing() {
      return ordered[0] as DecisionKey;
    },
    find: (id) => ordered.find((key) => key.id === id),
    adopt(key) {
      ordered = [key, ...ordered.filter((k) => k.id !== key.id)];
    },
  };
}

/**
 * Parses DECISION_ID_KEYS: `id:secret` pairs, comma-separated, the first
 * signing. A secret must be at least 16 characters; ids are 1-32 of
 * A-Z a-z 0-9 _ . -. Throws a message naming the entry at fault.
 */
export function parseDecisionKeys(text: string): DecisionKey[] {
  const keys: DecisionKey[] = [];
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0) throw new Error('must list at least one id:secret');
  entries.forEach((entry, n) => {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    const secret = colon < 0 ? '' : entry.slice(colon + 1);
    if (!KEY_ID_PATTERN.test(id)) throw new Error(`entry ${n + 1}: the key id must be 1-32 of A-Z a-z 0-9 _ . - before a colon`);
    if (secret.length < 16) throw new Error(`entry ${n + 1} (${id}): the secret must be at least 16 characters`);
    if (keys.some((key) => key.id === id)) throw new Error(`entry ${n + 1}: key id ${id} is listed twice`);
    keys.push({ id, secret: Buffer.from(secret, 'utf8') });
  });
  return keys;
}

/** A fresh random key, for a service that has none configured (shared through the store). */
export function generateDecisionKey(): DecisionKey {
  return { id: `g${randomBytes(3).toString('hex')}`, secret: randomBytes(32) };
}

/** The key as the store keeps it, and back; null when the text is not one. */
export function encodeSharedKey(key: DecisionKey): string {
  return `${key.id}:${key.secret.toString('base64url')}`;
}
export function decodeSharedKey(text: string): DecisionKey | null {
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  const id = text.slice(0, colon);
  const secret = Buffer.from(text.slice(colon + 1), 'base64url');
  if (!KEY_ID_PATTERN.test(id) || secret.length < 16) return null;
  return { id, secret };
}

export interface DecisionSigner {
  /** The id of a decision with these placements, issued at `now` (epoch ms) for `customerId`. */
  sign(customerId: string, placements: Readonly<Record<string, SignablePlacement>>, now: number): string;
  /**
   * What an id says, if this service issued it unaltered within
   * MAX_DECISION_AGE_DAYS of `now`. An id with a name number this process
   * does not know yet waits for the name list to be read again; rejects
   * (StoreUnavailableError) only when that read fails. Never throws otherwise.
   */
  verify(decisionId: string, now: number): Promise<VerifyResult>;
}

export interface DecisionSignerOptions {
  /** The shared name list (decision-names.ts); default: none, every name written in full. */
  names?: DecisionNames;
}

/** Each key's MAC (format 3), its keyed state computed once. */
const macs = new WeakMap<DecisionKey, Blake2sMac>();
function macOf(key: DecisionKey): Blake2sMac {
  let mac = macs.get(key);
  if (!mac) {
    const secret = key.secret.length > 32 ? createHash('sha256').update(key.secret).digest() : key.secret;
    macs.set(key, (mac = createBlake2sMac(secret, MAC_BYTES)));
  }
  return mac;
}

/** Each key's MAC for ids of formats 1 and 2, its pad states computed once. */
const hmacs = new WeakMap<DecisionKey, HmacSha256>();
function hmacOf(key: DecisionKey): HmacSha256 {
  let mac = hmacs.get(key);
  if (!mac) hmacs.set(key, (mac = createHmacSha256(key.secret)));
  return mac;
}

/** parsePayload's answer for an id that names a number this process does not know. */
const UNKNOWN_NAME = Symbol('unknown name');
type Parsed = DecisionToken | null | typeof UNKNOWN_NAME;

/** An id past its MAC and age checks, to be read. */
interface Checked {
  body: Buffer;
  header: IdHeader;
}

export function createDecisionSigner(keyring: DecisionKeyring, options: DecisionSignerOptions = {}): DecisionSigner {
  const names = options.names ?? createDecisionNames();
  const numbered = numberedNames(names);
  const prefix = randomBytes(PREFIX_BYTES);
  const expected = Buffer.alloc(MAC_BYTES);
  let counter = 0;
  // One buffer reused by every sign(): grown when a decision needs more.
  let buffer = Buffer.allocUnsafe(1024);

  /** A name by its number when it has one here; else in full, and it is asked to be numbered. */
  function writeName(out: Buffer, at: number, name: string, bias: number): number {
    const number = names.numberOf(name);
    if (number !== undefined) return writeVarint(out, at, 2 * number + 1);
    names.missing(name);
    return writeLiteral(out, at, name, bias);
  }

  /** The buffer, grown (keeping its first `at` bytes) when `more` bytes past `at` would not fit. */
  function room(at: number, more: number): Buffer {
    if (at + more > buffer.length) {
      const bigger = Buffer.allocUnsafe(2 * (at + more));
      buffer.copy(bigger, 0, 0, at);
      buffer = bigger;
    }
    return buffer;
  }

  function sign(customerId: string, placements: Readonly<Record<string, SignablePlacement>>, now: number): string {
    const key = keyring.signing;
    let out = room(0, 64 + MAC_BYTES + key.id.length + customerId.length * 3);
    let at = 0;
    out[at++] = FORMAT_VERSION;
    at = writeString(out, at, key.id);
    const seconds = Math.floor(now / 1000) >>> 0;
    out[at++] = seconds >>> 24;
    out[at++] = (seconds >>> 16) & 0xff;
    out[at++] = (seconds >>> 8) & 0xff;
    out[at++] = seconds & 0xff;
    for (let i = 0; i < PREFIX_BYTES; i++) out[at++] = prefix[i] as number;
    at = writeVarint(out, at, counter++);
    at = writeString(out, at, customerId);
    // The count's byte is kept and filled in after the placements: a decision has at most
    // MAX_PLACEMENTS_PER_REQUEST (< 128) of them, so its varint is one byte.
    const countAt = at++;
    let count = 0;
    for (const name in placements) {
      const placement = placements[name] as SignablePlacement;
      const { items } = placement;
      let size = 16 + name.length * 3;
      for (let i = 0; i < items.length; i++) {
        const item = items[i] as SignablePlacement['items'][number];
        size += 16 + (item.id.length + (item.rule === null ? 0 : item.rule.length)) * 3;
      }
      out = room(at, size + MAC_BYTES);
      at = writeName(out, at, name, 0);
      out[at++] = placement.ranking === undefined ? 0 : (ARM_CODES[placement.ranking as RankingArm] ?? 0);
      at = writeVarint(out, at, items.length);
      for (let i = 0; i < items.length; i++) {
        const item = items[i] as SignablePlacement['items'][number];
        at = writeName(out, at, item.id, 0);
        if (item.rule === null) out[at++] = 0;
        else at = writeName(out, at, item.rule, 1);
      }
      count++;
    }
    if (count >= 0x80) throw new RangeError(`a decision id carries at most 127 placements, not ${count}`);
    out[countAt] = count;
    macOf(key).write(out, at, out, at, MAC_BYTES);
    return out.toString('base64url', 0, at + MAC_BYTES);
  }

  /** The id's header once its MAC and age are checked, or why it is refused. Reads nothing but the id. */
  function check(decisionId: string, now: number): Checked | VerifyResult {
    const bytes = Buffer.from(decisionId, 'base64url');
    // Buffer.from skips characters outside the alphabet and ignores the spare bits of the last one:
    // only an id that is exactly the encoding of its bytes can be ours, so one altered character always fails.
    if (bytes.length <= MAC_BYTES + 8 || bytes.toString('base64url') !== decisionId) return MALFORMED;
    const body = bytes.subarray(0, bytes.length - MAC_BYTES);
    const header = parseHeader(body);
    if (header === null) return MALFORMED;
    const key = keyring.find(header.keyId);
    if (!key) return { ok: false, reason: 'unknown-key' };
    (header.version === FORMAT_VERSION ? macOf(key) : hmacOf(key)).write(body, body.length, expected, 0, MAC_BYTES);
    if (!timingSafeEqual(expected, bytes.subarray(bytes.length - MAC_BYTES))) return { ok: false, reason: 'bad-signature' };
    const nowSeconds = Math.floor(now / 1000);
    if (header.issuedAt < nowSeconds - MAX_AGE_SECONDS || header.issuedAt > nowSeconds + FUTURE_SKEW_SECONDS) return { ok: false, reason: 'expired' };
    return { body, header };
  }

  function read({ body, header }: Checked): Parsed {
    return parsePayload(body, header, header.version === FORMAT_LITERAL_NAMES ? LITERAL_NAMES : numbered);
  }

  function verify(decisionId: string, now: number): Promise<VerifyResult> {
    const checked = check(decisionId, now);
    if ('ok' in checked) return Promise.resolve(checked);
    const token = read(checked);
    if (token !== UNKNOWN_NAME) return Promise.resolve(token === null ? MALFORMED : { ok: true, token });
    // Signed by us, with a number another replica gave a name since this process last read the list.
    return names.refresh().then(() => {
      const again = read(checked);
      return again === null || again === UNKNOWN_NAME ? MALFORMED : { ok: true, token: again };
    });
  }

  return { sign, verify };
}

const MALFORMED: VerifyResult = Object.freeze({ ok: false, reason: 'malformed' });

function writeVarint(out: Buffer, at: number, value: number): number {
  let rest = value;
  while (rest >= 0x80) {
    out[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  out[at++] = rest;
  return at;
}

/**
 * Writes the UTF-8 length (plus `bias`) as a varint, then the bytes. Ids and
 * slugs are short ASCII: copied here in a loop, cheaper than Buffer#write's
 * call into native code; any other text goes through it.
 */
function writeString(out: Buffer, at: number, text: string, bias = 0): number {
  const length = text.length;
  if (length + bias < 0x80) {
    let i = 0;
    for (; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) break;
      out[at + 1 + i] = code;
    }
    if (i === length) {
      out[at] = length + bias;
      return at + 1 + length;
    }
  }
  return writeUtf8(out, at, text, bias);
}

/** writeString through Buffer#write, for any text. */
function writeUtf8(out: Buffer, at: number, text: string, bias: number): number {
  // Reserve one byte for lengths below 128 (all slugs and ids); move the bytes when a longer one needs two.
  const written = out.write(text, at + 1, 'utf8');
  return placeHeader(out, at, written, written + bias);
}

/** A name in full: the varint 2 * (UTF-8 length + `bias`), then the bytes. */
function writeLiteral(out: Buffer, at: number, text: string, bias: number): number {
  const written = out.write(text, at + 1, 'utf8');
  return placeHeader(out, at, written, 2 * (written + bias));
}

/** Puts `header` as a varint at `at`, before the `written` bytes that were written at `at + 1`; returns the end. */
function placeHeader(out: Buffer, at: number, written: number, header: number): number {
  if (header < 0x80) {
    out[at] = header;
    return at + 1 + written;
  }
  const bytes = Buffer.allocUnsafe(8);
  const headerLength = writeVarint(bytes, 0, header);
  out.copy(out, at + headerLength, at + 1, at + 1 + written);
  bytes.copy(out, at, 0, headerLength);
  return at + headerLength + written;
}

/** A reader over untrusted bytes: every read checks the bounds, and a failed read returns null. */
class Reader {
  at = 0;
  constructor(private readonly bytes: Buffer) {}
  byte(): number | null {
    return this.at < this.bytes.length ? (this.bytes[this.at++] as number) : null;
  }
  varint(): number | null {
    let value = 0;
    let scale = 1;
    for (let n = 0; n < 8; n++) {
      const b = this.byte();
      if (b === null) return null;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
    return null;
  }
  bytesOf(length: number): Buffer | null {
    if (this.at + length > this.bytes.length) return null;
    const slice = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return slice;
  }
  string(bias = 0): string | null {
    const length = this.varint();
    if (length === null || length < bias) return null;
    const raw = this.bytesOf(length - bias);
    return raw === null ? null : raw.toString('utf8');
  }
  /** The next byte, not consumed; null at the end. */
  peek(): number | null {
    return this.at < this.bytes.length ? (this.bytes[this.at] as number) : null;
  }
  get done(): boolean {
    return this.at === this.bytes.length;
  }
}

interface IdHeader {
  version: number;
  keyId: string;
  /** Epoch seconds. */
  issuedAt: number;
  /** Where the customer id starts. */
  end: number;
}

/** What the MAC check needs: the version, the key id and the time. Null when the id is no id of a known format. */
function parseHeader(body: Buffer): IdHeader | null {
  const r = new Reader(body);
  const version = r.byte();
  if (version !== FORMAT_VERSION && version !== FORMAT_HMAC && version !== FORMAT_LITERAL_NAMES) return null;
  const keyId = r.string();
  const time = r.bytesOf(4);
  if (keyId === null || time === null || r.bytesOf(PREFIX_BYTES) === null || r.varint() === null) return null;
  return { version, keyId, issuedAt: time.readUInt32BE(0), end: r.at };
}

/** A name field as read: its text, null when malformed, UNKNOWN_NAME for a number not known here. */
type NameField = string | null | typeof UNKNOWN_NAME;

/** How a format writes its name fields; the rest of the payload is the same in both. */
interface NameFormat {
  /** A placement name or an item id. */
  name(r: Reader): NameField;
  /** The rule that served an item: NO_RULE for a fallback item. */
  rule(r: Reader): NameField | typeof NO_RULE;
}
const NO_RULE = Symbol('no rule');

/** Format 1: every name in full; a rule as its UTF-8 length + 1, 0 for none. */
const LITERAL_NAMES: NameFormat = {
  name: (r) => r.string(),
  rule: (r) => (r.peek() === 0 ? (r.at++, NO_RULE) : r.string(1)),
};

/** Format 2: each name by number or in full (readName); a rule's 0 byte for none. */
function numberedNames(names: DecisionNames): NameFormat {
  return {
    name: (r) => readName(r, names, 0),
    rule: (r) => (r.peek() === 0 ? (r.at++, NO_RULE) : readName(r, names, 1)),
  };
}

/** A name field of format 2 (see the header comment). */
function readName(r: Reader, names: DecisionNames, bias: number): NameField {
  const value = r.varint();
  if (value === null) return null;
  if (value % 2 === 1) {
    const number = (value - 1) / 2;
    if (number >= MAX_DECISION_NAMES) return null;
    return names.nameOf(number) ?? UNKNOWN_NAME;
  }
  const length = value / 2 - bias;
  if (length < 0) return null;
  const raw = r.bytesOf(length);
  return raw === null ? null : raw.toString('utf8');
}

/** The payload after the header, its names read as `format` writes them. Null when it is not one; UNKNOWN_NAME (see readName). */
function parsePayload(body: Buffer, header: IdHeader, format: NameFormat): Parsed {
  const r = new Reader(body);
  r.at = header.end;
  const customerId = r.string();
  const count = r.varint();
  if (customerId === null || count === null) return null;
  const placements = new Map<string, TokenPlacement>();
  for (let p = 0; p < count; p++) {
    const name = format.name(r);
    if (typeof name !== 'string') return name;
    const armCode = r.byte();
    const itemCount = r.varint();
    if (armCode === null || itemCount === null || armCode >= ARMS.length) return null;
    const items = new Map<string, string | null>();
    for (let i = 0; i < itemCount; i++) {
      const item = format.name(r);
      if (typeof item !== 'string') return item;
      const rule = format.rule(r);
      if (rule === null || rule === UNKNOWN_NAME) return rule;
      items.set(item, rule === NO_RULE ? null : rule);
    }
    placements.set(name, { arm: ARMS[armCode] as RankingArm | null, items });
  }
  if (!r.done) return null;
  return { keyId: header.keyId, issuedAt: header.issuedAt, customerId, placements };
}
