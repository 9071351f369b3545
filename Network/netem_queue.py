#!/usr/bin/env python3
"""A netem in user space for one devnet node (this machine's kernel has no netem qdisc): run inside the node's
network namespace, it takes the packets that an iptables NFQUEUE rule hands it (every packet the node sends on
eth0) over a netfilter netlink socket and releases each one after the delay its profile asks for, or drops it.

  netem_queue.py --check "SPEC"    exits 1 with the reason when SPEC is not a profile it can apply
  netem_queue.py PROFILE_FILE      the file holds netem-style words, re-read when it changes:
                                   delay 50ms [10ms]   loss 1%   reorder 25%   (empty: pass everything at once)

A reordered packet skips the delay (as in netem), so it overtakes the ones queued before it. Jitter alone keeps the
order (a packet never leaves before one sent earlier, like netem with a pfifo child): a WAN link's delay varies, but
it rarely reorders, and TCP would take heavy reordering for loss.
Stdlib only. The iptables rule uses --queue-bypass, so packets flow unshaped whenever this process is not running.
"""
import heapq, os, random, re, select, socket, struct, sys, time

NETLINK_NETFILTER = 12
QUEUE_SUBSYSTEM = 3 << 8
MSG_PACKET, MSG_VERDICT, MSG_CONFIG = 0, 1, 2
NLM_F_REQUEST = 1
CFG_CMD, CFG_PARAMS, CFG_QUEUE_MAXLEN, CFG_MASK, CFG_FLAGS = 1, 2, 3, 4, 5
CMD_BIND = 1
COPY_META = 1
FLAG_FAIL_OPEN = 1           # a full queue accepts packets rather than dropping them
PACKET_HDR, VERDICT_HDR = 1, 2
DROP, ACCEPT = 0, 1
QUEUE = 0
QUEUE_MAX = 16384
SO_RCVBUFFORCE = 33          # SO_RCVBUF past rmem_max (root); the socket module does not name it


class Profile:
    """delay TIME [JITTER], loss PERCENT, reorder PERCENT, in any order; anything else is refused."""

    def __init__(self, text):
        self.delay = self.jitter = self.loss = self.reorder = 0.0
        words = text.split()
        while words:
            word = words.pop(0)
            if word == "delay" and words and is_time(words[0]):
                self.delay = seconds(words.pop(0))
                if words and is_time(words[0]):
                    self.jitter = seconds(words.pop(0))
            elif word in ("loss", "reorder") and words and re.fullmatch(r"[\d.]+%", words[0]):
                setattr(self, word, min(1.0, float(words.pop(0)[:-1]) / 100))
            else:
                raise ValueError(f"cannot read {word!r} in {text!r}: use delay 50ms [10ms], loss 1%, reorder 25%")

    def hold(self, rng):
        """Seconds to hold a packet, or None to drop it."""
        if rng.random() < self.loss:
            return None
        if rng.random() < self.reorder:
            return 0.0
        return max(0.0, self.delay + rng.uniform(-self.jitter, self.jitter))


def is_time(word):
    return re.fullmatch(r"[\d.]+(ms|s|us)", word) is not None


def seconds(word):
    number, unit = re.fullmatch(r"([\d.]+)(ms|s|us)", word).groups()
    return float(number) * {"s": 1, "ms": 1e-3, "us": 1e-6}[unit]


def attribute(kind, payload):
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def message(kind, attributes, family=0):
    body = struct.pack("=BBH", family, 0, socket.htons(QUEUE)) + b"".join(attributes)
    return struct.pack("=IHHII", 16 + len(body), QUEUE_SUBSYSTEM | kind, NLM_F_REQUEST, 0, 0) + body


def bind(sock):
    sock.send(message(MSG_CONFIG, [attribute(CFG_CMD, struct.pack("!BxH", CMD_BIND, 0))]))
    sock.send(message(MSG_CONFIG, [attribute(CFG_PARAMS, struct.pack("!IB", 0, COPY_META) + b"\0\0\0"),
                                   attribute(CFG_QUEUE_MAXLEN, struct.pack("!I", QUEUE_MAX)),
                                   attribute(CFG_MASK, struct.pack("!I", FLAG_FAIL_OPEN)),
                                   attribute(CFG_FLAGS, struct.pack("!I", FLAG_FAIL_OPEN))]))


def packet_ids(data):
    """The ids of the queued packets in one netlink read."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if length < 16:
            return
        if kind == QUEUE_SUBSYSTEM | MSG_PACKET:
            at = offset + 20  # past the netlink header and nfgenmsg
            while at + 4 <= offset + length:
                size, attr = struct.unpack_from("=HH", data, at)
                if size < 4:
                    break
                if attr & 0x7fff == PACKET_HDR:
                    yield struct.unpack_from("!I", data, at + 4)[0]
                at += (size + 3) & ~3
        offset += (length + 3) & ~3


def verdict(sock, packet_id, decision):
    sock.send(message(MSG_VERDICT, [attribute(VERDICT_HDR, struct.pack("!II", decision, packet_id))]))


def main():
    if sys.argv[1] == "--check":
        try:
            Profile(sys.argv[2])
        except ValueError as error:
            sys.exit(str(error))
        return
    path = sys.argv[1]
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
    sock.bind((0, 0))
    bind(sock)
    rng = random.Random(os.getpid())
    profile, stamp = Profile(""), None
    held = []  # (due time, order, packet id)
    order = 0
    last_due = 0.0
    while True:
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            mtime = None
        if mtime != stamp:
            stamp = mtime
            try:
                profile = Profile(open(path).read() if mtime is not None else "")
            except (OSError, ValueError) as error:  # devnet checks a profile before writing it; keep the last one
                print(f"netem_queue: {error}", file=sys.stderr, flush=True)
        now = time.monotonic()
        while held and held[0][0] <= now:
            verdict(sock, heapq.heappop(held)[2], ACCEPT)
        wait = min(0.1, held[0][0] - now) if held else 0.1
        if not select.select([sock], [], [], max(0.0, wait))[0]:
            continue
        try:
            data = sock.recv(1 << 20)
        except OSError:  # ENOBUFS: messages lost; their packets wait in the kernel's queue (TCP resends them)
            continue
        for packet_id in packet_ids(data):
            hold = profile.hold(rng)
            if hold is None:
                verdict(sock, packet_id, DROP)
            elif hold == 0.0:
                verdict(sock, packet_id, ACCEPT)
            else:
                order += 1
                last_due = max(last_due, time.monotonic() + hold)
                heapq.heappush(held, (last_due, order, packet_id))


if __name__ == "__main__":
    main()
