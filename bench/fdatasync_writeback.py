#!/usr/bin/env python3
"""Does preallocating the Raft log's segment files shorten fdatasync under other writeback?

    flock /tmp/cairn-heavy.lock python3 bench/fdatasync_writeback.py [DIR] [--n 3000]

The question of RESULTS.md "Issue 21 §3, the c=1 p99 and the disk" (stop 36): Cairn's Raft log
appends to its segment file (each fdatasync also makes the new size durable), etcd preallocates
its segments. For each way of preparing a 4 MiB segment file

    append  an empty file, each record extends it (what src/wal does)
    falloc  posix_fallocate'd first (etcd's way: unwritten extents)
    zero    written with zeros and fdatasynced first (PostgreSQL's wal_init_zero)

it times N records of 400 bytes, each pwrite + fdatasync 2 ms apart (a c=1 writer), while a
second process writes like a node's access log under load: 150 MB appended to a file of its
own, then that file fdatasynced (the writeback a flusher thread would do), over and over.
Prints p50/p90/p99/max of the record's pwrite + fdatasync per mode, twice each, interleaved.
DIR (default: a new directory under /tmp) should be on the file system under test.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

BACKGROUND = r'''
import os, sys, time
f = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
buf = (b"x" * 300 + b"\n") * 200
while True:
    for _ in range(2500):  # ~150 MB
        os.write(f, buf)
    time.sleep(0.5)
    os.fdatasync(f)
    time.sleep(1)
'''


def run(d, mode, n):
    seg = os.path.join(d, "segment")
    if os.path.exists(seg):
        os.unlink(seg)
    fd = os.open(seg, os.O_RDWR | os.O_CREAT, 0o644)
    if mode == "zero":
        os.pwrite(fd, b"\0" * (4 << 20), 0)
        os.fdatasync(fd)
    elif mode == "falloc":
        os.posix_fallocate(fd, 0, 4 << 20)
        os.fdatasync(fd)
    log = os.path.join(d, "background.log")
    bg = subprocess.Popen([sys.executable, "-c", BACKGROUND, log])
    try:
        time.sleep(4)
        lat, off, rec = [], 0, b"r" * 400
        for _ in range(n):
            t = time.perf_counter()
            os.pwrite(fd, rec, off)
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t)
            off += len(rec)
            time.sleep(0.002)
    finally:
        bg.kill()
        bg.wait()
        os.close(fd)
        os.unlink(log)
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] * 1e3  # noqa: E731
    print("%-6s p50 %.2f  p90 %.2f  p99 %.2f  max %.2f ms" % (mode, q(.5), q(.9), q(.99),
                                                              lat[-1] * 1e3), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", nargs="?")
    ap.add_argument("--n", type=int, default=3000)
    a = ap.parse_args()
    d = a.dir or tempfile.mkdtemp(prefix="cairn-fdatasync-")
    os.makedirs(d, exist_ok=True)
    for mode in ("append", "falloc", "zero") * 2:
        run(d, mode, a.n)
    os.unlink(os.path.join(d, "segment"))


if __name__ == "__main__":
    main()
