#!/usr/bin/env bash
# Stages what goes onto an STB image into a directory tree and tests it:
#   rootfs/stage-image.sh BUILD_DIR DEST_DIR
# Installs the build with prefix /usr into DEST_DIR (as an image build would),
# checks the layout, then boots the staged boxofficed on its staged default
# configuration (only port, data and runtime paths redirected into DEST_DIR)
# and lists its plugins over JSON-RPC with the staged boxoffice-ctl.
set -euo pipefail

build=${1:?usage: stage-image.sh BUILD_DIR DEST_DIR}
dest=${2:?usage: stage-image.sh BUILD_DIR DEST_DIR}
rm -rf "$dest"
mkdir -p "$dest"
DESTDIR="$dest" cmake --install "$build" --prefix /usr >"$dest.install.log"

fail() { echo "stage-image: $*" >&2; exit 1; }
# The library directory is usr/lib or usr/lib/<multiarch>, as the build was configured.
plugindir=$(cd "$dest" && find usr/lib -maxdepth 3 -type d -path '*/boxoffice/plugins' | head -n1)
[ -n "$plugindir" ] || fail "no boxoffice/plugins directory staged"
libdir=$(dirname "$(dirname "$plugindir")")
expect() { [ -e "$dest/$1" ] || fail "missing $1"; }

expect usr/bin/boxofficed
expect usr/bin/boxoffice-server
expect usr/bin/boxoffice-ctl
expect etc/boxoffice/boxofficed.json
expect etc/boxoffice/boxoffice-server.json
expect etc/bluetooth/main.conf
expect usr/lib/systemd/system/boxofficed.service
expect usr/lib/sysusers.d/boxoffice.conf
expect "$libdir/libboxoffice_host.so.0"
grep -q "\"/$plugindir\"" "$dest/etc/boxoffice/boxofficed.json" \
  || fail "default configuration does not name the installed plugin directory"
! find "$dest" -name '*.a' | grep -q . || fail "static libraries staged"

# Boot the staged daemon. The token is made up here; only its digest is configured.
run="$dest/run-test"
mkdir -p "$run"
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
digest=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
conf="$dest/etc/boxoffice/boxofficed.json"
"$dest/usr/bin/boxofficed" --config "$conf" \
  --set "host.pluginDirectory=$dest/$plugindir" \
  --set "host.dataDirectory=$run/data" --set rpc.port=0 --set "rpc.portFile=$run/port" \
  --set "rpc.webRoot=$dest/usr/share/boxoffice/web" \
  --set rpc.tokens[0].client=stage --set "rpc.tokens[0].sha256=$digest" \
  --set rpc.tokens[0].scopes[0]=read >"$run/boxofficed.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  [ -s "$run/port" ] && break
  kill -0 $pid 2>/dev/null || { cat "$run/boxofficed.log" >&2; fail "staged boxofficed exited"; }
  sleep 0.1
done
[ -s "$run/port" ] || fail "staged boxofficed did not come up"
plugins=$(BOXOFFICE_TOKEN=$token "$dest/usr/bin/boxoffice-ctl" --port-file "$run/port" host.1.plugins)
kill -TERM $pid
wait $pid || fail "staged boxofficed did not stop cleanly"
trap - EXIT
echo "$plugins"
staged=$(find "$dest/$plugindir" -name 'lib*.so' | wc -l)
listed=$(grep -o '"name":' <<<"$plugins" | wc -l)
[ "$staged" -eq "$listed" ] || fail "$staged plugins staged but $listed listed"
echo "stage-image: OK ($staged plugins, tree in $dest)"
