/**
 * The hub database on PostgreSQL: the same bookkeeping as the SQLite hub database
 * (src/store/sqlite/hub-db.ts), plus what a SQLite hub keeps in its home's state.db (peers,
 * retired keys, the audit log) and quarantine records: everything several import stations must
 * share lives here (docs/OPERATIONS.md "PostgreSQL hub"). All of it is in one schema; hub tables
 * are made beside it with typed columns (see column-types.ts).
 *
 * Names compare without case at the hub, as SQLite compares them: each name is kept as first
 * spelled, and a unique name_key (lower-case) makes "Patient" and "patient" one table.
 */

/**
 * The schema's version, kept in ferry_meta. 2 as in SQLite: table scopes (facility-owned tables
 * have ferry_origin first). A PostgreSQL hub is born at 2: there is no older one to migrate.
 */
export const PG_SCHEMA_VERSION = 2;

export const PG_SCHEMA = `
CREATE TABLE IF NOT EXISTS ferry_meta (name text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS ferry_tables (
  name text NOT NULL, name_key text PRIMARY KEY, key_columns text NOT NULL, columns text NOT NULL,
  scope text NOT NULL CHECK (scope IN ('facility', 'shared'))
);
CREATE TABLE IF NOT EXISTS ferry_bundles (
  origin text NOT NULL, bundle_id text NOT NULL, first_seq bigint NOT NULL, last_seq bigint NOT NULL,
  changes bigint NOT NULL, applied bigint NOT NULL, already_present bigint NOT NULL, conflicts bigint NOT NULL,
  rejected bigint NOT NULL, created text NOT NULL, applied_at text NOT NULL, file text NOT NULL,
  station text NOT NULL DEFAULT '', n bigserial,
  PRIMARY KEY (origin, bundle_id)
);
CREATE INDEX IF NOT EXISTS ferry_bundles_by_id ON ferry_bundles (bundle_id);
CREATE TABLE IF NOT EXISTS ferry_applied (origin text NOT NULL, first_seq bigint NOT NULL, last_seq bigint NOT NULL, PRIMARY KEY (origin, first_seq));
CREATE TABLE IF NOT EXISTS ferry_rows (
  tbl text NOT NULL, key text NOT NULL, origin text NOT NULL, seq bigint NOT NULL,
  wall bigint NOT NULL, counter bigint NOT NULL, deleted smallint NOT NULL, ahead smallint NOT NULL DEFAULT 0,
  PRIMARY KEY (tbl, key)
);
CREATE TABLE IF NOT EXISTS ferry_shared_rows (
  tbl text NOT NULL, key text NOT NULL, origin text NOT NULL, seq bigint NOT NULL, columns text NOT NULL,
  PRIMARY KEY (tbl, key, origin)
);
CREATE TABLE IF NOT EXISTS ferry_conflicts (
  id bigserial PRIMARY KEY, tbl text NOT NULL, key text NOT NULL, detected_at text NOT NULL, bundle_id text NOT NULL,
  current_origin text NOT NULL, current_seq bigint NOT NULL, current_clock text NOT NULL, current_row text,
  other_origin text NOT NULL, other_seq bigint NOT NULL, other_clock text NOT NULL, other_row text,
  resolved_at text, resolution text, flag text, repeats bigint NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ferry_conflicts_by_row ON ferry_conflicts (tbl, key);
CREATE TABLE IF NOT EXISTS ferry_rejected (
  origin text NOT NULL, seq bigint NOT NULL, tbl text NOT NULL, reason text NOT NULL,
  first_at text NOT NULL, at text NOT NULL, bundle_id text NOT NULL, attempts bigint NOT NULL,
  PRIMARY KEY (origin, seq)
);
CREATE TABLE IF NOT EXISTS ferry_peers (
  id text NOT NULL, id_key text PRIMARY KEY, name text NOT NULL, role text NOT NULL,
  signing_key bytea NOT NULL, encryption_key bytea NOT NULL, fingerprint text NOT NULL,
  trusted_at text NOT NULL, revoked_at text, revoked_reason text
);
CREATE TABLE IF NOT EXISTS ferry_retired_keys (
  peer_key text NOT NULL, fingerprint text NOT NULL, signing_key bytea NOT NULL, encryption_key bytea NOT NULL,
  retired_at text NOT NULL, replaced_by text NOT NULL,
  PRIMARY KEY (peer_key, fingerprint)
);
CREATE TABLE IF NOT EXISTS ferry_audit (
  id bigserial PRIMARY KEY, at text NOT NULL, node text NOT NULL, station text NOT NULL DEFAULT '',
  action text NOT NULL, peer text, bundle_id text, outcome text NOT NULL, detail text
);
CREATE TABLE IF NOT EXISTS ferry_quarantine (
  id bigserial PRIMARY KEY, station text NOT NULL, file text NOT NULL, original text NOT NULL, at text NOT NULL,
  sender text, bundle_id text, reason text NOT NULL,
  UNIQUE (station, file)
);
`;
