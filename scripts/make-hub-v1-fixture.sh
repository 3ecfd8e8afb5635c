#!/usr/bin/env bash
# Regenerates fixtures/hub-v1/: a hub database made by the ferry before issue 14 (commit 299808f,
# hub.db schema version 1), which merged every facility's rows by the source key. Two health
# centres whose integer patient ids collide send their patients and a location list through it,
# so the old database holds merged rows AND open conflicts between rows that were never the same.
#
#   scripts/make-hub-v1-fixture.sh [OLD_FERRY_CHECKOUT]
#
# OLD_FERRY_CHECKOUT is a checkout of 299808f with node_modules and a build; without it the
# script makes one in a temporary git worktree (and removes it afterwards). Everything runs
# through the old ferry's own CLI, as an operator would have run it: nothing is written by hand
# into any ferry database. Only the EMRs are edited directly, as the health centres' own
# application would. fixtures/hub-v1/README.md says what the result holds.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT="$REPO/fixtures/hub-v1"
OLD_COMMIT=299808f

OLD=${1:-}
CLEANUP_WORKTREE=
if [[ -z "$OLD" ]]; then
  OLD=$(mktemp -d /tmp/ferry-299808f.XXXXXX)
  rmdir "$OLD"
  git -C "$REPO" worktree add --detach "$OLD" "$OLD_COMMIT" >/dev/null
  CLEANUP_WORKTREE=$OLD
  ln -s "$REPO/node_modules" "$OLD/node_modules"
  (cd "$OLD" && npm run build >/dev/null)
fi
[[ "$(git -C "$OLD" rev-parse --short=7 HEAD)" == "$OLD_COMMIT" ]] || { echo "$OLD is not a checkout of $OLD_COMMIT" >&2; exit 2; }

ROOT=$(mktemp -d /tmp/ferry-hub-v1.XXXXXX)
cleanup() {
  rm -rf "$ROOT"
  if [[ -n "$CLEANUP_WORKTREE" ]]; then git -C "$REPO" worktree remove --force "$CLEANUP_WORKTREE"; fi
}
trap cleanup EXIT

# Throw-away keys: the fixture's passphrase is public, and the lowest scrypt cost keeps tests fast.
export FERRY_PASSPHRASE='test passphrase for ferry' # test/helpers/env.ts's TEST_PASSPHRASE
export FERRY_SCRYPT_LOG_N=10
unset FERRY_PASSPHRASE_FILE FERRY_HOME
ferry() { node "$OLD/bin/ferry" "$@"; }
DRIVE="$ROOT/drive"
mkdir -p "$DRIVE"

# Each health centre's EMR: patients keyed by a local auto-increment integer (OpenMRS-style),
# locations keyed by a uuid every site shares.
for f in rw-017 rw-021; do
  sqlite3 "$ROOT/emr-$f.db" >/dev/null <<'SQL'
PRAGMA journal_mode = WAL;
CREATE TABLE patient (patient_id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE location (uuid TEXT PRIMARY KEY, name TEXT NOT NULL);
SQL
done

ferry init --home "$ROOT/hub" --role hub --id HUB-1 --name "Regional hub"
ferry identity --home "$ROOT/hub" --out "$ROOT/HUB-1.card.json" >/dev/null
for f in RW-017 RW-021; do
  lower=$(echo "$f" | tr 'A-Z' 'a-z')
  ferry init --home "$ROOT/$lower" --role facility --id "$f" --db "$ROOT/emr-$lower.db"
  ferry identity --home "$ROOT/$lower" --out "$ROOT/$f.card.json" >/dev/null
  ferry trust --home "$ROOT/$lower" "$ROOT/HUB-1.card.json"
  ferry trust --home "$ROOT/hub" "$ROOT/$f.card.json"
  ferry track --home "$ROOT/$lower" --table patient,location
done

# One round: the facility exports, the hub imports, the facility reads the hub's ack.
round() {
  local lower=$1
  ferry export --home "$ROOT/$lower" --to "$DRIVE"
  ferry import --home "$ROOT/hub" --from "$DRIVE" || [[ $? -eq 1 ]] # 1: imported, with conflicts
  ferry import --home "$ROOT/$lower" --from "$DRIVE"
}

sqlite3 "$ROOT/emr-rw-017.db" <<'SQL'
INSERT INTO patient (uuid, name) VALUES ('a1c0f6e2-0017-4000-8000-000000000001', 'Alice Uwase'), ('a1c0f6e2-0017-4000-8000-000000000002', 'Bosco Habimana');
INSERT INTO location (uuid, name) VALUES ('5e2b3c1a-0000-4000-8000-00000000c001', 'Kigali'), ('5e2b3c1a-0000-4000-8000-00000000c002', 'Huye');
SQL
round rw-017

# The second centre's patients 1 and 2 collide with the first's: the old hub took them as
# conflicting edits of one row, and kept this centre's (its clock is later). Location c001 is
# the same row (agreement); c002 differs (a true conflict of a shared list).
sleep 1
sqlite3 "$ROOT/emr-rw-021.db" <<'SQL'
INSERT INTO patient (uuid, name) VALUES ('b2d1a7f3-0021-4000-8000-000000000001', 'Claire Mukamana'), ('b2d1a7f3-0021-4000-8000-000000000002', 'Denis Nkurunziza'), ('b2d1a7f3-0021-4000-8000-000000000003', 'Eric Mugisha');
INSERT INTO location (uuid, name) VALUES ('5e2b3c1a-0000-4000-8000-00000000c001', 'Kigali'), ('5e2b3c1a-0000-4000-8000-00000000c002', 'Huye Hospital');
SQL
round rw-021

# The first centre edits its patient 1 and deletes its patient 2. Later clocks: at the old hub
# they overwrite the second centre's patient 1 and delete its patient 2 (the bug issue 14 fixes).
sleep 1
sqlite3 "$ROOT/emr-rw-017.db" <<'SQL'
UPDATE patient SET name = 'Alice Uwase Ingabire' WHERE patient_id = 1;
DELETE FROM patient WHERE patient_id = 2;
SQL
round rw-017

# The hub's operator, taking the two patient 1s for one patient edited twice, keeps RW-021's
# version (`conflicts resolve --keep other`): the old hub overwrites RW-017's patient 1 with it.
id=$(sqlite3 "$ROOT/hub/hub.db" "SELECT id FROM ferry_conflicts WHERE tbl = 'patient' AND key = '[1]'")
ferry conflicts --home "$ROOT/hub" resolve "$id" --keep other

for db in "$ROOT/hub/hub.db" "$ROOT"/*/state.db "$ROOT"/emr-*.db; do
  sqlite3 "$db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
done

# Only what the script makes is replaced: README.md stays.
rm -rf "$OUT/hub" "$OUT/rw-017" "$OUT/rw-021" "$OUT"/emr-*.db "$OUT"/*.card.json
mkdir -p "$OUT"
cp -a "$ROOT/hub" "$ROOT/rw-017" "$ROOT/rw-021" "$ROOT"/emr-*.db "$ROOT"/*.card.json "$OUT/"
rm -f "$OUT"/*/lock "$OUT"/*-wal "$OUT"/*-shm "$OUT"/*/*-wal "$OUT"/*/*-shm
# node.json holds the absolute paths of the folder this ran in, and git keeps no file modes:
# test/helpers/hub-v1.ts copies the fixture, points the paths at the copy and makes it private.
echo "fixtures/hub-v1 regenerated by ferry $OLD_COMMIT"
