#!/usr/bin/env python3
"""Usage: flood.py DST PORT RATE SECONDS

Sends UDP datagrams (18 bytes of payload) to DST:PORT at RATE a second for SECONDS, paced
against the clock, and prints "sent SECONDS_TAKEN ERRORS" on one line. When the host cannot
keep up the achieved rate (sent / seconds) is below RATE: the caller reports what was sent,
never what was asked. For bench/drops/run, inside a lab namespace only."""
import socket
import sys
import time


def main() -> int:
    if len(sys.argv) != 5 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) == 2 else 2
    dst, port, rate, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    payload = b"ipo-bench-drops-x"
    addr = (dst, port)
    sendto = sock.sendto
    sent = errors = 0
    start = time.monotonic()
    end = start + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        due = min(int((now - start) * rate) + 1, int(rate * seconds))
        while sent < due:
            try:
                sendto(payload, addr)
            except OSError:
                errors += 1
            sent += 1
        if sent >= rate * seconds:
            time.sleep(max(0.0, end - time.monotonic()))
            break
    print(sent - errors, round(time.monotonic() - start, 3), errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
