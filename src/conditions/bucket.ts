import { sha256FirstWord } from '../outcomes/hmac-sha256.js';

/** The UTF-8 of salt, a zero byte and the customer id, written here for each bucket: grown when an input needs more. */
let buffer = Buffer.allocUnsafe(512);

/**
 * A number 0-99 that is the same for the same customer and salt, and uniform
 * over customers: the first 32 bits of SHA-256 over the salt, a zero byte and
 * the customer id (UTF-8), reduced modulo 100 (the bias of the reduction is
 * below one in ten million). A new salt gives an independent split. The hash
 * is computed in JavaScript (hmac-sha256.ts), the same bits node:crypto gives
 * (test/unit/bucket.test.ts compares them): a stream of decisions for
 * customers not in the profile cache asks for one bucket per customer and salt.
 */
export function bucketOf(customerId: string, salt: string): number {
  const size = (salt.length + customerId.length) * 3 + 1;
  if (buffer.length < size) buffer = Buffer.allocUnsafe(2 * size);
  let at = writeUtf8(buffer, 0, salt);
  buffer[at++] = 0;
  at = writeUtf8(buffer, at, customerId);
  return sha256FirstWord(buffer, at) % 100;
}

/** Writes `text` as UTF-8 at `at`; returns where it ends. ASCII (ids and salts, nearly always) in a loop, the rest through Buffer#write. */
function writeUtf8(out: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return at + out.write(text, at, 'utf8');
    out[at + i] = code;
  }
  return at + text.length;
}
