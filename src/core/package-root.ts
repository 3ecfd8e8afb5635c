import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding ferry's package.json. Code runs from src/ (tests, via tsx) and from
 * dist/ (the built CLI) at different depths, so walk up instead of hard-coding `../..`.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'schemas'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the ferry package root (package.json + schemas/)');
    dir = up;
  }
}
