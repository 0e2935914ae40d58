/**
 * Chance for optimized ranking (contract section 10), as pure functions of a
 * uniform random source that decide() is given (STYLE.md habit 11): a seeded
 * source makes every draw repeatable in tests and the benchmark.
 */

/** A source of uniform numbers in [0, 1), like Math.random. */
export type RandomSource = () => number;

/**
 * A seeded uniform source (sfc32, seeded through splitmix32): fast, passes
 * PractRand far beyond what a test draws, and the same seed always gives the
 * same sequence. For tests and the benchmark; the service uses Math.random.
 */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  const splitmix = (): number => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
}

/** A standard normal draw (Marsaglia's polar method): no trigonometry, one log and one square root. */
export function sampleNormal(random: RandomSource): number {
  for (;;) {
    const u = 2 * random() - 1;
    const v = 2 * random() - 1;
    const s = u * u + v * v;
    if (s > 0 && s < 1) return u * Math.sqrt((-2 * Math.log(s)) / s);
  }
}

/**
 * A Gamma(shape, 1) draw by Marsaglia and Tsang's method (2000): a squeeze
 * accepts about 98% of draws at once, for any shape ≥ 1, in constant time
 * however large the shape (the counts of a busy item). A shape of 1 is an
 * exponential draw; a shape below 1 is drawn as Gamma(shape + 1) · U^(1/shape).
 */
export function sampleGamma(shape: number, random: RandomSource): number {
  if (!(shape > 0)) throw new RangeError(`a gamma shape must be positive, not ${shape}`);
  // Gamma(1) is the exponential: one draw, exactly. Beta(1, 1 + n), an item never taken, is the common case.
  if (shape === 1) return -Math.log(1 - random());
  if (shape < 1) return sampleGamma(shape + 1, random) * Math.pow(1 - random(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = sampleNormal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - random();
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A Beta(alpha, beta) draw: X / (X + Y) of two gamma draws. */
export function sampleBeta(alpha: number, beta: number, random: RandomSource): number {
  const x = sampleGamma(alpha, random);
  const y = sampleGamma(beta, random);
  return x / (x + y);
}
