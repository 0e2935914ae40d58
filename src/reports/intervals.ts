/**
 * The statistics of a report (contract section 9): rates with their 95%
 * Wilson score interval, and the lift of one rate over another with its 95%
 * interval. Pure.
 */
import type { Lift, RateInterval } from '../domain/report.js';

/** The 97.5th percentile of the standard normal: a two-sided 95% interval. */
export const Z_95 = 1.959963984540054;

/**
 * events ÷ trials with its Wilson score interval; null without trials. The
 * Wilson interval stays inside [0, 1] and behaves at 0 and few trials, where
 * the textbook p ± z·√(p(1−p)/n) collapses to a point. Clients may report
 * more clicks than impressions; the rate says so, and the interval is then
 * that of every trial a success.
 */
export function wilsonInterval(events: number, trials: number, z = Z_95): RateInterval {
  if (!(trials > 0)) return null;
  const rate = events / trials;
  const p = Math.min(Math.max(rate, 0), 1);
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return { rate, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * The relative lift (p1 − p0) ÷ p0 of rate p1 = x1/n1 over p0 = x0/n0, with
 * the 95% interval of the risk ratio on the log scale (Katz): exp(ln(p1/p0)
 * ± z·√(1/x1 − 1/n1 + 1/x0 − 1/n0)) − 1. Null while p0 is 0 or unknown (no
 * lift over nothing); the interval ends are null while either arm has no
 * event, where the log scale has no width to give.
 */
export function liftInterval(x1: number, n1: number, x0: number, n0: number, z = Z_95): Lift {
  if (!(n1 > 0) || !(n0 > 0) || !(x0 > 0)) return null;
  const p1 = Math.min(x1, n1) / n1;
  const p0 = Math.min(x0, n0) / n0;
  const rate = p1 / p0 - 1;
  if (!(x1 > 0)) return { rate, low: null, high: null };
  const se = Math.sqrt(Math.max(0, 1 / Math.min(x1, n1) - 1 / n1 + 1 / Math.min(x0, n0) - 1 / n0));
  const log = Math.log(p1 / p0);
  return { rate, low: Math.exp(log - z * se) - 1, high: Math.exp(log + z * se) - 1 };
}
