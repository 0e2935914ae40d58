/**
 * The shape of a rule test file, `<rules>/tests/*.json` (contract section 6),
 * run by `nextbest test`. Each case describes a customer and a request and
 * what the decision must be. Structure only: whether a placement, stage, item
 * or rule exists is checked by the runner against the built rules.
 *
 * `now` (file and case) is our extension of the contract's format: it pins the
 * clock, so a test of a seasonal offer keeps passing after the season.
 *
 * No defaults or transforms here: a JSON Schema for editors is generated from
 * `ruleTestFileSchema`, and it must describe the file as written. The runner
 * applies the defaults (DEFAULT_TEST_CUSTOMER_ID, the real clock).
 */
import * as z from 'zod';
import { customerIdSchema, slugSchema } from './ids.js';
import { outcomeKindSchema } from './outcome.js';

/** The customer id of a case that does not name one. */
export const DEFAULT_TEST_CUSTOMER_ID = 'test-customer';

/** A relative touchpoint time: minutes, hours or days before the case's `now`. */
export const RELATIVE_AT_PATTERN = /^-(\d{1,6})([mhd])$/;

const ISO_DATE_TIME_WITH_OFFSET = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{1,9})?(?:Z|[+-]\\d{2}:\\d{2})';

/** `now`, a relative time ("-30m", "-12h", "-3d") or an ISO-8601 date-time with offset. */
export const TOUCHPOINT_AT_PATTERN = new RegExp(`^(?:now|-\\d{1,6}[mhd]|${ISO_DATE_TIME_WITH_OFFSET})$`);

const AT_MESSAGE = 'must be "now", a time before the test\'s now ("-30m", "-12h", "-3d") or an ISO-8601 date-time with an offset (2026-11-20T09:14:00Z)';

const jsonObject = z.record(z.string(), z.json());

const clockSchema = z.iso.datetime({
  offset: true,
  message: 'must be an ISO-8601 date-time with an offset, e.g. 2026-11-25T12:00:00Z',
});

/** When a touchpoint or outcome happened, as a test gives it. */
const testAtSchema = z
  .string()
  .regex(TOUCHPOINT_AT_PATTERN, AT_MESSAGE)
  // The pattern admits impossible dates such as 2026-02-30; zod's own check does not.
  .refine((at) => !at.includes('T') || clockSchema.safeParse(at).success, 'is not a real date and time')
  .optional()
  .describe('When it happened (default: now). Relative times count back from the test\'s now: "-30m", "-12h", "-3d".');

export const ruleTestTouchpointSchema = z.strictObject({
  id: z.string().min(1).max(256).optional().describe('Makes the touchpoint idempotent, as in the API: a later touchpoint with the same id is dropped.'),
  type: slugSchema.describe('page_view, email_click, cart_add, purchase, store_visit, support_ticket, ...'),
  channel: slugSchema.describe('web, app, email, store, call, ...'),
  at: testAtSchema,
  properties: jsonObject.optional(),
});
export type RuleTestTouchpoint = z.infer<typeof ruleTestTouchpointSchema>;

/** What the customer did with an item served earlier: what caps and the outcomeCount fact count. */
export const ruleTestOutcomeSchema = z.strictObject({
  kind: outcomeKindSchema.describe('impression, click, conversion or dismiss.'),
  item: z.string().min(1, 'must not be empty').describe('The id of a catalog.json item.'),
  placement: slugSchema.describe('The placement it was served in (one the rules define).'),
  at: testAtSchema,
  rule: z.string().nullable().optional().describe('The rule that served it; null for a fallback item. Kept for the record: no fact reads it.'),
});
export type RuleTestOutcome = z.infer<typeof ruleTestOutcomeSchema>;

export const ruleTestCustomerSchema = z.strictObject({
  stage: z.string().nullable().optional().describe('An explicit stage, as set through PATCH /v1/customers/{id}; null or absent: inferred.'),
  attributes: jsonObject.optional(),
  touchpoints: z.array(ruleTestTouchpointSchema).optional(),
  outcomes: z.array(ruleTestOutcomeSchema).optional().describe('Outcomes of items served to this customer before, as POST /v1/outcomes records them.'),
});
export type RuleTestCustomer = z.infer<typeof ruleTestCustomerSchema>;

export const ruleTestExpectationSchema = z.strictObject({
  stage: z.string().optional().describe('The customer\'s current stage.'),
  stageSource: z.enum(['explicit', 'inferred', 'default']).optional(),
  items: z.array(z.string()).optional().describe('The ids of the items served, in order.'),
  fallback: z.boolean().optional().describe('Whether the placement fell back to its fallback items.'),
  rules: z.array(z.string().nullable()).optional().describe('The rule that served each item, in order; null for a fallback item.'),
  capped: z
    .array(z.string())
    .optional()
    .describe('The ids of the items skipped because a cap was reached, in the order arbitration met them; [] for none.'),
});
export type RuleTestExpectation = z.infer<typeof ruleTestExpectationSchema>;

export const ruleTestCaseSchema = z.strictObject({
  name: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').describe('What a marketer checks, in words.'),
  now: clockSchema.optional().describe('The clock for this case; default: the file\'s now, else the real clock.'),
  customerId: customerIdSchema.optional().describe(`Default: "${DEFAULT_TEST_CUSTOMER_ID}". Matters for the customerId and bucket facts.`),
  customer: ruleTestCustomerSchema.optional().describe('The profile; absent: a customer never seen before.'),
  context: jsonObject.optional().describe('The request\'s context, e.g. { "channel": "web" }.'),
  placement: slugSchema,
  expect: ruleTestExpectationSchema.describe('Every field is optional; each one given is compared.'),
});
export type RuleTestCase = z.infer<typeof ruleTestCaseSchema>;

export const ruleTestFileSchema = z.strictObject({
  $schema: z.string().optional(),
  description: z.string().max(2000).optional(),
  now: clockSchema.optional().describe('The clock for every case of the file that does not set its own; default: the real clock.'),
  cases: z.array(ruleTestCaseSchema),
});
export type RuleTestFile = z.infer<typeof ruleTestFileSchema>;
