#!/usr/bin/env bash
# make-eif.sh: the Docker-free, reproducible path to the enclave image.
#
#   deploy/make-eif.sh --blobs DIR [--bb FILE] [--crs DIR] [--out DIR]
#                      [--cmd ARGV] [--env K=V]... [--sign-key KEY --sign-cert CERT]
#   deploy/make-eif.sh --binaries-only [--targets "teerex-init teerexd"] [--out DIR]
#
# 1. Builds teerex-init, teerexd and teerex-eif in a dedicated CMake build
#    (build/eif-release under the checkout) with pinned flags: Release, -O2,
#    no debug info, -ffile-prefix-map (TR_REPRODUCIBLE), LC_ALL=C, TZ=UTC,
#    SOURCE_DATE_EPOCH = the commit time. Two checkouts of the same commit in
#    different directories give byte-identical binaries on the same Debian
#    release and package versions (recorded in OUT/build-env.txt).
# 2. Stages the enclave's root file system: /usr/bin/teerex-init,
#    /usr/bin/teerexd, their shared libraries (copied from this machine at
#    their loader paths), /usr/bin/bb and /crs/ when given. Nothing else.
# 3. Runs teerex-eif build with the kernel, cmdline, init and nsm.ko from
#    --blobs (nitro-cli's /usr/share/nitro_enclaves/blobs/<arch>/) and writes
#    OUT/teerex.eif, OUT/pcrs.json (feed PCR0/PCR2 to `teerex attest verify
#    --pcr 0=...` and the client), OUT/binaries.sha256, OUT/build-env.txt.
#
# Exit codes: 0 ok, 1 build or input failure, 2 usage.
set -euo pipefail
export LC_ALL=C TZ=UTC
umask 022

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$SRC/out/eif
BLOBS="" BB="" CRS="" KEY="" CERT="" BIN_ONLY=0
TARGETS="teerex-init teerexd"
CMD="/usr/bin/teerex-init --workdir / -- /usr/bin/teerexd"
ENVS=()

usage() { sed -n '2,/^# Exit codes/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "make-eif: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    --blobs) BLOBS=$2; shift 2 ;;
    --bb) BB=$2; shift 2 ;;
    --crs) CRS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --cmd) CMD=$2; shift 2 ;;
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

built=()
for t in $TARGETS; do
  if nice cmake --build "$BUILD" --target "$t" -j2 >"$OUT/build-$t.log" 2>&1; then
    built+=("$t")
  else
    die "building $t failed (see $OUT/build-$t.log)"
  fi
done

bin_path() { find "$BUILD/src" -type f -name "$1" -perm -u+x | head -n 1; }
STAGE=$OUT/stage
rm -rf "${STAGE:?}" "${OUT:?}/bin"
mkdir -p "$STAGE/usr/bin" "$OUT/bin"
for t in "${built[@]}"; do
  p=$(bin_path "$t")
  [ -n "$p" ] || die "$t built but not found under $BUILD/src"
  # strip is deterministic; symbols would only carry our own names anyway.
  strip --strip-all -o "$OUT/bin/$t" "$p"
done
(cd "$OUT/bin" && sha256sum -- * > "$OUT/binaries.sha256")
if [ "$BIN_ONLY" = 1 ]; then
  cat "$OUT/binaries.sha256"
  exit 0
fi

# --- 2. the enclave root file system --------------------------------------
for t in "${built[@]}"; do
  install -m 0755 "$OUT/bin/$t" "$STAGE/usr/bin/$t"
done
copy_libs() { # the shared libraries a binary needs, at the paths the loader uses
  ldd "$1" | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}' | while read -r lib; do
    dst=$STAGE$lib
    [ -e "$dst" ] && continue
    mkdir -p "$(dirname "$dst")"
    install -m 0755 "$(readlink -f "$lib")" "$dst"
  done
}
ENV_ARGS=(--env TEE_MODE=nitro)
if [ -n "$BB" ]; then
  install -m 0755 "$BB" "$STAGE/usr/bin/bb"
  ENV_ARGS+=(--env BB_BINARY_PATH=/usr/bin/bb)
fi
if [ -n "$CRS" ]; then
  mkdir -p "$STAGE/crs"
  find "$CRS" -maxdepth 1 -type f -name '*.dat' -exec install -m 0644 {} "$STAGE/crs/" \;
  ENV_ARGS+=(--env CRS_PATH=/crs)
fi
for f in "$STAGE"/usr/bin/*; do
  if ldd "$f" >/dev/null 2>&1; then copy_libs "$f"; fi
done
for e in "${ENVS[@]}"; do ENV_ARGS+=(--env "$e"); done

# --- 3. the EIF ------------------------------------------------------------
kernel=$BLOBS/bzImage
[ -f "$kernel" ] || kernel=$BLOBS/Image
for f in "$kernel" "$BLOBS/cmdline" "$BLOBS/init" "$BLOBS/nsm.ko"; do
  [ -f "$f" ] || die "missing $f (install aws-nitro-enclaves-cli, or point --blobs at its blobs)"
done
EIFTOOL=$(bin_path teerex-eif)
if [ -z "$EIFTOOL" ]; then
  nice cmake --build "$BUILD" --target teerex-eif -j2 >"$OUT/build-teerex-eif.log" 2>&1 ||
    die "building teerex-eif failed"
  EIFTOOL=$(bin_path teerex-eif)
fi
SIGN=()
[ -n "$KEY" ] && SIGN=(--sign-key "$KEY" --sign-cert "$CERT")
"$EIFTOOL" build --kernel "$kernel" --cmdline "$BLOBS/cmdline" --init "$BLOBS/init" \
  --nsm "$BLOBS/nsm.ko" --root "$STAGE" --cmd "$CMD" "${ENV_ARGS[@]}" \
  --name teerex --image-version "$(git -C "$SRC" describe --tags --always 2>/dev/null || echo unknown)" \
  "${SIGN[@]}" --out "$OUT/teerex.eif" --pcrs-json "$OUT/pcrs.json" >/dev/null

{
  echo "commit: $(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "SOURCE_DATE_EPOCH: $SOURCE_DATE_EPOCH"
  echo "os: $(grep -s "^PRETTY_NAME=" /etc/os-release | cut -d= -f2- | tr -d '"')"
  echo "cc: $(cc --version | head -n 1)"
  echo "cmake: $(cmake --version | head -n 1)"
  echo "blobs: $(cd "$BLOBS" && sha256sum -- "$(basename "$kernel")" cmdline init nsm.ko | tr '\n' ' ')"
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
echo "make-eif: wrote $OUT/teerex.eif, $OUT/pcrs.json"
cat "$OUT/pcrs.json"
