// Regenerates fixtures/vectors/v2, the vector of the bundle version ferry writes (run: npm run
// make-vector). Only needed when the writer legitimately changes its bytes, which it must not do
// without a spec change, or when a negative vector is added. fixtures/vectors/v1 is frozen: no
// generator writes it, and readers must keep reading it as it is.
import { mkdirSync } from 'node:fs';
import { makeVector, VECTOR_DIR, VECTOR_ZLIB } from '../test/helpers/vector.js';

const dir = new URL(`../fixtures/vectors/${VECTOR_DIR}/`, import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
await makeVector(dir);
// The compressed bytes are zlib's: another zlib may write other (equally valid) bytes, and the
// byte-for-byte test would then fail. FORMAT.md names the zlib the committed vector came from.
console.log(`wrote ${dir} with Node ${process.versions.node}'s zlib ${process.versions.zlib}`);
if (process.versions.zlib !== VECTOR_ZLIB) console.log(`note: FORMAT.md and test/helpers/vector.ts name zlib ${VECTOR_ZLIB}; update both if this run's bytes are committed`);
