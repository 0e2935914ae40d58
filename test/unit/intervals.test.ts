import { describe, expect, it } from 'vitest';
import { liftInterval, wilsonInterval } from '../../src/reports/intervals.js';

describe('wilsonInterval', () => {
  // Known values: Wilson (1927) as tabulated by Newcombe (1998), Table I, and R's prop.test(correct = FALSE).
  it.each([
    [81, 263, 0.30799, 0.2553, 0.3662],
    [15, 148, 0.10135, 0.0624, 0.1605],
    [0, 20, 0, 0, 0.1611],
    [1, 29, 0.03448, 0.0061, 0.1718],
    [5, 10, 0.5, 0.2366, 0.7634],
    [10, 10, 1, 0.7225, 1],
  ])('%d of %d: rate %f, interval %f to %f', (events, trials, rate, low, high) => {
    const interval = wilsonInterval(events, trials);
    expect(interval?.rate).toBeCloseTo(rate, 4);
    expect(interval?.low).toBeCloseTo(low, 4);
    expect(interval?.high).toBeCloseTo(high, 4);
  });

  it('is null without trials', () => {
    expect(wilsonInterval(0, 0)).toBeNull();
    expect(wilsonInterval(3, 0)).toBeNull();
  });

  it('says a rate above 1 as it is, with the interval of every trial a success', () => {
    expect(wilsonInterval(12, 10)).toEqual({ ...wilsonInterval(10, 10), rate: 1.2 });
  });
});

describe('liftInterval', () => {
  it('gives the relative lift with the Katz log interval of the risk ratio', () => {
    // 60/1000 against 40/1000: RR 1.5, SE √(1/60 − 1/1000 + 1/40 − 1/1000) = 0.19917; exp(ln 1.5 ± 1.96·0.19917) = [1.0152, 2.2163].
    const lift = liftInterval(60, 1000, 40, 1000)!;
    expect(lift.rate).toBeCloseTo(0.5, 10);
    expect(lift.low).toBeCloseTo(0.0152, 3);
    expect(lift.high).toBeCloseTo(1.2163, 3);
  });

  it('is null while the priority rate is 0 or unknown, and has no interval while the optimized arm has no event', () => {
    expect(liftInterval(5, 100, 0, 100)).toBeNull();
    expect(liftInterval(5, 100, 3, 0)).toBeNull();
    expect(liftInterval(0, 0, 3, 100)).toBeNull();
    expect(liftInterval(0, 100, 3, 100)).toEqual({ rate: -1, low: null, high: null });
  });
});
