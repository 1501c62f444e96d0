#!/usr/bin/env bash
# Stages what goes onto an STB image into a directory tree and tests it:
#   rootfs/stage-image.sh BUILD_DIR DEST_DIR
# Installs the build with prefix /usr into DEST_DIR (as an image build would),
# checks the layout, then boots the staged boxofficed on its staged default
# configuration (only port, data and runtime paths redirected into DEST_DIR)
# with the TV's token minted by the staged boxoffice-tv-token, lists its plugins
# over JSON-RPC with the staged boxoffice-ctl, checks that token holds no admin
# scope, and runs the staged kiosk launcher with a stand-in browser.
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
expect usr/lib/systemd/system/boxoffice-tv-token.service
expect usr/lib/systemd/system/boxoffice-tv.service
expect usr/lib/sysusers.d/boxoffice.conf
expect usr/lib/udev/rules.d/70-boxoffice-ir.rules
for program in boxoffice-tv-token boxoffice-tv; do
  [ -x "$dest/usr/lib/boxoffice/$program" ] || fail "usr/lib/boxoffice/$program missing or not executable"
  grep -q "/usr/lib/boxoffice/$program" "$dest"/usr/lib/systemd/system/*.service || fail "no unit runs $program"
done
grep -q '^u boxoffice-tv ' "$dest/usr/lib/sysusers.d/boxoffice.conf" || fail "no boxoffice-tv user"
# Units carry no secret: the TV token is minted at boot, only its digest reaches boxofficed.
! grep -qiE '[0-9a-f]{64}|token=' "$dest"/usr/lib/systemd/system/*.service || fail "a unit file carries a token"
grep -q '"client": "tv".*"sha256File": "/run/boxoffice-tv-token/tv-token.sha256"' "$dest/etc/boxoffice/boxofficed.json" \
  || fail "default configuration does not read the TV token's digest from its file"
grep -q 'Requires=boxoffice-tv-token.service' "$dest/usr/lib/systemd/system/boxofficed.service" \
  || fail "boxofficed.service does not wait for the TV token"
# The IR receiver: the device the udev rule names is the one the input plugin reads.
grep -q 'SYMLINK+="input/boxoffice-ir"' "$dest/usr/lib/udev/rules.d/70-boxoffice-ir.rules" || fail "udev rule names no device"
grep -q '"/dev/input/boxoffice-ir"' "$dest/etc/boxoffice/boxofficed.json" \
  || fail "default configuration does not read the IR receiver"
if command -v systemd-analyze >/dev/null; then
  # Syntax and directives only: the programs they run are in the staged tree, not in /.
  for unit in boxofficed boxoffice-tv-token boxoffice-tv; do
    out=$(systemd-analyze verify "$dest/usr/lib/systemd/system/$unit.service" 2>&1 || true)
    ! grep -E 'Unknown (key|section)|Failed to parse|Invalid' <<<"$out" || fail "$unit.service: $out"
  done
fi
expect "$libdir/libboxoffice_host.so.0"
grep -q "\"/$plugindir\"" "$dest/etc/boxoffice/boxofficed.json" \
  || fail "default configuration does not name the installed plugin directory"
! find "$dest" -name '*.a' | grep -q . || fail "static libraries staged"

# Mint the TV token as boxoffice-tv-token.service does at boot.
run="$dest/run-test"
mkdir -p "$run"
minted="$run/tv-token"
"$dest/usr/lib/boxoffice/boxoffice-tv-token" "$minted" >"$run/mint.log"
[ "$(stat -c %a "$minted")" = 711 ] || fail "token directory is not 0711"
[ "$(stat -c %a "$minted/tv-token")" = 600 ] || fail "token file is not 0600"
token=$(head -n1 "$minted/tv-token")
[ ${#token} -eq 64 ] || fail "minted token is not 32 random bytes in hex"
! grep -q "$token" "$run/mint.log" || fail "the minter printed the token"
# boxofficed reads the digest from this file (rpc.tokens[].sha256File).
[ "$(stat -c %a "$minted/tv-token.sha256")" = 644 ] || fail "digest file is not 0644"
[ "$(cat "$minted/tv-token.sha256")" = "$(printf %s "$token" | sha256sum | cut -d' ' -f1)" ] \
  || fail "tv-token.sha256 does not hold the token's SHA-256"

# Boot the staged daemon as its unit does, its TV digest file moved to the minted one.
conf="$dest/etc/boxoffice/boxofficed.json"
"$dest/usr/bin/boxofficed" --config "$conf" \
  --set "host.pluginDirectory=$dest/$plugindir" \
  --set "host.dataDirectory=$run/data" --set rpc.port=0 --set "rpc.portFile=$run/port" \
  --set "rpc.webRoot=$dest/usr/share/boxoffice/web" \
  --set "rpc.tokens[0].sha256File=$minted/tv-token.sha256" >"$run/boxofficed.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  [ -s "$run/port" ] && break
  kill -0 $pid 2>/dev/null || { cat "$run/boxofficed.log" >&2; fail "staged boxofficed exited"; }
  sleep 0.1
done
[ -s "$run/port" ] || fail "staged boxofficed did not come up"
plugins=$(BOXOFFICE_TOKEN=$token "$dest/usr/bin/boxoffice-ctl" --port-file "$run/port" host.1.plugins)
# The TV's token has the UI's scopes (read, control) and not admin.
if BOXOFFICE_TOKEN=$token "$dest/usr/bin/boxoffice-ctl" --port-file "$run/port" host.1.setLogLevel \
  '{"logger": "host", "level": "debug"}' >"$run/admin.log" 2>&1; then
  fail "the TV token was allowed an admin method"
fi
grep -q "client 'tv' lacks scope 'admin'" "$run/admin.log" || fail "admin method refused for another reason: $(cat "$run/admin.log")"

# The kiosk launcher as boxoffice-tv.service runs it, with a browser that records its arguments.
kiosk="$run/kiosk"
mkdir -p "$kiosk"
printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"%s/browser.args"\n' "$kiosk" >"$run/browser"
chmod 755 "$run/browser"
CREDENTIALS_DIRECTORY="$minted" RUNTIME_DIRECTORY="$kiosk" BOXOFFICE_PORT_FILE="$run/port" \
  BOXOFFICE_TV_BROWSER="$run/browser" "$dest/usr/lib/boxoffice/boxoffice-tv" >"$run/kiosk.log" 2>&1 \
  || { cat "$run/kiosk.log" >&2; fail "kiosk launcher failed"; }
[ "$(cat "$kiosk/browser.args")" = "file://$kiosk/start.html" ] || fail "browser not started on the start page"
! grep -q "$token" "$kiosk/browser.args" "$run/kiosk.log" || fail "the token is on the browser's command line or in the log"
[ "$(stat -c %a "$kiosk/start.html")" = 600 ] || fail "start page is not 0600"
grep -q "http://127.0.0.1:$(head -n1 "$run/port")/?token=$token\"" "$kiosk/start.html" \
  || fail "start page does not open the TV UI with the token"
kill -TERM $pid
wait $pid || fail "staged boxofficed did not stop cleanly"
trap - EXIT
echo "$plugins"
staged=$(find "$dest/$plugindir" -name 'lib*.so' | wc -l)
listed=$(grep -o '"name":' <<<"$plugins" | wc -l)
[ "$staged" -eq "$listed" ] || fail "$staged plugins staged but $listed listed"
echo "stage-image: OK ($staged plugins, tree in $dest)"
