#!/usr/bin/env bash
# README's "Running the server" lines, exactly as written (issue 14 item 1),
# and the start-up checks that catch a missing or broken prover, a missing
# CRS and an unusable work directory at start instead of on every request.
#  1. the server block and the client block of README.md run verbatim from
#     the repository root (port 4000 on all interfaces, /tmp paths: in a new
#     network namespace with its own /tmp; ../shared bind-mounted next to a
#     bind of the tree, as it sits on the project's machine): the real bb
#     proves the demo circuit, bb verify accepts it, /health says ok;
#  2. broken set-ups: /health 200 "not_ready" with the reason, /ready 503,
#     POST /prove 503 with the reason at once.
# Part 1 runs in the gcc flavour (README names build/gcc); part 2 in every
# flavour with the flavour's teerexd.
set -euo pipefail
: "${TR_BUILD_DIR:?run through ctest}" "${TR_SOURCE_DIR:?run through ctest}"
S=$TR_SOURCE_DIR
SHARED=${TEEREX_SHARED:-$S/../shared}
skip() { echo "SKIP: $*"; exit 77; }
if [ -z "${TR_IN_NS:-}" ]; then
  [ "$(id -u)" = 0 ] || skip "needs root (network and mount namespaces)"
  unshare -n -m true 2>/dev/null || skip "unshare -n -m not permitted here"
  TR_IN_NS=1 exec unshare -n -m --propagation private "$0" "$@"
fi
ip link set lo up
# README's /tmp paths, ours alone: a private /tmp. A checkout, build or
# ../shared that lives under /tmp (a CI clone there) stays visible: the old
# /tmp is kept at /mnt (this namespace only) and those paths bound back.
# Paths are resolved first: a link under /tmp (../shared as a symbolic link)
# would otherwise vanish with the old /tmp.
S=$(cd "$S" && pwd -P)
[ ! -d "$SHARED" ] || SHARED=$(cd "$SHARED" && pwd -P)
under_tmp=()
for p in "$S" "$TR_BUILD_DIR" "$SHARED"; do
  p=$(cd "$p" 2>/dev/null && pwd -P) || continue
  [[ "$p" == /tmp/* ]] && under_tmp+=("$p")
done
[ "${#under_tmp[@]}" = 0 ] || mount --bind /tmp /mnt
mount -t tmpfs -o size=256m tmpfs /tmp
for p in "${under_tmp[@]}"; do mkdir -p "$p" && mount --bind "/mnt${p#/tmp}" "$p"; done
W=$(mktemp -d /tmp/readme.XXXXXX)
SERVER=
trap '[ -z "$SERVER" ] || kill -TERM -- "-$SERVER" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
fail() { echo "FAIL: $*"; for f in "$W"/*.log; do echo "== $f"; tail -n 15 "$f"; done; exit 1; }
pass=0
ok() { pass=$((pass + 1)); echo "-- ok: $*"; }
BB=$S/demo/node_modules/@aztec/bb.js/build/amd64-linux/bb
[ -x "$BB" ] || skip "no native bb (npm ci in demo/)"
[ -f "$SHARED/crs/bn254_g1.dat" ] || skip "no CRS slice in $SHARED/crs"
command -v jq >/dev/null || skip "jq not installed"

# block MARKER: the lines of the ```sh block that follows <!-- MARKER in README.md
block() { awk -v m="<!-- $1" 'index($0, m) == 1 {f = 1; next} f && /^```sh/ {p = 1; next} p && /^```/ {exit} p' "$S/README.md"; }
health() { curl -s -m 5 "http://127.0.0.1:$1/health"; }
wait_health() { # port
  for _ in $(seq 300); do [ -n "$(health "$1")" ] && return 0; sleep 0.1; done
  return 1
}

# ---- 1. README, verbatim ----
if [ "$(cd "$TR_BUILD_DIR" && pwd -P)" = "$(cd "$S/build/gcc" 2>/dev/null && pwd -P)" ] &&
  [ -d "$S/demo/node_modules/@noir-lang/noir_wasm" ]; then
  block readme-server >"$W/server.sh"
  block readme-client >"$W/client.sh"
  grep -q 'build/gcc/src/teerexd/teerexd' "$W/server.sh" || fail "README server block not found"
  grep -q 'teerex prove' "$W/client.sh" || fail "README client block not found"
  # The tree and ../shared as on the project's machine: ROOT/repo and ROOT/shared.
  mkdir -p "$W/root/repo" "$W/root/shared"
  mount --bind "$S" "$W/root/repo"
  mount --bind "$SHARED" "$W/root/shared"
  (cd "$W/root/repo" && exec setsid bash "$W/server.sh") >"$W/server.log" 2>&1 &
  SERVER=$!
  wait_health 4000 || fail "the README's teerexd did not answer on port 4000"
  h=$(health 4000)
  [ "$(jq -r .status <<<"$h")" = ok ] || fail "README server not ready: $h"
  grep -q '"event":"config_path_resolved".*"name":"BB_BINARY_PATH"' "$W/server.log" ||
    fail "the relative BB_BINARY_PATH was not made absolute"
  (cd "$W/root/repo" && TMPDIR=$W bash -e "$W/client.sh") >"$W/client.log" 2>&1 ||
    fail "the README's client lines failed"
  grep -q '^proof: ' "$W/client.log" || fail "no proof from the README's lines"
  kill -TERM -- "-$SERVER"
  wait "$SERVER" 2>/dev/null || true
  SERVER=
  ok "README's server and client lines, verbatim: a proof bb verify accepts ($(grep -c . "$W/server.sh") + $(grep -c . "$W/client.sh") lines)"
else
  echo "note: part 1 (README verbatim) runs in the gcc flavour with demo/node_modules"
fi

# ---- 2. what the start-up checks catch ----
mkdir -p "$W/crs" "$W/home" "$W/work"
cp "$SHARED/crs/bn254_g1.dat" "$SHARED/crs/bn254_g2.dat" "$W/crs/"
# A prover that cannot run (as bb 4.x on Debian 12's glibc). The sandbox
# runs provers as nobody: the directory must be searchable by others.
chmod 755 "$W"
BROKEN=$W
printf '#!/bin/sh\necho "bb: error while loading shared libraries: libstdc++.so.6" >&2\nexit 127\n' >"$BROKEN/broken-bb"
chmod +x "$BROKEN/broken-bb"
VG=()
if [ "${TR_VALGRIND:-0}" = 1 ] && [ -n "${TR_VALGRIND_CMD:-}" ]; then read -r -a VG <<<"$TR_VALGRIND_CMD"; fi
port=4100
# case NAME WANT(regex of a reason) ENV...: starts teerexd, checks, stops it
case_() {
  local name=$1 want=$2
  shift 2
  port=$((port + 1))
  env -i PATH=/usr/bin:/bin HOME="$W/home" LISTEN="tcp:127.0.0.1:$port" PROVE_SCHEMES=ultra_honk \
    PROVE_WORK_DIR="$W/work" "$@" "${VG[@]}" "$TR_BUILD_DIR/src/teerexd/teerexd" >"$W/$name.log" 2>&1 &
  local pid=$!
  wait_health "$port" || { kill "$pid"; fail "$name: teerexd did not answer"; }
  local h r p
  h=$(health "$port")
  r=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ready")
  p=$(curl -s -m 5 -H "x-prover-scheme: ${SCHEME:-ultra_honk}" -H 'Content-Type: application/json' \
    -d '{"data":"AAAA"}' -w '\n%{http_code}' "http://127.0.0.1:$port/prove")
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  [ "$(jq -r .status <<<"$h")" = not_ready ] || fail "$name: status is not not_ready: $h"
  jq -r '.reasons[]' <<<"$h" | grep -qE "$want" || fail "$name: no reason matching /$want/: $h"
  [ "$r" = 503 ] || fail "$name: /ready answered $r"
  if [ "$(tail -n 1 <<<"$p")" != 503 ] || ! head -n 1 <<<"$p" | jq -r .detail | grep -qE "$want"; then
    fail "$name: /prove did not get 503 with the reason: $p"
  fi
  grep -q '"event":"startup_check_failed"' "$W/$name.log" || fail "$name: no startup_check_failed event"
  ok "$name: not_ready with the reason; /ready 503; /prove 503 at once"
}
case_ missing-prover '/nonexistent' BB_BINARY_PATH=/nonexistent CRS_PATH="$W/crs"
case_ broken-prover 'broken-bb\) does not run: exit 127: .*libstdc' BB_BINARY_PATH="$BROKEN/broken-bb" CRS_PATH="$W/crs"
case_ no-crs 'no CRS' BB_BINARY_PATH="$BB"
SCHEME=chonk case_ small-crs-for-chonk 'chonk needs' BB_BINARY_PATH="$BB" CRS_PATH="$W/crs" PROVE_SCHEMES=chonk,ultra_honk
case_ bad-workdir 'work directory' BB_BINARY_PATH="$BB" CRS_PATH="$W/crs" PROVE_WORK_DIR=/nonexistent/work
echo "$pass passed, 0 failed"
