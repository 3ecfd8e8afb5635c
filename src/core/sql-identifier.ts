/**
 * Quoting a name for SQL, shared by the EMR's change log (capture/) and the hub store (store/).
 * It sits in core because it belongs to neither: capture has no reason to depend on the hub's
 * storage layer for it. Only names that passed the name rules are ever quoted with it.
 */

/** A checked identifier, quoted for SQLite: a double quote inside it is doubled. */
export const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;
