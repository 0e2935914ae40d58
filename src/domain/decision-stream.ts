/** The decision stream (POST /v1/decisions/stream): its limits and the problem a line answers. */
import * as z from 'zod';
import { problemSchema } from './responses.js';

/** The longest line the stream reads (contract section 12); a longer one answers a 413 problem with its line. */
export const MAX_STREAM_LINE_BYTES = 64 * 1024;

export const NDJSON_TYPE = 'application/x-ndjson';

/**
 * The answer header that names, in order, the catalog item fields (other than
 * `id` and `caps`) of the rules the stream decides with: a client writing
 * columns (`nextbest offers --url`) learns them before the first decision.
 * Each name is percent-encoded, the names joined with commas.
 */
export const ITEM_FIELDS_HEADER = 'X-Nextbest-Item-Fields';

export const streamProblemSchema = z
  .intersection(
    problemSchema,
    z.object({
      line: z.int().min(1).meta({ description: "The request's line in the body, from 1, blank lines counted." }),
    }),
  )
  .meta({ description: 'The answer to a line that is not a valid decision request: an RFC 9457 problem with the line it answers.' });
export type StreamProblem = z.infer<typeof streamProblemSchema>;
