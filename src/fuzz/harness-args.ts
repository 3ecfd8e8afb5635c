/** Command-line numbers and a seeded random source, shared by the hardening harnesses. */
export function numberArg(args: string[], name: string, dflt: number): number {
  return args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt;
}

/** xorshift32: the same seed gives the same run. Returns numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}
