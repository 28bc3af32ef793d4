# Throughput of teerex-proxy (bench, not a ctest test): a sink on
# 127.0.0.16:5000 counts bytes; the sender writes N bytes direct or via the
# proxy on 127.0.0.1:4000. Run inside `unshare -n` (see bench/RESULTS-runtime.md).
#   python3 throughput.py direct|proxy BYTES
import socket, sys, time, threading, os
mode, total = sys.argv[1], int(sys.argv[2])
def sink(host, port, ready):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port)); s.listen(1); ready.set()
    c, _ = s.accept(); n = 0
    while True:
        b = c.recv(1 << 20)
        if not b: break
        n += len(b)
    c.close(); print("sink got", n, file=sys.stderr)
ready = threading.Event()
t = threading.Thread(target=sink, args=("127.0.0.16", 5000, ready)); t.start(); ready.wait()
port = 5000 if mode == "direct" else 4000
host = "127.0.0.16" if mode == "direct" else "127.0.0.1"
time.sleep(0.2)
c = socket.create_connection((host, port))
buf = b"\0" * (1 << 20)
t0 = time.time(); sent = 0
while sent < total:
    c.sendall(buf); sent += len(buf)
c.shutdown(socket.SHUT_WR); c.recv(1); t.join(); dt = time.time() - t0
print(f"{mode}: {sent/dt/1e6:.0f} MB/s ({sent>>20} MiB in {dt:.2f} s)")
