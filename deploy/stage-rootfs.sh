#!/usr/bin/env bash
# Builds the enclave's root file system from deploy/runtime-files.txt and
# prints its size accounting. Used by deploy/make-eif.sh (the image) and by
# Dockerfile.enclave (build stage): one definition for both.
#   stage-rootfs.sh --build DIR [--bb PATH [--bb-version NAME]] [--bundle DIR]...
#                   [--allow FILE] [--crs DIR] --out DIR
#                   [--max-ours-mib N (10)] [--max-libs-mib N (16)]
# --bb is the default prover: a bundle directory (bb + lib/ with its loader
# and libraries, as `teerex bb fetch` makes it) or a single executable; it
# is staged as /app/bb-versions/NAME (NAME: --bb-version, else the
# directory's name when it is a version, else "default"), and NAME becomes
# BB_DEFAULT_VERSION in the staged teerex-init.conf. --bundle adds more
# bundles (named by their directory). /etc/teerex/bb-allowed, the pinned
# policy's allow-list, holds "NAME DIGEST" of every staged bundle plus the
# lines of --allow (versions the parent's provisioning service may bring on
# demand), so the list is measured with the image.
# Without --bb (--crs) the lines of runtime-files.txt that need it are left
# out, and a warning says the image cannot prove.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build="" bb="" bbv="" crs="" out="" allow="" max_ours=10 max_libs=16
bundles=()
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --bb) bb=$2; shift 2 ;;
    --bb-version) bbv=$2; shift 2 ;;
    --bundle) bundles+=("$2"); shift 2 ;;
    --allow) allow=$2; shift 2 ;;
    --crs) crs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --max-ours-mib) max_ours=$2; shift 2 ;;
    --max-libs-mib) max_libs=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "stage-rootfs: unknown argument $1" >&2; exit 2 ;;
  esac
done
for v in build out; do
  [ -n "${!v}" ] || { echo "stage-rootfs: --$v is required" >&2; exit 2; }
done
[ ! -e "$out" ] || [ -z "$(ls -A "$out")" ] || { echo "stage-rootfs: $out is not empty" >&2; exit 2; }
mkdir -p "$out"

# --- the prover bundles (docs/PROTOCOL-EXT.md, "Prover bundles") ----------
valid_version() { [[ "$1" =~ ^[0-9A-Za-z_+-][0-9A-Za-z._+-]{0,63}$ ]] && [[ "$1" != *..* ]]; }
# The bundle digest, exactly as docs/PROTOCOL-EXT.md defines it.
bundle_digest() {
  (cd "$1" && { echo teerex-bundle-v1; find . -type f -printf '%P\n' | LC_ALL=C sort |
    while read -r f; do m=644; [ -x "$f" ] && m=755; echo "$m $(sha256sum < "$f" | cut -c1-64) $f"; done
  } | sha256sum | cut -c1-64)
}
bdir=$(mktemp -d "${TMPDIR:-/tmp}/teerex-bundles.XXXXXX")
trap 'rm -rf "$bdir"' EXIT
chmod 0755 "$bdir"
default_name=""
stage_bundle() { # SOURCE NAME: a bundle directory or an executable -> $bdir/NAME
  local source=$1 name=$2
  valid_version "$name" || { echo "stage-rootfs: '$name' is not a version name" >&2; exit 2; }
  [ ! -e "$bdir/$name" ] || { echo "stage-rootfs: two bundles named $name" >&2; exit 2; }
  if [ -d "$source" ]; then
    [ -x "$source/bb" ] || { echo "stage-rootfs: $source has no executable bb" >&2; exit 1; }
    if [ -n "$(find "$source" -type l | head -n 1)" ]; then
      echo "stage-rootfs: $source holds symlinks: not a bundle" >&2; exit 1
    fi
    cp -R --preserve=mode "$source" "$bdir/$name"
  elif [ -f "$source" ]; then
    mkdir -p "$bdir/$name"
    install -m 0755 "$source" "$bdir/$name/bb"
  else
    echo "stage-rootfs: missing $source" >&2; exit 1
  fi
  # what the sandbox's uid may read and run: directories 0755, files 0755/0644
  find "$bdir/$name" -type d -exec chmod 0755 {} +
  find "$bdir/$name" -type f -perm -u+x -exec chmod 0755 {} +
  find "$bdir/$name" -type f ! -perm -u+x -exec chmod 0644 {} +
  echo "$name $(bundle_digest "$bdir/$name")" >> "$bdir.allowed"
}
: > "$bdir.allowed"
if [ -n "$bb" ]; then
  if [ -n "$bbv" ]; then default_name=$bbv
  elif [ -d "$bb" ] && valid_version "$(basename "$bb")"; then default_name=$(basename "$bb")
  else default_name=default; fi
  stage_bundle "$bb" "$default_name"
fi
for b in "${bundles[@]}"; do stage_bundle "$b" "$(basename "$b")"; done
if [ -n "$allow" ]; then
  grep -Ev '^[[:space:]]*(#|$)' "$allow" >> "$bdir.allowed" || true
fi
allowed_sorted=$(LC_ALL=C sort -u "$bdir.allowed")
rm -f "$bdir.allowed"

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
  if [ "$source" = @BUNDLES@ ]; then # every staged bundle, as it is (never stripped)
    mkdir -p "$out$dest"
    chmod 0755 "$out$dest"
    for d in "$bdir"/*; do
      [ -d "$d" ] || continue
      cp -R --preserve=mode "$d" "$out$dest/"
      bbsize=$(( bbsize + $(du -sb "$d" | cut -f1) ))
      # a bundle without its own loader runs on the image's libraries
      [ -d "$d/lib" ] || copy_libs "$d/bb"
    done
    [ -n "$(ls -A "$bdir")" ] || echo "stage-rootfs: WARNING: no --bb: this image cannot prove (unless its allow-list lets the parent provision a version)" >&2
    continue
  fi
  if [ "$source" = @ALLOWED@ ]; then # the pinned policy's list: measured with the image
    mkdir -p "$out$(dirname "$dest")"
    printf '# prover bundles this enclave may run (BB_POLICY=pinned): VERSION DIGEST\n%s\n' \
      "$allowed_sorted" > "$out$dest"
    chmod "$mode" "$out$dest"
    continue
  fi
  if [ -z "$crs" ] && [[ "$source" == *@CRS@* ]]; then
    echo "stage-rootfs: WARNING: $dest left out (no --crs given): this image cannot prove" >&2
    continue
  fi
  source=${source//@BUILD@/$build}
  source=${source//@SRC@/$src}
  source=${source//@CRS@/$crs}
  [ -f "$source" ] || { echo "stage-rootfs: missing $source" >&2; exit 1; }
  mkdir -p "$out$(dirname "$dest")"
  install -m "$mode" "$source" "$out$dest"
  case $dest in
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

# The default prover's name into the staged configuration.
conf=$out/etc/teerex-init.conf
if [ -n "$default_name" ] && [ -f "$conf" ]; then
  sed -i "s/^\([[:space:]]*env[[:space:]]*=[[:space:]]*BB_DEFAULT_VERSION=\).*/\1$default_name/" "$conf"
  grep -q "^[[:space:]]*env[[:space:]]*=[[:space:]]*BB_DEFAULT_VERSION=" "$conf" ||
    echo "env = BB_DEFAULT_VERSION=$default_name" >> "$conf"
  echo "stage-rootfs: default prover: bundle $default_name ($(grep "^$default_name " <<< "$allowed_sorted" | cut -d' ' -f2))" >&2
fi

# A manifest (path, size, sha256) for reviews and for make-eif.sh.
(cd "$out" && find . -type f -printf '%P\n' | LC_ALL=C sort | while read -r f; do
  printf '/%s %s %s\n' "$f" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
done) > "$out.manifest"

mib() { awk -v b="$1" 'BEGIN{printf "%.2f MiB", b/1048576}'; }
total=$(( ours + libs + bbsize + crssize ))
echo "enclave rootfs size accounting ($out):"
echo "  ours (teerex-init, teerexd, config):  $(mib "$ours")"
echo "  shared libraries + loader:            $(mib "$libs")"
echo "  bb prover bundles:                    $(mib "$bbsize")"
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
