import * as z from 'zod';

export const CUSTOMER_ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;
export const SLUG_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;

export const customerIdSchema = z
  .string()
  .regex(CUSTOMER_ID_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ -');

export const slugSchema = z
  .string()
  .regex(SLUG_PATTERN, 'must be a slug: a lowercase letter, then up to 63 of a-z 0-9 _ . -');

/** A catalog item's id, as rules name it and outcomes report it. */
export const itemIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:@-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ -')
  .meta({ description: 'The item id rules serve it by: 1-128 characters of A-Z a-z 0-9 . _ : @ -' });

/** A customer id in an answer: the service only ever writes valid ones. */
export const customerIdAnswerSchema = z.string().regex(CUSTOMER_ID_PATTERN).meta({ examples: ['c-42'] });

export type CustomerId = z.infer<typeof customerIdSchema>;
