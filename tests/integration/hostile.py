#!/usr/bin/env python3
"""hostile.py - hostile clients against a running field-server (sockets
only, the standard library only), driven by test_hostile.sh.

    hostile.py PORT PID DEVICE

PORT is the server's port on 127.0.0.1, PID its process (its memory is
read from /proc/PID/status), DEVICE the public key of an enrolled device
(its requests are signed with a signature that cannot verify: the server
must not hold their bodies beyond its ceiling either).

Each attack prints "PASS name" or "FAIL name: detail"; the script exits 0
either way (the shell counts the lines). The attacks, with sizes bounded
so that the whole run takes about 15 s:

  - nobody's bodies: 50 unsigned clients announce 8 MB bodies and send
    them; each must be refused from its headers, before its body;
  - a device's bodies: 40 clients with an enrolled device's headers
    announce 4 MB bodies; past max-buffered (the test sets 32M) they are
    refused with 503 and Retry-After;
  - slowloris: 200 connections send a request line, then a header byte
    every 0.4 s; the server closes them after header-timeout;
  - two different Content-Length headers: 400.

Throughout, a monitor asks GET /v1/health from another address
(127.0.0.2) every 0.2 s: every answer must come within a second, and the
server's peak memory (VmHWM) must stay within a ceiling over its memory
before the attacks.
"""

import socket
import sys
import threading
import time

HOST = "127.0.0.1"
MONITOR_FROM = "127.0.0.2"
HEALTH_WITHIN = 1.0  # seconds
MEMORY_SLACK_KB = 96 * 1024  # max-buffered (32M) and room for the rest

PORT = int(sys.argv[1])
PID = int(sys.argv[2])
DEVICE = sys.argv[3]
FAKE_SIG = "ab" * 64


def report(ok, name, detail=""):
    if ok:
        print("PASS " + name, flush=True)
    else:
        print("FAIL %s: %s" % (name, detail), flush=True)


def memory_kb(field):
    with open("/proc/%d/status" % PID) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def read_answer(s, limit=5.0):
    """The status and headers of an answer (None when none came)."""
    s.settimeout(limit)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    if not data.startswith(b"HTTP/1."):
        return None, b""
    head = data.split(b"\r\n\r\n", 1)[0]
    return int(head.split(b" ")[1]), head


class Monitor(threading.Thread):
    """GET /v1/health every 0.2 s from another address."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.worst = 0.0
        self.failures = []
        self.probes = 0

    def probe(self):
        t0 = time.monotonic()
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(HEALTH_WITHIN)
            s.bind((MONITOR_FROM, 0))
            s.connect((HOST, PORT))
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n")
            status, _ = read_answer(s, HEALTH_WITHIN)
            s.close()
        except OSError as e:
            status = str(e)
        took = time.monotonic() - t0
        self.probes += 1
        self.worst = max(self.worst, took)
        if status != 200 or took > HEALTH_WITHIN:
            self.failures.append("%s after %.2f s" % (status, took))

    def run(self):
        while not self.stop.is_set():
            self.probe()
            self.stop.wait(0.2)


def headers(size, signed, extra=b""):
    h = (b"POST /v1/sync HTTP/1.1\r\nHost: x\r\n"
         b"Content-Type: application/json\r\n"
         b"Content-Length: %d\r\n" % size)
    if signed:
        h += ("X-Field-Device: %s\r\nX-Field-Time: %d\r\n"
              "X-Field-Signature: %s\r\n" %
              (DEVICE, int(time.time() * 1000), FAKE_SIG)).encode()
    return h + extra + b"\r\n"


def big_body(size, signed, pause, results, i):
    """Announce size bytes and send them (pausing half way), then read."""
    try:
        s = socket.create_connection((HOST, PORT), timeout=10)
        s.sendall(headers(size, signed))
        piece = b"x" * 65536
        sent = 0
        try:
            while sent < size:
                if pause and sent >= size // 2:
                    time.sleep(pause)
                    pause = 0
                s.sendall(piece[:min(len(piece), size - sent)])
                sent += min(len(piece), size - sent)
        except OSError:
            pass  # refused before the whole body: what we want
        results[i] = read_answer(s, 10)
        s.close()
    except OSError as e:
        results[i] = (str(e), b"")


def flood(n, size, signed, pause):
    results = [None] * n
    threads = [threading.Thread(target=big_body,
                                args=(size, signed, pause, results, i))
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def headers_only_answered(signed, want):
    """Announce a big body and send none: the answer must come at once."""
    s = socket.create_connection((HOST, PORT), timeout=5)
    s.sendall(headers(8 << 20, signed))
    status, _ = read_answer(s, 2.0)
    s.close()
    return status == want, status


def attack_bodies(base_kb):
    ok, status = headers_only_answered(False, 401)
    report(ok, "an unsigned body is refused from its headers, before it "
           "is sent", "got %s" % status)
    res = flood(50, 8 << 20, False, 0)
    statuses = sorted(set(r[0] for r in res if r))
    report(statuses == [401], "50 unsigned 8 MB bodies: all refused 401",
           "statuses %s" % statuses)
    grew = memory_kb("VmHWM") - base_kb
    report(grew < MEMORY_SLACK_KB,
           "50 unsigned 8 MB bodies: memory stays under the ceiling",
           "peak grew by %d MB" % (grew // 1024))


def attack_device_bodies(base_kb):
    res = flood(40, 4 << 20, True, 1.0)
    statuses = [r[0] for r in res if r]
    busy = [r for r in res if r and r[0] == 503]
    report(len(busy) > 0 and all(b"Retry-After:" in r[1] for r in busy),
           "40 device bodies of 4 MB past max-buffered: 503 with "
           "Retry-After", "statuses %s" % sorted(set(statuses)))
    report(200 not in statuses and all(st in (401, 503) for st in statuses),
           "40 device bodies with a bad signature: none accepted",
           "statuses %s" % sorted(set(statuses)))
    grew = memory_kb("VmHWM") - base_kb
    report(grew < MEMORY_SLACK_KB,
           "40 device bodies of 4 MB: memory stays under the ceiling",
           "peak grew by %d MB" % (grew // 1024))


def attack_slowloris(n, seconds):
    socks = []
    for _ in range(n):
        try:
            s = socket.create_connection((HOST, PORT), timeout=2)
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
            s.setblocking(False)
            socks.append(s)
        except OSError:
            pass
    t0 = time.monotonic()
    open_socks = list(socks)
    while time.monotonic() - t0 < seconds and open_socks:
        still = []
        for s in open_socks:
            try:
                s.send(b"X")
                try:
                    if s.recv(1) == b"":
                        s.close()
                        continue
                except BlockingIOError:
                    pass
                still.append(s)
            except OSError:
                s.close()
        open_socks = still
        time.sleep(0.4)
    report(not open_socks,
           "%d slow-header connections: closed within %d s" % (n, seconds),
           "%d still open" % len(open_socks))
    for s in open_socks:
        s.close()


def attack_two_lengths():
    s = socket.create_connection((HOST, PORT), timeout=5)
    s.sendall(b"POST /v1/sync HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\n"
              b"Content-Length: 5\r\nContent-Length: 50\r\n\r\nhello")
    status, _ = read_answer(s, 3)
    s.close()
    report(status == 400, "two different Content-Length headers: 400",
           "got %s" % status)


def main():
    base_kb = memory_kb("VmRSS")
    mon = Monitor()
    mon.start()
    attack_two_lengths()
    attack_bodies(base_kb)
    attack_device_bodies(base_kb)
    attack_slowloris(200, 6)
    mon.stop.set()
    mon.join()
    report(not mon.failures and mon.probes > 10,
           "/v1/health answered within %.0f s throughout (%d probes, worst "
           "%.2f s)" % (HEALTH_WITHIN, mon.probes, mon.worst),
           "; ".join(mon.failures[:5]))


main()
