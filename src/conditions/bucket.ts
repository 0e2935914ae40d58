import { createHash } from 'node:crypto';

/**
 * A number 0-99 that is the same for the same customer and salt, and uniform
 * over customers: the first 32 bits of SHA-256 reduced modulo 100 (the bias of
 * the reduction is below one in ten million). A new salt gives an independent split.
 */
export function bucketOf(customerId: string, salt: string): number {
  const digest = createHash('sha256').update(salt).update('\0').update(customerId).digest();
  return digest.readUInt32BE(0) % 100;
}
