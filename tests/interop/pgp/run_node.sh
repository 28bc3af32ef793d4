#!/usr/bin/env bash
# Runs a node interop script, or skips (77) when node is not installed.
command -v node >/dev/null || { echo "SKIP: node not installed"; exit 77; }
exec node "$@"
