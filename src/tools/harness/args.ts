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

/**
 * Harness and benchmark nodes are throw-away: a fixed passphrase at the lowest scrypt cost
 * (unlocking is not what they measure), inherited by the ferry processes they start.
 */
export function useThrowawayPassphrase(): void {
  process.env.FERRY_PASSPHRASE = 'throw-away harness passphrase';
  process.env.FERRY_SCRYPT_LOG_N = '10';
  delete process.env.FERRY_PASSPHRASE_FILE;
}
