/** SQL text helpers for capture and apply. */
export const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Milliseconds since the Unix epoch, in SQL every SQLite version understands (triggers run in the EMR's library). */
export const SQL_NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
