/**
 * One caller at a time, in the order they came (first in, first out). The SQLite hub store has
 * one connection, and a bundle's transaction stays open across every await of its record
 * stream: whatever else ran on that connection meanwhile would run inside that transaction
 * (committed or rolled back with the bundle, seeing its uncommitted rows). Not re-entrant: code
 * holding it must not call back into the store.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    // The next caller waits for this one to settle, whether it succeeded or threw.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
