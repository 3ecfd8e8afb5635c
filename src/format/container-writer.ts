/**
 * Writing the zip container through archiver: stored entries, a fixed entry time. A module of
 * its own so that only commands that write a ferry file load archiver (container.ts reads).
 */
import { ZipArchive } from 'archiver';
import type { Readable, Writable } from 'node:stream';
import { ZIP_ENTRY_DATE } from './constants.js';

export interface ContainerSource {
  name: string;
  data: Buffer | Readable;
}

/**
 * Write a stored zip to `out`. Sources may be added after the writer started (the manifest is
 * only known once the payload stream has been hashed): call add() then finish().
 */
export class ContainerWriter {
  private readonly zip = new ZipArchive({ store: true });
  private readonly done: Promise<void>;

  constructor(out: Writable) {
    this.zip.pipe(out);
    this.done = new Promise((resolve, reject) => {
      out.on('close', resolve);
      out.on('error', reject);
      this.zip.on('error', reject);
    });
    // Awaited in finish(); a write error before then must not become an unhandled rejection.
    this.done.catch(() => undefined);
  }

  add(source: ContainerSource): void {
    this.zip.append(source.data, { name: source.name, date: ZIP_ENTRY_DATE() });
  }

  /** Finalise the zip and wait until `out` has closed. */
  async finish(): Promise<void> {
    const finalized = this.zip.finalize();
    finalized.catch(() => undefined);
    await Promise.race([Promise.all([finalized, this.done]), this.done]);
  }

  abort(): void {
    this.zip.abort();
  }
}

