/**
 * A look at a record's JSON text before JSON.parse builds it: parsing a line of a million `[`
 * costs a million arrays (a 5 KB bundle ran the reader out of memory), so the nesting depth and
 * the number of commas are bounded first, in one pass that builds nothing.
 */

export interface JsonShape {
  /** deepest nesting of arrays and objects seen (stops counting past the limit) */
  depth: number;
  /** commas outside strings */
  commas: number;
  /** colons outside strings: one per object member, so a parsed value with fewer members had duplicates */
  colons: number;
}

/**
 * Scan `text`, stopping as soon as the depth passes `maxDepth` or the commas pass `maxCommas`.
 * Malformed JSON is not judged here (JSON.parse does that next); an unterminated string ends the
 * scan. Strings are skipped with indexOf, so a long value costs a native scan, not a JS loop.
 */
export function scanJson(text: string, maxDepth: number, maxCommas: number): JsonShape {
  let depth = 0;
  let deepest = 0;
  let commas = 0;
  let colons = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = closingQuote(text, i);
      if (i < 0) break;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) deepest = depth;
      if (deepest > maxDepth) break;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === 0x2c) {
      if (++commas > maxCommas) break;
    } else if (c === 0x3a) {
      colons++;
    }
  }
  return { depth: deepest, commas, colons };
}

/** Index of the quote that closes the string opened at `open`, or -1. */
function closingQuote(text: string, open: number): number {
  let j = open;
  for (;;) {
    j = text.indexOf('"', j + 1);
    if (j < 0) return -1;
    // Escaped when preceded by an odd run of backslashes; each run is walked once.
    let k = j - 1;
    while (text.charCodeAt(k) === 0x5c) k--;
    if ((j - 1 - k) % 2 === 0) return j;
  }
}

/** Members of every object in a parsed value (to compare with the colons the text held). */
export function memberCount(value: unknown): number {
  if (Array.isArray(value)) {
    let n = 0;
    for (const v of value) n += memberCount(v);
    return n;
  }
  if (typeof value === 'object' && value !== null) {
    let n = 0;
    for (const v of Object.values(value)) n += 1 + memberCount(v);
    return n;
  }
  return 0;
}
