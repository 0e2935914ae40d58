/**
 * How big a rules folder may get. Rules are loaded while the service serves:
 * a 57 MB placement of 60,000 rules once took a gigabyte of memory to load
 * and made every decision that read it slow. The limits keep a load, and the
 * decisions after it, within bounds; a file over them is a rule error like
 * any other, so the last good rules keep serving.
 */

export interface RuleLimits {
  /** The largest rule or rule test file read, in bytes. */
  maxFileBytes: number;
  /** The most rules one placement file, or journey.json's stage rules, may hold. */
  maxRulesPerPlacement: number;
}

/**
 * Far above what a hand-written folder holds (the benchmark's largest
 * placement has 500 rules in 0.5 MB), and low enough that compiling the
 * largest placement stays a short pause for the event loop.
 */
export const DEFAULT_RULE_LIMITS: Readonly<RuleLimits> = Object.freeze({
  maxFileBytes: 5 * 1024 * 1024,
  maxRulesPerPlacement: 1000,
});

/** The environment variables that set the limits, named in the errors so a reader knows what to change. */
export const RULE_LIMIT_VARIABLES = {
  maxFileBytes: 'RULES_MAX_FILE_BYTES',
  maxRulesPerPlacement: 'RULES_MAX_RULES_PER_PLACEMENT',
} as const satisfies Record<keyof RuleLimits, string>;

/** "5 MB", "512 KB", "900 bytes": sizes as a reader takes them in. */
export function formatBytes(bytes: number): string {
  const MB = 1024 * 1024;
  if (bytes >= MB) return `${Number((bytes / MB).toFixed(1))} MB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KB`;
  return `${bytes} bytes`;
}
