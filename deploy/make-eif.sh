#!/usr/bin/env bash
# make-eif.sh: builds the enclave image (EIF) reproducibly, without Docker.
# This is the image deploy/build-eif.sh builds for deployment, and the one
# whose pcrs.json clients pin (docs/VERIFY.md).
#
#   deploy/make-eif.sh --blobs DIR --bb PATH [--bb-version NAME] --crs DIR [--out DIR]
#                      [--bundle DIR]... [--allow FILE]
#                      [--env K=V]... [--sign-key KEY --sign-cert CERT]
#   deploy/make-eif.sh --binaries-only [--targets "teerex-init teerexd"] [--out DIR]
#
# One image definition: deploy/runtime-files.txt (the files) and
# deploy/teerex-init.conf (the runtime configuration: environment, listeners,
# work directory), started as /teerex-init --config /etc/teerex-init.conf.
# 1. Builds teerex-init, teerexd and teerex-eif in a dedicated CMake build
#    (build/eif-release under the checkout) with pinned flags: Release, -O2,
#    no debug info, -ffile-prefix-map (TR_REPRODUCIBLE), LC_ALL=C, TZ=UTC,
#    SOURCE_DATE_EPOCH = the commit time. Two checkouts of the same commit in
#    different directories give byte-identical binaries on the same Debian
#    release and package versions (recorded in OUT/build-env.txt).
# 2. Stages the root file system with deploy/stage-rootfs.sh from
#    runtime-files.txt: /teerex-init, /app/teerexd, /etc/teerex-init.conf,
#    the prover bundles in /app/bb-versions/ (--bb: the default, a bundle
#    directory from `teerex bb fetch` or an executable; --bundle: more) and
#    their allow-list /etc/teerex/bb-allowed (plus --allow's "VERSION DIGEST"
#    lines: versions the parent may provision on demand), /app/crs/, the
#    shared libraries and loader (stage-rootfs.sh --help). --env K=V replaces
#    the `env = K=...` line of the staged teerex-init.conf (or adds one) and
#    says so; the result must pass `teerex-init --check`. Without --bb or
#    --crs the image is built without them and cannot prove (a warning says so).
# 3. Runs teerex-eif build with the kernel, cmdline, init and nsm.ko from
#    --blobs (nitro-cli's /usr/share/nitro_enclaves/blobs/<arch>/) and writes
#    OUT/teerex.eif, OUT/pcrs.json, OUT/binaries.sha256, OUT/rootfs.manifest
#    (path, size, SHA-256 of every file), OUT/init-check.json and
#    OUT/build-env.txt.
#
# Exit codes: 0 ok, 1 build or input failure, 2 usage.
set -euo pipefail
export LC_ALL=C TZ=UTC
umask 022

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$SRC/out/eif
BLOBS="" BB="" BBV="" ALLOW="" CRS="" KEY="" CERT="" BIN_ONLY=0
BUNDLES=()
TARGETS="teerex-init teerexd"
# The image's command: the same as Dockerfile.enclave's ENTRYPOINT.
CMD="/teerex-init --config /etc/teerex-init.conf"
ENVS=()

usage() { sed -n '2,/^# Exit codes/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "make-eif: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    --blobs) BLOBS=$2; shift 2 ;;
    --bb) BB=$2; shift 2 ;;
    --bb-version) BBV=$2; shift 2 ;;
    --bundle) BUNDLES+=("$2"); shift 2 ;;
    --allow) ALLOW=$2; shift 2 ;;
    --crs) CRS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --env) ENVS+=("$2"); shift 2 ;;
    --sign-key) KEY=$2; shift 2 ;;
    --sign-cert) CERT=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --binaries-only) BIN_ONLY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
if [ "$BIN_ONLY" = 0 ] && [ -z "$BLOBS" ]; then
  echo "make-eif: --blobs DIR is required (nitro-cli's /usr/share/nitro_enclaves/blobs/<arch>)" >&2
  exit 2
fi
if { [ -n "$KEY" ] && [ -z "$CERT" ]; } || { [ -z "$KEY" ] && [ -n "$CERT" ]; }; then
  echo "make-eif: --sign-key and --sign-cert go together" >&2
  exit 2
fi
for e in "${ENVS[@]}"; do
  [[ "$e" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { echo "make-eif: --env wants NAME=VALUE, not '$e'" >&2; exit 2; }
done

# The commit time pins every timestamp that could leak into the outputs.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$SRC" log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH

# --- 1. reproducible binaries -------------------------------------------
# The build directory sits at the same place relative to the checkout, so
# nothing that is relative to it can differ between checkouts; no -g means
# no DW_AT_comp_dir; -ffile-prefix-map strips the checkout path from
# __FILE__; the build-id is a hash of the (identical) contents.
BUILD=$SRC/build/eif-release
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_C_FLAGS="" \
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,--build-id=sha1" \
  -DTR_REPRODUCIBLE=ON -DTR_WERROR=OFF -DTR_SANITIZE=OFF -DTR_FUZZ=OFF -DTR_VALGRIND=OFF \
  >"$OUT/cmake-configure.log" 2>&1 || { cat "$OUT/cmake-configure.log" >&2; die "configure failed"; }

for t in $TARGETS teerex-eif; do
  nice cmake --build "$BUILD" --target "$t" -j2 >"$OUT/build-$t.log" 2>&1 ||
    die "building $t failed (see $OUT/build-$t.log)"
done
bin_path() { find "$BUILD/src" -type f -name "$1" -perm -u+x | head -n 1; }
rm -rf "${OUT:?}/bin"
mkdir -p "$OUT/bin"
for t in $TARGETS; do
  p=$(bin_path "$t")
  [ -n "$p" ] || die "$t built but not found under $BUILD/src"
  # What stage-rootfs.sh puts in the image: strip is deterministic.
  strip --strip-unneeded -o "$OUT/bin/$t" "$p"
done
(cd "$OUT/bin" && sha256sum -- * > "$OUT/binaries.sha256")
if [ "$BIN_ONLY" = 1 ]; then
  cat "$OUT/binaries.sha256"
  exit 0
fi

# --- 2. the enclave root file system --------------------------------------
STAGE=$OUT/rootfs
rm -rf "${STAGE:?}" "$STAGE.manifest"
stage_args=(--build "$BUILD" --out "$STAGE")
if [ -n "$BB" ]; then stage_args+=(--bb "$BB"); else echo "make-eif: WARNING: no --bb: this image cannot prove" >&2; fi
[ -z "$BBV" ] || stage_args+=(--bb-version "$BBV")
for b in "${BUNDLES[@]}"; do stage_args+=(--bundle "$b"); done
[ -z "$ALLOW" ] || stage_args+=(--allow "$ALLOW")
if [ -n "$CRS" ]; then stage_args+=(--crs "$CRS"); else echo "make-eif: WARNING: no --crs: this image cannot prove" >&2; fi
bash "$SRC/deploy/stage-rootfs.sh" "${stage_args[@]}" > "$OUT/rootfs-sizes.txt" ||
  { cat "$OUT/rootfs-sizes.txt" >&2; die "staging the root file system failed"; }
# stage-rootfs.sh wrote $STAGE.manifest = OUT/rootfs.manifest (path, size, SHA-256).
CONF=$STAGE/etc/teerex-init.conf
for e in "${ENVS[@]}"; do
  name=${e%%=*}
  old=$(grep -E "^[[:space:]]*env[[:space:]]*=[[:space:]]*$name=" "$CONF" || true)
  if [ -n "$old" ]; then
    echo "make-eif: --env $e replaces the image's '${old#"${old%%[![:space:]]*}"}'"
    # ENVIRON, not -v: awk would interpret backslashes in a -v value.
    LINE="env = $e" awk -v n="$name" '
      $0 ~ "^[[:space:]]*env[[:space:]]*=[[:space:]]*" n "=" { print ENVIRON["LINE"]; next } { print }' \
      "$CONF" > "$CONF.new"
    mv "$CONF.new" "$CONF"
  else
    echo "make-eif: --env $e added to the image's teerex-init.conf"
    echo "env = $e" >> "$CONF"
  fi
  chmod 0644 "$CONF"
done
"$(bin_path teerex-init)" --check --config "$CONF" > "$OUT/init-check.json" ||
  die "the image's teerex-init.conf does not pass teerex-init --check"

# --- 3. the EIF ------------------------------------------------------------
kernel=$BLOBS/bzImage
[ -f "$kernel" ] || kernel=$BLOBS/Image
for f in "$kernel" "$BLOBS/cmdline" "$BLOBS/init" "$BLOBS/nsm.ko"; do
  [ -f "$f" ] || die "missing $f (install aws-nitro-enclaves-cli, or point --blobs at its blobs)"
done
SIGN=()
[ -n "$KEY" ] && SIGN=(--sign-key "$KEY" --sign-cert "$CERT")
"$(bin_path teerex-eif)" build --kernel "$kernel" --cmdline "$BLOBS/cmdline" --init "$BLOBS/init" \
  --nsm "$BLOBS/nsm.ko" --root "$STAGE" --cmd "$CMD" \
  --name teerex --image-version "$(git -C "$SRC" describe --tags --always 2>/dev/null || echo unknown)" \
  "${SIGN[@]}" --out "$OUT/teerex.eif" --pcrs-json "$OUT/pcrs.json" >/dev/null

{
  echo "commit: $(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "SOURCE_DATE_EPOCH: $SOURCE_DATE_EPOCH"
  echo "os: $(grep -s "^PRETTY_NAME=" /etc/os-release | cut -d= -f2- | tr -d '"')"
  echo "cc: $(cc --version | head -n 1)"
  echo "cmake: $(cmake --version | head -n 1)"
  echo "blobs: $(cd "$BLOBS" && sha256sum -- "$(basename "$kernel")" cmdline init nsm.ko | tr '\n' ' ')"
  # the prover bundles (name, digest) this image runs or may be given
  grep -Ev '^#' "$STAGE/etc/teerex/bb-allowed" | sed 's/^/bundle allowed: /'
  for d in "$STAGE"/app/bb-versions/*; do [ -d "$d" ] && echo "bundle in image: $(basename "$d")"; done
  [ -z "$CRS" ] || echo "crs: $(cd "$CRS" && sha256sum -- bn254_g1.dat bn254_g2.dat | tr '\n' ' ')"
  echo "env overrides: ${ENVS[*]:-none}"
  if command -v dpkg-query >/dev/null; then
    echo "packages:"
    for lib in $(cd "$STAGE" && find . -name '*.so*' | sed 's|^\.||' | sort); do
      # merged /usr: dpkg may know the library under /usr.
      { dpkg-query -S "$lib" || dpkg-query -S "/usr$lib"; } 2>/dev/null | head -n 1 | cut -d: -f1
    done | sort -u | while read -r pkg; do
      echo "  $pkg $(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null)"
    done
  fi
} > "$OUT/build-env.txt"
echo "make-eif: wrote $OUT/teerex.eif ($(( $(stat -c %s "$OUT/teerex.eif") / 1048576 )) MiB), $OUT/pcrs.json"
cat "$OUT/pcrs.json"
