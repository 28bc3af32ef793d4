#!/bin/sh
# fake-crs.sh DIR: a CRS teerexd's start-up checks accept, for tests whose
# prover is a fake that needs none: sparse files of the sizes chonk asks for
# (2^19 BN254 points of 64 bytes, the 128-byte G2 point, 2^16 Grumpkin
# points). Its points are zeros: never a CRS for a real bb.
set -eu
mkdir -p "$1"
truncate -s $((64 << 19)) "$1/bn254_g1.dat"
truncate -s 128 "$1/bn254_g2.dat"
truncate -s $((64 << 16)) "$1/grumpkin_g1_v2.flat.dat"
