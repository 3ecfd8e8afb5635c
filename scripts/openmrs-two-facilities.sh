#!/usr/bin/env bash
# Two OpenMRS-shaped health centres whose integer ids collide (each has a patient 1), one hub,
# one drive, through the real CLI: init, trust, track, export, import. Then sqlite3 on the hub's
# database shows both patient 1s side by side, each under its centre's ferry_origin (issue 14).
# The EMRs are fixtures/openmrs (made-up people, not real patient data).
#
#   npm run build && scripts/openmrs-two-facilities.sh [DIR]     (DIR: a new or empty folder)
#
# It prints each command; the setup's own output (keys, cards, trust) is left out. At the hub's
# import, RW-021's bundle finds six locations the hub already had from RW-017 (agreement) and one
# conflict: the Maternity row each centre described its own way. test/openmrs-scopes.test.ts runs
# it, so what it prints stays true.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-$(mktemp -d)}
mkdir -p "$W" && cd "$W"
export FERRY_PASSPHRASE=${FERRY_PASSPHRASE:-walkthrough-passphrase}
shown() { printf '$ ferry'; for a in "$@"; do case $a in *' '*) printf ' "%s"' "$a" ;; *) printf ' %s' "$a" ;; esac; done; echo; }
ferry() { shown "$@"; node "$ROOT/bin/ferry" "$@" | sed 's/^/  /'; }
quietly() { shown "$@"; node "$ROOT/bin/ferry" "$@" >/dev/null; }

node --input-type=module -e "
  const { buildOpenmrsEmr, openmrsSite } = await import(process.argv[1] + '/dist/tools/harness/openmrs.js');
  for (const id of ['RW-017', 'RW-021']) buildOpenmrsEmr(id.toLowerCase() + '.db', openmrsSite(id));" "$ROOT"
mkdir drive

quietly --home hub init --role hub --id HUB-KGL --name "Kigali hub"
quietly --home hub identity --out hub.card.json
for F in RW-017 RW-021; do
  f=$(echo "$F" | tr 'A-Z' 'a-z')
  quietly --home "$f" init --role facility --id "$F" --db "$f.db"
  quietly --home "$f" identity --out "$f.card.json"
  quietly --home "$f" trust hub.card.json
  quietly --home hub trust "$f.card.json"
  # Reference data every centre holds with the same uuids: shared. Everything else is the centre's own.
  ferry --home "$f" track --table location --key uuid --shared
  ferry --home "$f" track --table person,person_name,patient,patient_identifier,encounter,obs
  ferry --home "$f" export --to drive
done
ferry --home hub import --from drive

QUERY="SELECT p.ferry_origin, p.patient_id, i.identifier, n.given_name, n.family_name
  FROM patient p
  JOIN patient_identifier i ON i.ferry_origin = p.ferry_origin AND i.patient_id = p.patient_id AND i.preferred = 1
  JOIN person_name n ON n.ferry_origin = p.ferry_origin AND n.person_id = p.patient_id
  WHERE p.patient_id = 1 ORDER BY p.ferry_origin"
echo "\$ sqlite3 -header hub/hub.db \"$QUERY\""
if command -v sqlite3 >/dev/null; then
  sqlite3 -header hub/hub.db "$QUERY"
else # the same output through the project's own SQLite driver, where the sqlite3 shell is not installed
  node --input-type=module -e "
    const { default: Database } = await import(process.argv[1] + '/node_modules/better-sqlite3/lib/index.js');
    const db = new Database('hub/hub.db', { readonly: true });
    const rows = db.prepare(process.argv[2]).all();
    console.log(Object.keys(rows[0] ?? {}).join('|'));
    for (const r of rows) console.log(Object.values(r).join('|'));" "$ROOT" "$QUERY"
fi
