import { describe, expect, it } from 'vitest';
import { sampleBeta, sampleGamma, sampleNormal, seededRandom } from '../../src/decide/sampling.js';

function moments(draws: number[]): { mean: number; variance: number } {
  const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
  const variance = draws.reduce((s, x) => s + (x - mean) ** 2, 0) / (draws.length - 1);
  return { mean, variance };
}

function draw(n: number, sample: () => number): number[] {
  return Array.from({ length: n }, sample);
}

describe('seededRandom', () => {
  it('repeats its sequence for a seed, differs between seeds, and stays in [0, 1)', () => {
    const a = draw(1000, seededRandom(42));
    expect(draw(1000, seededRandom(42))).toEqual(a);
    expect(draw(1000, seededRandom(43))).not.toEqual(a);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...a)).toBeLessThan(1);
    // Uniform: mean 1/2, variance 1/12, each tenth about as full as the others.
    const { mean, variance } = moments(draw(100_000, seededRandom(7)));
    expect(mean).toBeCloseTo(0.5, 2);
    expect(variance).toBeCloseTo(1 / 12, 3);
  });
});

describe('sampleNormal', () => {
  it('has mean 0 and variance 1 (fixed seed, tolerance)', () => {
    const random = seededRandom(1);
    const { mean, variance } = moments(draw(100_000, () => sampleNormal(random)));
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
  });
});

describe('sampleGamma', () => {
  it.each([0.5, 1, 2.5, 30, 5000])('Gamma(%d) has mean and variance equal to its shape', (shape) => {
    const random = seededRandom(11);
    const { mean, variance } = moments(draw(50_000, () => sampleGamma(shape, random)));
    // Standard errors: mean √(k/n), variance about k·√(2/n) (with excess kurtosis 6/k).
    expect(Math.abs(mean - shape)).toBeLessThan(5 * Math.sqrt(shape / 50_000));
    expect(Math.abs(variance - shape) / shape).toBeLessThan(0.05 * Math.max(1, Math.sqrt(1 / shape)));
  });

  it('refuses a shape that is not positive', () => {
    expect(() => sampleGamma(0, seededRandom(1))).toThrow(RangeError);
  });
});

describe('sampleBeta', () => {
  it.each([
    [1, 1],
    [2, 5],
    [1 + 3, 1 + 97],
    [1 + 400, 1 + 9600],
  ])('Beta(%d, %d) has the known mean and variance', (alpha, beta) => {
    const random = seededRandom(2026);
    const draws = draw(50_000, () => sampleBeta(alpha, beta, random));
    const { mean, variance } = moments(draws);
    const expectedMean = alpha / (alpha + beta);
    const expectedVariance = (alpha * beta) / ((alpha + beta) ** 2 * (alpha + beta + 1));
    expect(Math.abs(mean - expectedMean)).toBeLessThan(5 * Math.sqrt(expectedVariance / 50_000));
    expect(Math.abs(variance - expectedVariance) / expectedVariance).toBeLessThan(0.05);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThanOrEqual(1);
  });

  it('puts Beta(1, 1) evenly over [0, 1]: each tenth holds about a tenth of the draws', () => {
    const random = seededRandom(5);
    const tenths = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) tenths[Math.min(9, Math.floor(sampleBeta(1, 1, random) * 10))]! += 1;
    for (const count of tenths) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('orders two items by their rates most of the time once their counts are large, and not when they are small', () => {
    const random = seededRandom(9);
    let better = 0;
    for (let i = 0; i < 10_000; i++) if (sampleBeta(1 + 80, 1 + 920, random) > sampleBeta(1 + 40, 1 + 960, random)) better++;
    expect(better / 10_000).toBeGreaterThan(0.99);
    let early = 0;
    for (let i = 0; i < 10_000; i++) if (sampleBeta(1 + 1, 1 + 9, random) > sampleBeta(1 + 0, 1 + 10, random)) early++;
    expect(early / 10_000).toBeGreaterThan(0.55);
    expect(early / 10_000).toBeLessThan(0.9);
  });
});
