#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Abuse suite, CLI and files part (issue 15, docs/security.md): what a
# careless operator, a full or read-only disk and a hostile input file do to
# restockctl and restockd's database.
#   test_abuse_cli.sh RESTOCKD RESTOCKCTL CTL_SEED RESTOCK_SIM
# Checks:
#   - restockctl's reports never create a database ("no database at PATH")
#     and work in a read-only directory; decisions never create one either
#   - an empty or foreign database file is refused by restockd and restockctl
#     and left untouched; `restockctl init-db` is the explicit step that makes
#     one (also in place of an empty file, keeping its owner)
#   - replay input is bounded (a NUL byte, bytes, lines); --url takes only
#     http(s)
set -u
restockd=$1 restockctl=$2 seed=$3 sim=$4
fails=0
tmp=$(mktemp -d /tmp/restock-abuse-cli-XXXXXX)
trap 'chmod -R u+rwX "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

check() { # description, then the command's status in $?
  local rc=$?
  if [ "$rc" -eq 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi
}

# binaries where another user can run them (the read-only test runs as nobody when root)
cp "$restockd" "$restockctl" "$seed" "$sim" "$tmp/"
restockd=$tmp/$(basename "$restockd")
restockctl=$tmp/$(basename "$restockctl")
seed=$tmp/$(basename "$seed")
sim=$tmp/$(basename "$sim")
chmod 755 "$tmp" "$restockd" "$restockctl" "$seed" "$sim"

state=$tmp/state
db=$state/restock.db
mkdir -p "$tmp/cfg/devices.d" "$state"
cat >"$tmp/cfg/restock.yaml" <<EOF
gateway: {id: abuse-gw}
http: {listen: 127.0.0.1:1}
storage: {path: $db}
orders: {currency: EUR}
catalog:
  - {sku: F-1, supplier: acme, unit_price: "12.50"}
suppliers: [{id: acme}]
EOF
cat >"$tmp/cfg/devices.d/press.yaml" <<EOF
devices:
  - id: press-01
    transport: {type: modbus-tcp, host: 127.0.0.1, port: 1}
    points: [{id: dp, register: holding, address: 0, type: uint16}]
    consumables:
      - {id: filter, sku: F-1, level: {point: dp, full: 0, empty: 100}}
EOF
chmod -R a+rX "$tmp/cfg"
ctl() { "$restockctl" --config "$tmp/cfg" "$@"; }

# limited KIB CMD...: CMD with a file size limit of KIB KiB, stdout to $tmp/out; its
# stderr (through a pipe, which no limit stops) in $err, its status in $rc
limited() {
  local kib=$1
  shift
  err=$( (ulimit -f "$kib" && exec "$@" >"$tmp/out") 2>&1 )
  rc=$?
}


# ---- no database: reports and decisions create nothing ----
out=$(ctl orders list 2>&1); rc=$?
[ "$rc" = 1 ] && grep -q "no database at $db" <<<"$out"
check "orders list without a database: exit 1, 'no database at $db' ($out)"
[ ! -e "$db" ] && [ -z "$(ls -A "$state")" ]
check "orders list created no file"
out=$(ctl orders approve R-20261207-0001-ABCDEF 2>&1); rc=$?
[ "$rc" = 1 ] && grep -q "no database at $db" <<<"$out" && [ -z "$(ls -A "$state")" ]
check "orders approve without a database: exit 1, no file created"
out=$(ctl consumables set-spares press-01/filter 2 2>&1); rc=$?
[ "$rc" = 1 ] && grep -q "no database at $db" <<<"$out" && [ -z "$(ls -A "$state")" ]
check "consumables set-spares without a database: exit 1, no file created"

# ---- an empty file: refused by everyone, left as it is ----
: >"$db"
chmod 600 "$db"
out=$(ctl orders list 2>&1); rc=$?
[ "$rc" = 1 ] && grep -q "is empty (0 bytes)" <<<"$out"
check "orders list on an empty file: refused ($out)"
out=$(timeout 20 "$restockd" --config "$tmp/cfg" 2>&1); rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "is empty (0 bytes)" <<<"$out"
check "restockd refuses an empty database file at start (rc $rc)"
[ ! -s "$db" ] && [ "$(ls -A "$state")" = restock.db ]
check "the empty file is left untouched"

# ---- a foreign SQLite database: refused, untouched ----
rm -f "$db"
/usr/bin/python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE customers(id, name)'); c.execute(\"INSERT INTO customers VALUES(1, 'x')\"); c.commit()" "$db"
sum=$(sha256sum <"$db")
out=$(ctl orders list 2>&1); rc=$?
[ "$rc" = 1 ] && grep -q "not a restock database" <<<"$out"
check "orders list on another program's database: refused ($out)"
out=$(timeout 20 "$restockd" --config "$tmp/cfg" 2>&1); rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "not a restock database" <<<"$out"
check "restockd refuses another program's database (rc $rc)"
[ "$(sha256sum <"$db")" = "$sum" ] && [ "$(ls -A "$state")" = restock.db ]
check "the foreign database is left untouched (no -wal, no change)"

# ---- the explicit step: init-db, in place of an empty file ----
rm -f "$db"
: >"$db"
chmod 640 "$db"
out=$(ctl init-db 2>&1); rc=$?
[ "$rc" = 0 ] && grep -q "created the database" <<<"$out"
check "init-db turns an empty file into the database ($out)"
[ "$(stat -c %a "$db")" = 640 ]
check "init-db kept the file's mode"
out=$(ctl init-db 2>&1); rc=$?
[ "$rc" = 1 ] && grep -q "exists already" <<<"$out"
check "init-db never touches an existing database"
out=$(ctl orders list 2>&1); rc=$?
[ "$rc" = 0 ] && grep -q "^ORDER" <<<"$out"
check "orders list reads the new database"

# ---- a read-only directory: reports work, nothing is written ----
oid=$("$seed" "$db" press-01/filter F-1 2 1250) || oid=
[ -n "$oid" ]
check "an order seeded ($oid)"
rm -f "$db-wal" "$db-shm"
runner=()
if [ "$(id -u)" = 0 ]; then
  chown -R 65534:65534 "$state"
  runner=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
chmod 500 "$state"
before=$(ls -A "$state")
out=$("${runner[@]}" "$restockctl" --config "$tmp/cfg" orders list 2>&1); rc=$?
[ "$rc" = 0 ] && grep -q "$oid" <<<"$out"
check "orders list in a read-only directory lists the order (rc $rc: $out)"
out=$("${runner[@]}" "$restockctl" --config "$tmp/cfg" orders show "$oid" 2>&1); rc=$?
[ "$rc" = 0 ] && grep -q "$oid" <<<"$out"
check "orders show in a read-only directory"
[ "$(ls -A "$state")" = "$before" ]
check "nothing was created in the read-only directory"
chmod 700 "$state"

# ---- another user: the error names the owner to run as (root only: needs a third user) ----
if [ "$(id -u)" = 0 ]; then
  owner=$(getent passwd 65534 | cut -d: -f1)
  other=(setpriv --reuid=1 --regid=1 --clear-groups)
  out=$("${other[@]}" "$restockctl" --config "$tmp/cfg" orders list 2>&1); rc=$?
  [ "$rc" = 1 ] && grep -q "cannot open database $db: Permission denied ($state is owned by $owner, mode 0700, and this runs as .*: for restockd, give it to the user it runs as (chown .* $state); run restockctl as $owner or root, e.g. sudo -u $owner restockctl" <<<"$out"
  check "orders list as another user names the state directory's owner (rc $rc: $out)"
  chmod 755 "$state"
  chmod 600 "$db"
  out=$("${other[@]}" "$restockctl" --config "$tmp/cfg" consumables set-spares press-01/filter 1 2>&1); rc=$?
  [ "$rc" = 1 ] && grep -q "$db is owned by $owner, mode 0600, and this runs as .*: .* run restockctl as $owner or root" <<<"$out"
  check "set-spares as another user names the database's owner (rc $rc: $out)"
  # a restored copy left readable but not writable (cp as root): restockd is told to chown it
  chmod 644 "$db"
  rm -f "$db-wal" "$db-shm"
  out=$(timeout 20 "${other[@]}" "$restockd" --config "$tmp/cfg" 2>&1); rc=$?
  [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "$db is owned by $owner, mode 0644, and this runs as .*: for restockd, give it to the user it runs as (chown .* $db)" <<<"$out"
  check "restockd on a database it may read but not write says to chown it (rc $rc: $out)"
  chmod 600 "$db"
  chmod 700 "$state"
else
  echo "skip: another user's view needs root"
fi

# ---- a damaged database file: refused, naming the way out ----
cp "$db" "$tmp/good.db"
head -c 20000 "$tmp/good.db" >"$db"
rm -f "$db-wal" "$db-shm"
out=$(ctl orders list 2>&1); rc=$?
[ "$rc" = 1 ] && grep -q "cannot read database $db: .*(the file is damaged: stop restockd, keep this file aside and restore the last backup" <<<"$out"
check "orders list on a truncated database names the way out (rc $rc: $out)"
head -c 8192 /dev/urandom >"$db"
out=$(ctl orders list 2>&1); rc=$?
[ "$rc" = 1 ] && grep -q "file is not a database (the file is damaged" <<<"$out"
check "orders list on a database of random bytes names the way out (rc $rc: $out)"
cp "$tmp/good.db" "$db"

# ---- replay input is bounded; --url is http(s) only ----
start=$(date +%s)
out=$(timeout 60 "$restockctl" replay --config "$tmp/cfg" --readings /dev/zero 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q "not a text file" <<<"$out"
check "replay --readings /dev/zero is refused at once ($out)"
/usr/bin/python3 -c "
import sys
with open(sys.argv[1], 'w') as f:
    f.write('time,device,point,value\n')
    f.write('\n' * 4000001)
" "$tmp/many.csv"
out=$(timeout 60 "$restockctl" replay --config "$tmp/cfg" --readings "$tmp/many.csv" 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q "more lines than the limit" <<<"$out"
check "replay of more than 4,000,000 lines is refused ($out)"
truncate -s 300M "$tmp/huge.csv"
out=$(timeout 60 "$restockctl" replay --config "$tmp/cfg" --readings "$tmp/huge.csv" 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q "larger than the limit" <<<"$out"
check "replay of a file over 256 MiB is refused before reading it ($out)"
rm -f "$tmp/huge.csv" "$tmp/many.csv"
for u in file:///etc/passwd ftp://127.0.0.1/ gopher://127.0.0.1/ dict://127.0.0.1/ \
         "FILE:///etc/passwd" "/etc/passwd"; do
  out=$("$restockctl" --url "$u" status 2>&1); rc=$?
  [ "$rc" = 2 ] && grep -q "only http:// and https://" <<<"$out" && ! grep -q "root:" <<<"$out"
  check "--url $u is refused"
done

# ---- a file size limit (ulimit -f, LimitFSIZE=): EFBIG said, exit 1, never SIGXFSZ ----
limit0="File too large: a file size limit of 0 bytes is set (ulimit -f, systemd's LimitFSIZE=)"

# stdout into a file that may not grow
limited 0 "$restockctl" --config "$tmp/cfg" check
[ "$rc" = 1 ] && [ "$err" = "restockctl: cannot write the output: $limit0" ]
check "restockctl check with its output file at the limit: exit 1, the limit named (rc $rc: $err)"
limited 0 "$restockctl" --help
[ "$rc" = 1 ] && [ "$err" = "restockctl: cannot write the output: $limit0" ]
check "restockctl --help at the limit: exit 1, not killed (rc $rc: $err)"
limited 0 "$restockd" --check --config "$tmp/cfg"
[ "$rc" = 1 ] && [ "$err" = "restockd: cannot write the output: $limit0" ]
check "restockd --check at the limit: exit 1, the limit named (rc $rc: $err)"
printf 'shop:\n  listen: 127.0.0.1:0\n  db: %s/shop.db\n  products: []\n' "$tmp" >"$tmp/sim.yaml"
limited 0 "$sim" --check --config "$tmp/sim.yaml"
[ "$rc" = 1 ] && [ "$err" = "restock-sim: cannot write the output: $limit0" ]
check "restock-sim --check at the limit: exit 1, the limit named (rc $rc: $err)"

# a database that cannot grow
rm -f "$db-wal" "$db-shm"
limited 1 "$restockctl" --config "$tmp/cfg" consumables set-spares press-01/filter 3
[ "$rc" = 1 ] && grep -q "^restockctl: cannot open database $db: I/O error (SQLite code [0-9]*); a file size limit of 1024 bytes is set (ulimit -f, systemd's LimitFSIZE=)$" <<<"$err"
check "consumables set-spares with a 1 KiB limit: exit 1, the limit named (rc $rc: $err)"
limited 1 "$restockctl" --config "$tmp/cfg" orders approve "$oid"
[ "$rc" = 1 ] && grep -q "a file size limit of 1024 bytes is set" <<<"$err"
check "orders approve with a 1 KiB limit: exit 1, the limit named (rc $rc: $err)"
out=$("$restockctl" --config "$tmp/cfg" orders show "$oid" 2>&1)
grep -q "pending_approval" <<<"$out"
check "the order is still waiting for approval once the limit is gone"

# the shop's database: restock-sim refuses to start and says why
limited 0 timeout 20 "$sim" --config "$tmp/sim.yaml"
[ "$rc" = 1 ] && grep -q "^restock-sim: shop: $tmp/shop.db: cannot set up the shop database: .*; a file size limit of 0 bytes is set (ulimit -f, systemd's LimitFSIZE=)$" <<<"$err"
check "restock-sim with its shop database at the limit: exit 1, the limit named (rc $rc: $err)"

echo "$fails failure(s)"
[ "$fails" = 0 ]
