#!/usr/bin/env python3
"""Tests of Network/netem_queue.py (root): its profile parser, and its shaping of real TCP between two network
namespaces joined by a veth pair (the sender's packets go through NFQUEUE, as `devnet up --netns` sets up)."""
import os, random, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from netem_queue import Profile  # noqa: E402

TAG = f"nqt{os.getpid() % 100000}"
SENDER, RECEIVER = f"{TAG}-a", f"{TAG}-b"
RECEIVER_IP = "10.99.0.2"
ECHO = """import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 7000)); s.listen()
print("ready", flush=True)
while True:
    c, _ = s.accept(); c.sendall(c.recv(100)); c.close()
"""
ROUND_TRIP = f"""import socket, sys, time
start = time.monotonic()
try:
    c = socket.create_connection(("{RECEIVER_IP}", 7000), timeout=2); c.sendall(b"ping"); assert c.recv(100) == b"ping"
except OSError:
    sys.exit(3)
print(time.monotonic() - start)
"""
passed, failed = 0, 0


def check(name, body):
    global passed, failed
    try:
        body()
        passed += 1
        print(f"ok   {name}", flush=True)
    except Exception as error:
        failed += 1
        print(f"FAIL {name}: {error!r}", flush=True)


def sh(*args):
    subprocess.run(args, check=True, capture_output=True)


def test_profiles():
    p = Profile("delay 50ms 10ms loss 1% reorder 25%")
    assert (p.delay, p.jitter, p.loss, p.reorder) == (0.05, 0.01, 0.01, 0.25), vars(p)
    assert Profile("").hold(random.Random(0)) == 0.0 and Profile("loss 100%").hold(random.Random(0)) is None
    for bad in ("delay", "delay 5", "loss 5", "bogus", "reorder 25% 50%"):
        try:
            Profile(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was accepted")


def round_trip():
    """Seconds for connect + 4-byte echo from SENDER to RECEIVER, or None when it cannot connect within 2 s."""
    done = subprocess.run(["ip", "netns", "exec", SENDER, sys.executable, "-c", ROUND_TRIP], capture_output=True,
                          text=True)
    return float(done.stdout) if done.returncode == 0 else None


def shape(profile_path, spec):
    with open(profile_path + ".new", "w") as out:
        out.write(spec)
    os.replace(profile_path + ".new", profile_path)
    time.sleep(0.5)  # the shaper polls the file's mtime every 100 ms at most


def test_shaping(profile_path):
    shape(profile_path, "")
    assert round_trip() is not None, "no connection through the queue with an empty profile"
    shape(profile_path, "delay 150ms")
    elapsed = round_trip()
    # the SYN and the request each wait 150 ms in the sender's queue, so the exchange cannot be quicker than 300 ms
    assert elapsed is not None and elapsed >= 0.3, elapsed
    shape(profile_path, "loss 100%")
    assert round_trip() is None, "connected through 100% loss"
    shape(profile_path, "")
    assert round_trip() is not None, "no connection after the loss was cleared"


def main():
    subprocess.run([os.path.join(HERE, "..", "Tools", "deps"), "iptables"], check=True)
    check("profiles parse netem words and refuse anything else", test_profiles)
    processes = []
    scratch = tempfile.mkdtemp(prefix="netem-queue-test-")
    profile_path = os.path.join(scratch, "profile")
    open(profile_path, "w").close()
    try:
        for ns in (SENDER, RECEIVER):
            sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", "eth0", "netns", SENDER, "type", "veth", "peer", "name", "eth0", "netns", RECEIVER)
        for ns, address in ((SENDER, "10.99.0.1/24"), (RECEIVER, RECEIVER_IP + "/24")):
            sh("ip", "-n", ns, "addr", "add", address, "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "netns", "exec", SENDER, "iptables", "-A", "OUTPUT", "-o", "eth0", "-j", "NFQUEUE", "--queue-num", "0",
           "--queue-bypass")
        processes.append(subprocess.Popen(["ip", "netns", "exec", SENDER, sys.executable,
                                           os.path.join(HERE, "netem_queue.py"), profile_path]))
        echo = subprocess.Popen(["ip", "netns", "exec", RECEIVER, sys.executable, "-c", ECHO], stdout=subprocess.PIPE,
                                text=True)
        processes.append(echo)
        assert echo.stdout.readline().strip() == "ready"
        check("delay holds every packet the sender sends; loss 100% cuts the link; clearing restores it",
              lambda: test_shaping(profile_path))
    finally:
        for process in processes:
            process.kill()
            process.wait()
        for ns in (SENDER, RECEIVER):
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True)
        subprocess.run(["rm", "-rf", scratch])
    print(f"netem_queue: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
