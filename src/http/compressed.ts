/**
 * Static answers (the API reference's assets, the OpenAPI document) compressed
 * once, when first asked for, and served in the encoding the client accepts:
 * the Swagger UI bundle is 1.7 MB as it is and about 0.4 MB gzipped. Never
 * used on the API's own answers, which are small and made per request.
 */
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export type Encoding = 'br' | 'gzip';

export interface Compressed {
  readonly identity: Uint8Array<ArrayBuffer>;
  /** The body in an encoding, made on first use. */
  encoded(encoding: Encoding): Uint8Array<ArrayBuffer>;
}

export function compressible(body: Uint8Array<ArrayBuffer>): Compressed {
  const made = new Map<Encoding, Uint8Array<ArrayBuffer>>();
  return {
    identity: body,
    encoded(encoding) {
      let found = made.get(encoding);
      if (!found) {
        const bytes =
          encoding === 'br'
            ? brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength } })
            : gzipSync(body, { level: 9 });
        found = new Uint8Array(new ArrayBuffer(bytes.byteLength));
        found.set(bytes);
        made.set(encoding, found);
      }
      return found;
    },
  };
}

/**
 * The encoding to answer in, from an Accept-Encoding header (RFC 9110 section
 * 12.5.3): brotli, then gzip, unless refused with `q=0`; null: as it is.
 */
export function acceptedEncoding(header: string | undefined): Encoding | null {
  if (!header) return null;
  const accepted = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find((m) => m !== null);
    accepted.set(name.trim(), q ? Number(q[1]) : 1);
  }
  const weight = (name: Encoding): number => accepted.get(name) ?? accepted.get('*') ?? 0;
  if (weight('br') > 0) return 'br';
  if (weight('gzip') > 0) return 'gzip';
  return null;
}

/** The body and headers of a compressible answer for a request's Accept-Encoding. */
export function encodedAnswer(body: Compressed, acceptEncoding: string | undefined): { body: Uint8Array<ArrayBuffer>; headers: Record<string, string> } {
  const encoding = acceptedEncoding(acceptEncoding);
  if (!encoding) return { body: body.identity, headers: { Vary: 'Accept-Encoding' } };
  return { body: body.encoded(encoding), headers: { 'Content-Encoding': encoding, Vary: 'Accept-Encoding' } };
}
