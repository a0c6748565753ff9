#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Upgrade a running gateway from an older restockd package to this one, as
# docs/operations.md section 6 says, and check that nothing is lost. A
# throwaway Debian 12 root boots with systemd (systemd-nspawn, private
# network) with the OLD restockd and restock-sim installed and the demo plant
# (config/demo) as its configuration, restockd at --time-scale 10080 (a
# drop-in) so that orders, deliveries, replacements and saved prediction
# states pile up within a minute or two. Then, inside the booted root:
#   - a backup with sqlite3 .backup while restockd runs (section 7);
#   - dpkg -i of the NEW restockd package;
# and the checks: restockd was restarted once and runs; the locally edited
# /etc/restock/restock.yaml (a conffile) is kept; every order from before is
# still there; the sandbox shop never got a POST twice for one
# Idempotency-Key; the database passes integrity_check; the journal has at
# most one "migrated" line, and none after another restart.
#
# Usage: scripts/upgrade-test.sh OLD_DEB_DIR [NEW_DEB_DIR] (default out/deb)
#   Each dir holds restockd_*.deb (and OLD_DEB_DIR restock-sim_*.deb). Build
#   an older one from a commit with:
#     git worktree add --detach /tmp/old COMMIT && (cd /tmp/old && scripts/build-deb.sh --nocheck)
# Environment: MIRROR, DEBOOTSTRAP_CACHE (absolute dir), KEEP=1
# Needs root, network to the mirror, systemd-nspawn (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/root-common.sh
root_init upgrade-test
[ $# -ge 1 ] || { echo "usage: $0 OLD_DEB_DIR [NEW_DEB_DIR]" >&2; exit 2; }
root_debs "$1"
old_debs=("${debs[@]}" "$debdir"/restock-sim_*.deb)
[ -f "${old_debs[1]}" ] || { echo "upgrade-test: no restock-sim_*.deb in $debdir" >&2; exit 2; }
root_debs "${2:-out/deb}"
new_deb=${debs[0]}
root_need debootstrap systemd-container
root_workdir
root=$work/root
root_debootstrap "$root" --include=systemd,systemd-sysv,dbus,procps,sqlite3
mkdir -p "$root/root/old" "$root/root/new"
cp "${old_debs[@]}" "$root/root/old/"
cp "$new_deb" "$root/root/new/"

echo "== install the old packages (chroot, private mount namespace)"
root_apt_install "$root" '/root/old/*.deb'

# the demo plant as the gateway's configuration (restock.yaml: a conffile, now edited)
cp config/demo/restock/restock.yaml "$root/etc/restock/restock.yaml"
cp config/demo/restock/devices.d/*.yaml "$root/etc/restock/devices.d/"
cp config/demo/restock/rules.d/*.yaml "$root/etc/restock/rules.d/"
mkdir -p "$root/etc/restock-sim" "$root/var/lib/restock-sim" "$root/etc/systemd/system/restockd.service.d"
sed 's#/var/lib/restock/shop.db#/var/lib/restock-sim/shop.db#' config/demo/sim.yaml \
  >"$root/etc/restock-sim/sim.yaml"
cat >"$root/etc/systemd/system/restockd.service.d/scale.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=/usr/sbin/restockd --config /etc/restock --time-scale 10080
EOF
cat >"$root/etc/systemd/system/restock-sim.service" <<'EOF'
[Unit]
Description=restock-sim: the demo plant and its sandbox shop
Before=restockd.service
[Service]
ExecStart=/usr/bin/restock-sim --config /etc/restock-sim/sim.yaml --time-scale 10080
[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/restock-sim.service \
  "$root/etc/systemd/system/multi-user.target.wants/restock-sim.service"
install -d -m 0700 "$root/var/lib/restock/mail"

cat >"$root/usr/local/sbin/upgrade-check" <<'CHECK'
#!/bin/sh
out=/upgrade-test.txt
fails=0
ok() { echo "ok   $*" >>$out; }
bad() { echo "FAIL $*" >>$out; fails=$((fails + 1)); }
db=/var/lib/restock/restock.db
shop=/var/lib/restock-sim/shop.db
: >$out
chown -R _restock:_restock /var/lib/restock/mail
i=0; while [ $i -lt 60 ] && [ "$(systemctl is-active restockd)" != active ]; do sleep 1; i=$((i + 1)); done
[ "$(systemctl is-active restockd)" = active ] && ok "old restockd active" || bad "old restockd: $(systemctl is-active restockd)"
# state to carry over: orders (some delivered), saved prediction states
i=0
while [ $i -lt 240 ]; do
  n=$(sqlite3 -readonly $db "select count(*) from orders where state = 'delivered'" 2>/dev/null || echo 0)
  s=$(sqlite3 -readonly $db "select count(*) from consumable_state where predictor_json is not null" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 2 ] && [ "${s:-0}" -ge 5 ] && break
  sleep 1; i=$((i + 1))
done
[ "${n:-0}" -ge 2 ] && ok "state before: $n delivered orders, $s saved prediction states" || bad "no state piled up ($n delivered, $s states)"
install -d -m 0700 /var/backups/restock
sqlite3 $db ".backup /var/backups/restock/before.db" && ok "backup with sqlite3 .backup while restockd runs" || bad "backup"
[ "$(sqlite3 -readonly /var/backups/restock/before.db 'pragma integrity_check')" = ok ] && ok "the backup passes integrity_check" || bad "backup integrity"
cmp -s /etc/restock/restock.yaml /root/restock.yaml.edited && ok "edited restock.yaml in place" || bad "restock.yaml not the edited one"
pid_old=$(systemctl show -P MainPID restockd)
cursor=$(journalctl -u restockd -n 0 --show-cursor -o cat | sed -n 's/^-- cursor: //p')
sqlite3 -readonly $db "select id from orders order by id" >/root/orders-before.txt
echo "--- dpkg -i (new)" >>$out
dpkg -i /root/new/restockd_*.deb >>$out 2>&1 && ok "dpkg -i of the new restockd" || bad "dpkg -i failed"
i=0; while [ $i -lt 60 ] && [ "$(systemctl is-active restockd)" != active ]; do sleep 1; i=$((i + 1)); done
pid_new=$(systemctl show -P MainPID restockd)
[ "$(systemctl is-active restockd)" = active ] && [ "$pid_new" != "$pid_old" ] && [ "$pid_new" != 0 ] \
  && ok "restockd restarted ($pid_old -> $pid_new) and active" || bad "after the upgrade: $(systemctl is-active restockd), pid $pid_old -> $pid_new"
[ "$(journalctl -u restockd --after-cursor "$cursor" -o cat | grep -c '^restockd 0.* starting')" = 1 ] \
  && ok "started once by the upgrade" || bad "starts after the upgrade: $(journalctl -u restockd --after-cursor "$cursor" -o cat | grep -c 'starting')"
cmp -s /etc/restock/restock.yaml /root/restock.yaml.edited && ok "the edited conffile restock.yaml is kept" || bad "restock.yaml changed by the upgrade"
sleep 10
sqlite3 -readonly $db "select id from orders order by id" >/root/orders-after.txt
missing=$(comm -23 /root/orders-before.txt /root/orders-after.txt | wc -l)
[ "$missing" = 0 ] && ok "every order from before is still there ($(wc -l </root/orders-before.txt))" || bad "$missing orders lost"
twice=$(sqlite3 -readonly $shop "select count(*) from posts where n > 1")
[ "$twice" = 0 ] && ok "no order POSTed twice to the shop ($(sqlite3 -readonly $shop 'select count(*) from posts') keys)" || bad "$twice orders POSTed more than once"
[ "$(sqlite3 -readonly $db 'pragma integrity_check')" = ok ] && ok "database integrity_check" || bad "database integrity"
mig=$(journalctl -u restockd --after-cursor "$cursor" -o cat | grep -c 'are migrated to version')
[ "$mig" -le 1 ] && ok "migration lines after the upgrade: $mig" || bad "migration logged $mig times"
cursor=$(journalctl -u restockd -n 0 --show-cursor -o cat | sed -n 's/^-- cursor: //p')
systemctl restart restockd
sleep 5
[ "$(systemctl is-active restockd)" = active ] && ok "restart after the upgrade" || bad "restart: $(systemctl is-active restockd)"
mig=$(journalctl -u restockd --after-cursor "$cursor" -o cat | grep -c 'are migrated to version')
[ "$mig" = 0 ] && ok "no migration line at the next start" || bad "migration logged again at the next start"
journalctl -u restockd -p warning --after-cursor "$cursor" -o cat | grep -v 'TIME IS SCALED' >>$out || true
echo "fails=$fails" >>$out
systemctl poweroff
CHECK
cp "$root/etc/restock/restock.yaml" "$root/root/restock.yaml.edited"
root_check_unit "$root" upgrade-check "restockd.service restock-sim.service"

echo "== boot with systemd-nspawn (private network): old package, demo plant, upgrade"
root_boot "$root" 600 upgrade-test.txt
grep -v '^Selecting\|^(Reading\|^Preparing\|^Unpacking\|^Setting up\|^Processing' "$root/upgrade-test.txt"
root_fails "$root/upgrade-test.txt" && rc=0 || rc=1
root_verdict "$rc"
exit "$rc"
