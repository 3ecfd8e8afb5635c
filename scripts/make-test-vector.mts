// Regenerates fixtures/vectors/v1 (run: npm run make-vector). Only needed when format v1's
// writer legitimately changes its bytes, which it must not do without a spec change.
import { mkdirSync } from 'node:fs';
import { makeVector } from '../test/helpers/vector.js';

const dir = new URL('../fixtures/vectors/v1/', import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
await makeVector(dir);
console.log(`wrote ${dir}`);
