#!/usr/bin/env bash
# Runs shellcheck on deploy/*.sh and the runtime and attack test scripts.
set -euo pipefail
: "${TR_SOURCE_DIR:?run through ctest}"
command -v shellcheck >/dev/null || { echo "SKIP: shellcheck not installed"; exit 77; }
cd "$TR_SOURCE_DIR"
files=(deploy/build-eif.sh deploy/run-enclave.sh deploy/user-data.sh deploy/stage-rootfs.sh
       deploy/make-eif.sh scripts/*.sh
       tests/integration/init/*.sh tests/integration/proxy/*.sh tests/integration/eif/*.sh
       tests/integration/ops/*.sh tests/integration/attacks/*.sh tests/integration/vm/*.sh)
for f in "${files[@]}"; do [ -f "$f" ] || { echo "FAIL: missing $f"; exit 1; }; done
shellcheck -x -P SCRIPTDIR -S style "${files[@]}"
echo "shellcheck clean: ${#files[@]} files"
