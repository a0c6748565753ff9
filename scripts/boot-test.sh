#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boot a throwaway Debian 12 root with systemd as PID 1 (systemd-nspawn,
# private network) with the restockd .deb installed, and check that the
# hardened unit really runs under systemd: started (Type=notify, READY=1)
# after its ExecStartPre check, watchdog armed, `systemctl reload` (ExecReload
# -> SIGHUP) reloads, state dir owned by _restock with a 0600 database, the
# online `systemd-analyze security` score at most 2.0, and a clean stop.
# Nothing touches the host's /etc: the root lives in a temp dir.
#
# Usage: scripts/boot-test.sh [DIR-WITH-DEBS] (default out/deb)
# Environment: MIRROR, DEBOOTSTRAP_CACHE (absolute dir), KEEP=1
# Needs root, network to the mirror, and systemd-nspawn (systemd-container,
# installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/root-common.sh
root_init boot-test
root_debs "${1:-out/deb}"
root_need debootstrap systemd-container
root_workdir
root=$work/root
root_debootstrap "$root" --include=systemd,systemd-sysv,dbus,procps
cp "${debs[@]}" "$root/tmp/"

echo "== install the package (chroot, private mount namespace)"
root_apt_install "$root" '/tmp/restockd_*.deb'

# A oneshot unit in the container does the checks, writes /boot-test.txt and
# powers the container off.
cat >"$root/usr/local/sbin/boot-check" <<'CHECK'
#!/bin/sh
out=/boot-test.txt
fails=0
ok() { echo "ok   $*" >>$out; }
bad() { echo "FAIL $*" >>$out; fails=$((fails + 1)); }
: >$out
# wait for the start (Type=notify: active only after READY=1)
i=0; while [ $i -lt 30 ] && [ "$(systemctl is-active restockd)" != active ]; do sleep 1; i=$((i + 1)); done
[ "$(systemctl is-active restockd)" = active ] && ok "restockd active (READY=1 received)" || bad "restockd not active: $(systemctl is-active restockd)"
[ "$(systemctl show -P StatusText restockd)" = running ] && ok "status text 'running'" || bad "status text: $(systemctl show -P StatusText restockd)"
[ "$(systemctl show -P WatchdogUSec restockd)" = 30s ] && ok "watchdog 30s" || bad "watchdog: $(systemctl show -P WatchdogUSec restockd)"
journalctl -u restockd -o cat | grep -q 'watchdog: pinging' && ok "restockd pings the watchdog" || bad "no watchdog log line"
pid=$(systemctl show -P MainPID restockd)
[ "$(stat -c %U /proc/$pid)" = _restock ] && ok "runs as _restock" || bad "runs as $(stat -c %U /proc/$pid)"
grep -q '^CapEff:.0000000000000000' /proc/$pid/status && ok "no effective capabilities" || bad "capabilities: $(grep CapEff /proc/$pid/status)"
grep -q '^Seccomp:.2' /proc/$pid/status && ok "seccomp filter active" || bad "seccomp: $(grep Seccomp: /proc/$pid/status)"
grep -q '^NoNewPrivs:.1' /proc/$pid/status && ok "no_new_privs" || bad "NoNewPrivs: $(grep NoNewPrivs /proc/$pid/status)"
systemctl reload restockd && ok "systemctl reload" || bad "systemctl reload failed"
sleep 2
journalctl -u restockd -o cat | grep -q 'configuration reloaded' && ok "reloaded (journal)" || bad "no 'configuration reloaded' in the journal"
[ "$(systemctl show -P MainPID restockd)" = "$pid" ] && ok "same process after reload" || bad "main pid changed on reload"
[ "$(stat -c '%U %a' /var/lib/restock)" = "_restock 700" ] && ok "/var/lib/restock _restock 0700" || bad "/var/lib/restock: $(stat -c '%U %a' /var/lib/restock)"
[ "$(stat -c '%U %a' /var/lib/restock/restock.db)" = "_restock 600" ] && ok "restock.db _restock 0600" || bad "restock.db: $(stat -c '%U %a' /var/lib/restock/restock.db 2>&1)"
score=$(systemd-analyze security --no-pager restockd.service 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }' && ok "online exposure score $score" || bad "online exposure score ${score:-none}"
systemctl stop restockd
[ "$(systemctl show -P Result restockd)" = success ] && ok "clean stop" || bad "stop result: $(systemctl show -P Result restockd)"
[ "$(systemctl show -P NRestarts restockd)" = 0 ] && ok "no restarts" || bad "restarts: $(systemctl show -P NRestarts restockd)"
echo "--- journal" >>$out
journalctl -u restockd -o short-iso --no-pager >>$out 2>&1
echo "fails=$fails" >>$out
systemctl poweroff
CHECK
root_check_unit "$root" boot-check restockd.service

echo "== boot with systemd-nspawn (private network)"
root_boot "$root" 180 boot-test.txt
cat "$root/boot-test.txt"
root_fails "$root/boot-test.txt" && rc=0 || rc=1
root_verdict "$rc"
exit "$rc"
