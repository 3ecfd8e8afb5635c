#!/usr/bin/env bash
# A transferred patient's record reaches the next facility, through the real CLI (issue 16). Two
# OpenMRS-shaped health centres send everything to the hub (scripts/openmrs-two-facilities.sh);
# then RW-017's patient 5 arrives at RW-021 with a card that reads RW-MUH-017-000005. The officer
# at RW-021 asks the hub for the record by that identifier; the request rides on the drive, the
# hub answers it, and the drive after that brings the patient's person, names, identifiers,
# encounters and observations into RW-021's received database. The EMRs are fixtures/openmrs
# (made-up people, not real patient data).
#
#   npm run build && scripts/openmrs-transfer.sh [DIR]     (DIR: a new or empty folder)
#
# test/records-travel-cli.test.ts runs it, so what it prints stays true; docs/OPERATIONS.md
# ("Records travel back") shows the same commands.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-$(mktemp -d)}
bash "$ROOT/scripts/openmrs-two-facilities.sh" "$W" >/dev/null
cd "$W"
export FERRY_PASSPHRASE=${FERRY_PASSPHRASE:-walkthrough-passphrase}
shown() { printf '$ ferry'; for a in "$@"; do case $a in *' '*) printf ' "%s"' "$a" ;; *) printf ' %s' "$a" ;; esac; done; echo; }
ferry() { shown "$@"; node "$ROOT/bin/ferry" "$@" | sed 's/^/  /'; }
quietly() { shown "$@"; node "$ROOT/bin/ferry" "$@" >/dev/null; }

# The drive comes back from the hub: each centre reads its acks.
quietly --home rw-017 import --from drive
quietly --home rw-021 import --from drive

# What would travel if the hub operator sent RW-017's patient 5 (nothing is queued by a dry run).
ferry --home hub send --to RW-021 --from-facility RW-017 --table patient --key 5 --dry-run
# At RW-021 the officer has only the card: a request, on the next drive.
ferry --home rw-021 request --table patient_identifier --where identifier=RW-MUH-017-000005 --reason "transferred for surgery"
ferry --home rw-021 export --to drive
# A courier's view: who asks whom, never what (no key needed).
ferry inspect drive
ferry --home hub import --from drive
ferry --home hub export --to drive
ferry --home rw-021 import --from drive
# The receipt goes back to the hub: it stops sending what arrived.
ferry --home hub import --from drive
ferry --home rw-021 status

QUERY="SELECT p.ferry_origin, p.patient_id, i.identifier, n.given_name, n.family_name,
    (SELECT count(*) FROM encounter e WHERE e.ferry_origin = p.ferry_origin AND e.patient_id = p.patient_id) AS encounters,
    (SELECT count(*) FROM obs o WHERE o.ferry_origin = p.ferry_origin AND o.person_id = p.patient_id) AS obs
  FROM patient p
  JOIN patient_identifier i ON i.ferry_origin = p.ferry_origin AND i.patient_id = p.patient_id AND i.preferred = 1
  JOIN person_name n ON n.ferry_origin = p.ferry_origin AND n.person_id = p.patient_id"
echo "\$ sqlite3 -header rw-021/received.db \"$QUERY\""
if command -v sqlite3 >/dev/null; then
  sqlite3 -header rw-021/received.db "$QUERY"
else # the same output through the project's own SQLite driver, where the sqlite3 shell is not installed
  node --input-type=module -e "
    const { default: Database } = await import(process.argv[1] + '/node_modules/better-sqlite3/lib/index.js');
    const db = new Database('rw-021/received.db', { readonly: true });
    const rows = db.prepare(process.argv[2]).all();
    console.log(Object.keys(rows[0] ?? {}).join('|'));
    for (const r of rows) console.log(Object.values(r).join('|'));" "$ROOT" "$QUERY"
fi
