#!/usr/bin/env bash
# Builds the enclave's root file system from deploy/runtime-files.txt and
# prints its size accounting. Used by deploy/make-eif.sh (the image) and by
# Dockerfile.enclave (build stage): one definition for both.
#   stage-rootfs.sh --build DIR [--bb FILE] [--crs DIR] --out DIR
#                   [--max-ours-mib N (10)] [--max-libs-mib N (16)]
# Without --bb (--crs) the lines of runtime-files.txt that need it are left
# out, and a warning says the image cannot prove.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build="" bb="" crs="" out="" max_ours=10 max_libs=16
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --bb) bb=$2; shift 2 ;;
    --crs) crs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --max-ours-mib) max_ours=$2; shift 2 ;;
    --max-libs-mib) max_libs=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "stage-rootfs: unknown argument $1" >&2; exit 2 ;;
  esac
done
for v in build out; do
  [ -n "${!v}" ] || { echo "stage-rootfs: --$v is required" >&2; exit 2; }
done
[ ! -e "$out" ] || [ -z "$(ls -A "$out")" ] || { echo "stage-rootfs: $out is not empty" >&2; exit 2; }
mkdir -p "$out"

ours=0 libs=0 bbsize=0 crssize=0
size_of() { stat -c %s "$1"; }
declare -A seen_lib=()

copy_libs() { # ELF file: copy its shared libraries (and the loader)
  local f=$1 lib
  file -L "$f" | grep -q 'dynamically linked' || return 0
  while read -r lib; do
    if [ -z "$lib" ] || [ ! -f "$lib" ]; then continue; fi
    [ -z "${seen_lib[$lib]:-}" ] || continue
    seen_lib[$lib]=1
    mkdir -p "$out$(dirname "$lib")"
    cp -L "$lib" "$out$lib"
    libs=$(( libs + $(size_of "$out$lib") ))
  done < <(ldd "$f" | awk '/=> \//{print $3} /^[ \t]*\/[^ ]+ \(/{print $1}')
}

while read -r source dest mode; do
  case $source in ''|'#'*) continue ;; esac
  if [ "$source" = - ]; then
    mkdir -p "$out$dest"
    chmod "$mode" "$out$dest"
    continue
  fi
  if { [ -z "$bb" ] && [[ "$source" == *@BB@* ]]; } || { [ -z "$crs" ] && [[ "$source" == *@CRS@* ]]; }; then
    echo "stage-rootfs: WARNING: $dest left out (no --bb/--crs given): this image cannot prove" >&2
    continue
  fi
  source=${source//@BUILD@/$build}
  source=${source//@SRC@/$src}
  source=${source//@BB@/$bb}
  source=${source//@CRS@/$crs}
  [ -f "$source" ] || { echo "stage-rootfs: missing $source" >&2; exit 1; }
  mkdir -p "$out$(dirname "$dest")"
  install -m "$mode" "$source" "$out$dest"
  case $dest in
    /app/bb) bbsize=$(size_of "$out$dest") ;;
    /app/crs/*) crssize=$(( crssize + $(size_of "$out$dest") )) ;;
    *)
      if file "$out$dest" | grep -q ELF; then
        strip --strip-unneeded "$out$dest"
      fi
      ours=$(( ours + $(size_of "$out$dest") ))
      ;;
  esac
  if file -L "$out$dest" | grep -q ELF; then copy_libs "$source"; fi
done < "$here/runtime-files.txt"

# A manifest (path, size, sha256) for reviews and for make-eif.sh.
(cd "$out" && find . -type f -printf '%P\n' | LC_ALL=C sort | while read -r f; do
  printf '/%s %s %s\n' "$f" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
done) > "$out.manifest"

mib() { awk -v b="$1" 'BEGIN{printf "%.2f MiB", b/1048576}'; }
total=$(( ours + libs + bbsize + crssize ))
echo "enclave rootfs size accounting ($out):"
echo "  ours (teerex-init, teerexd, config):  $(mib "$ours")"
echo "  shared libraries + loader:            $(mib "$libs")"
echo "  bb prover:                            $(mib "$bbsize")"
echo "  CRS:                                  $(mib "$crssize")"
echo "  total:                                $(mib "$total")"
if [ "$ours" -gt $(( max_ours * 1048576 )) ]; then
  echo "stage-rootfs: our binaries ($(mib "$ours")) exceed ${max_ours} MiB" >&2
  exit 1
fi
if [ "$libs" -gt $(( max_libs * 1048576 )) ]; then
  echo "stage-rootfs: shared libraries ($(mib "$libs")) exceed ${max_libs} MiB" >&2
  exit 1
fi
