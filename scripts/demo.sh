#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's first command: install what is needed, build, validate the
# example plant and run restockd on it in the foreground until Ctrl-C.
# Nothing is written outside this checkout: the example config is copied to
# out/demo/ with its state paths pointed there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh demo
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

demo=$PWD/out/demo
rm -rf "$demo/config"
mkdir -p "$demo"
cp -r config/examples "$demo/config"
# Point every state path of the example at out/demo/.
sed -i -e "s#/var/lib/restock#$demo#g" "$demo/config/restock.yaml"

echo "== restockd --check --config $demo/config"
build/restockd --check --config "$demo/config"

echo "== starting restockd on the example plant (Ctrl-C stops it)"
echo "   database: $demo/restock.db"
exec build/restockd --config "$demo/config" "$@"
