/**
 * Loaded into a ferry child with `--import` by test/lock.test.ts: each time the child finds its
 * node's lock held (the O_EXCL create fails), it appends the time to FERRY_TEST_LOCK_PROBE. So a
 * test sees the child try the lock, and try it again while it waits, instead of guessing how
 * long the child takes to start. Plain JavaScript: the child runs the built CLI, without tsx.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const probe = process.env.FERRY_TEST_LOCK_PROBE;
const openSync = fs.openSync;
fs.openSync = function probedOpenSync(path, flags, ...rest) {
  try {
    return openSync.call(this, path, flags, ...rest);
  } catch (err) {
    if (probe && flags === 'wx' && String(path).endsWith('/lock') && err.code === 'EEXIST') fs.appendFileSync(probe, `${Date.now()}\n`);
    throw err;
  }
};
// ferry imports openSync by name: make the named export the probed one too.
syncBuiltinESMExports();
