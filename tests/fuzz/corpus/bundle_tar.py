#!/usr/bin/env python3
# Regenerates the seed corpus of bundle_tar_fuzz.c (deterministic: mtime 0,
# owner 0). Run from anywhere: python3 tests/fuzz/corpus/bundle_tar.py
import io, os, tarfile

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bundle_tar")

def reg(name, data=b"x", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), mode, 0
    return ti, data

def special(name, kind, target=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mtime = kind, target, 0
    return ti, None

def write(fname, entries, fmt=tarfile.USTAR_FORMAT, cut=None):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    b = buf.getvalue()
    with open(os.path.join(here, fname), "wb") as f:
        f.write(b[:cut] if cut else b)

BB = reg("bb", b"#!/bin/sh\necho bb\n", 0o755)
LD = reg("lib/ld-linux-x86-64.so.2", b"loader", 0o755)
LC = reg("lib/libc.so.6", b"libc")
os.makedirs(here, exist_ok=True)
write("ok", [BB, LD, LC])
write("ok_dotslash_dir", [reg("./bb", b"b", 0o755), special("./lib/", tarfile.DIRTYPE), reg("./lib/libm.so.6")])
write("ok_pax", [BB, reg("lib/" + "l" * 120 + ".so")], tarfile.PAX_FORMAT)
write("ok_gnu", [BB, reg("lib/" + "g" * 110 + ".so")], tarfile.GNU_FORMAT)
write("symlink", [BB, special("lib/libc.so.6", tarfile.SYMTYPE, "/lib/x86_64-linux-gnu/libc.so.6")])
write("hardlink", [BB, special("lib/libc.so.6", tarfile.LNKTYPE, "bb")])
write("traversal", [BB, reg("../bb")])
write("absolute", [reg("/bb", b"b", 0o755)])
write("dup", [BB, reg("bb", b"other", 0o755)])
write("no_bb", [LD, LC])
write("device", [BB, special("lib/null", tarfile.CHRTYPE)])
write("fifo", [BB, special("lib/fifo", tarfile.FIFOTYPE)])
write("other_dir", [BB, special("bin/", tarfile.DIRTYPE)])
write("nested", [BB, reg("lib/sub/x.so")])
write("hidden", [BB, reg("lib/.x")])
write("truncated", [BB, LD, LC], cut=1100)
write("empty", [])
