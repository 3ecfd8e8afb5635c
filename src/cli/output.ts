/**
 * Human and JSON output. In --json mode exactly one JSON document goes to stdout.
 * Every line for people passes through visible(): lines carry data from drives, bundles, EMRs
 * and identity cards, and no control character of theirs may reach the terminal. ferry's own
 * words have none; its only escape sequences (the progress line's) are added here, after.
 */
import type { FerryError } from '../core/errors.js';
import { size } from '../core/format-numbers.js';
import { visible, visibleJson } from '../core/visible-text.js';
import type { ProgressEvent, ProgressReporter } from '../node/context.js';

export interface Output {
  json: boolean;
  /** a line for people (ignored in --json mode) */
  line(text?: string): void;
  /** the result document (printed in --json mode) */
  result(doc: Record<string, unknown>): void;
  /** one result document on one line, for commands that stream one per item (watch --json) */
  event(doc: Record<string, unknown>, ok: boolean): void;
  /** a warning on stderr (both modes) */
  warn(text: string): void;
  error(err: FerryError): void;
  progress: ProgressReporter;
  done(): void;
}

export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export function makeOutput(command: string, json: boolean, streams: Streams): Output {
  let progressShown = false;
  const clearProgress = () => {
    if (progressShown) {
      streams.stderr.write('\r\x1b[K');
      progressShown = false;
    }
  };
  let lastDraw = 0;
  return {
    json,
    line(text = '') {
      if (!json) {
        clearProgress();
        streams.stdout.write(`${visible(text)}\n`);
      }
    },
    result(doc) {
      if (json) streams.stdout.write(`${visibleJson({ ok: true, command, ...doc }, 2)}\n`);
    },
    event(doc, ok) {
      if (json) streams.stdout.write(`${visibleJson({ ok, command, ...doc })}\n`);
    },
    warn(text) {
      clearProgress();
      streams.stderr.write(`ferry: ${visible(text)}\n`);
    },
    error(err) {
      clearProgress();
      if (json) {
        streams.stdout.write(`${visibleJson({ ok: false, command, error: err.toJSON() }, 2)}\n`);
      } else {
        streams.stderr.write(`ferry: error: ${visible(err.message)}\n`);
        if (err.hint) streams.stderr.write(`ferry: hint: ${visible(err.hint)}\n`);
      }
    },
    progress(e: ProgressEvent) {
      if (!streams.stderr.isTTY) return;
      const now = Date.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      const parts = [e.phase, e.item ?? ''];
      if (e.changesTotal) parts.push(`${e.changesDone ?? 0}/${e.changesTotal} changes`);
      else if (e.changesDone !== undefined) parts.push(`${e.changesDone} changes`);
      if (e.bytesDone !== undefined) parts.push(size(e.bytesDone));
      streams.stderr.write(`\r\x1b[K${visible(parts.filter(Boolean).join('  '))}`);
      progressShown = true;
    },
    done() {
      clearProgress();
    },
  };
}
