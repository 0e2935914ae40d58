/** The journey map (contract section 14): its query and its answer. */
import * as z from 'zod';
import { timestampSchema } from './json.js';

export const JOURNEY_DEFAULT_DAYS = 30;
export const JOURNEY_MAX_DAYS = 365;

/** `?days=`: an integer 1–365 written in plain digits; absent: 30. */
export const journeyDaysSchema = z
  .string()
  .regex(/^[0-9]{1,3}$/, 'must be an integer from 1 to 365')
  .transform(Number)
  .pipe(z.int().min(1, 'must be an integer from 1 to 365').max(JOURNEY_MAX_DAYS, 'must be an integer from 1 to 365'))
  .optional()
  .transform((days) => days ?? JOURNEY_DEFAULT_DAYS);

export const journeyReportSchema = z.object({
  asOf: timestampSchema.meta({ description: 'When the map was computed: it describes the customers stored then.' }),
  days: z.int().min(1).max(JOURNEY_MAX_DAYS).meta({ description: 'How far back "then" is.' }),
  rulesVersion: z.string().meta({ description: 'The rules whose stage rules placed the customers.' }),
  customers: z.int().min(0).meta({ description: 'Stored customers (canonical ids only).' }),
  stages: z
    .array(
      z.object({
        stage: z.string(),
        customers: z.int().min(0).meta({ description: 'Customers in this stage now.' }),
        share: z.number().min(0).max(1).meta({ description: 'customers ÷ all customers; 0 when there are none.' }),
        customersThen: z.int().min(0).meta({ description: 'Customers in this stage `days` ago.' }),
      }),
    )
    .meta({ description: 'Every stage of the journey, in journey order.' }),
  transitions: z
    .array(z.object({ from: z.string(), to: z.string(), customers: z.int().min(1) }))
    .meta({ description: 'Customers by (stage `days` ago, stage now); pairs with none are left out. `from` = `to`: stayed.' }),
  touchpoints: z
    .array(z.object({ stage: z.string(), type: z.string(), channel: z.string(), count: z.int().min(1) }))
    .meta({ description: 'Per current stage, the touchpoints of the last `days` days by type and channel, most first.' }),
});

export type JourneyReport = z.output<typeof journeyReportSchema>;
