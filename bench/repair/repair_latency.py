#!/usr/bin/env python3
"""Usage: repair_latency.py ROUNDS

Run inside the network namespace of a running ipo-netd. ROUNDS times: tamper with the
agent's tables with `nft` (cycling through `nft flush ruleset`, `nft delete table inet
ipo_netd`, `nft flush chain inet ipo_netd filter-forward`), then wait for the agent's repair.
The clock is the kernel's notification stream (netlink group NFNLGRP_NFTABLES), read by this
process while it waits in select(): from the arrival of the tampering batch's notifications to
that of the agent's repairing batch (the first "add rule in inet ipo_netd" from another
netlink port than the tamperer's; the batch is atomic, so the kernel is whole again then).
Prints one latency in ms per line; exits 1 if a repair takes longer than 10 s.
"""
import os
import select
import socket
import struct
import subprocess
import sys
import time

NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NFNLGRP_NFTABLES = 7
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_NEWRULE = 6
NFT_MSG_DELTABLE = 2
NFT_MSG_DELRULE = 8
TAMPER = [
    ["nft", "flush", "ruleset"],
    ["nft", "delete", "table", "inet", "ipo_netd"],
    ["nft", "flush", "chain", "inet", "ipo_netd", "filter-forward"],
]


def notifications(sock, timeout):
    """Yields (time, msg, portid, table) for nf_tables notifications until timeout."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        ready, _, _ = select.select([sock], [], [], left)
        if not ready:
            return
        data = sock.recv(1 << 20)
        now = time.monotonic()
        off = 0
        while off + 16 <= len(data):
            length, mtype, _flags, _seq, pid = struct.unpack_from("=IHHII", data, off)
            if length < 16:
                break
            if mtype >> 8 == NFNL_SUBSYS_NFTABLES:
                table = ""
                a = off + 16 + 4  # nlmsghdr + nfgenmsg
                while a + 4 <= off + length:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if atype & 0x3FFF == 1:
                        table = data[a + 4:a + alen].split(b"\0")[0].decode()
                        break
                    a += (alen + 3) & ~3
                yield now, mtype & 0xFF, pid, table
            off += (length + 3) & ~3


def main():
    rounds = int(sys.argv[1])
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    for i in range(rounds):
        for _ in notifications(sock, 0.05):  # drain
            pass
        cmd = TAMPER[i % len(TAMPER)]
        # Not waited for: this process must sit in select() when the tampering commits, so
        # the tampering's notifications are stamped on arrival, apart from the repair's.
        proc = subprocess.Popen(cmd)
        tampered = None
        tamper_port = None
        repaired = None
        for when, msg, pid, table in notifications(sock, 10.0):
            if tampered is None and msg in (NFT_MSG_DELTABLE, NFT_MSG_DELRULE) and table.startswith("ipo_netd"):
                tampered, tamper_port = when, pid
            elif tampered is not None and msg == NFT_MSG_NEWRULE and pid != tamper_port and table == "ipo_netd":
                repaired = when
                break
        if proc.wait() != 0:
            print(f"round {i}: {' '.join(cmd)} failed", file=sys.stderr)
            return 1
        if tampered is None or repaired is None:
            print(f"round {i}: {' '.join(cmd)}: no repair seen within 10 s", file=sys.stderr)
            return 1
        print(f"{(repaired - tampered) * 1000:.3f}", flush=True)
        time.sleep(0.02)
    return 0


if __name__ == "__main__":
    sys.exit(main())
