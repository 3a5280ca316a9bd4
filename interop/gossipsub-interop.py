#!/usr/bin/env python3
"""Runs a few dozen nodes of the libp2p/test-plans gossipsub-interop contract on loopback and
checks delivery from their logs.

Each node is a process of a contract binary (by default hyphae's,
`hyphae-gossipsub-interop`) started with `--params <params.json> --node-id N --port-base P`
in place of the contract's `node<N>` hostnames: node N listens on 127.0.0.1:P+N. The params
follow the contract's script instructions (test-plans `gossipsub-interop/script_instruction.py`):
every node connects to a few earlier ones, all subscribe to one topic, then published
messages spread while every node logs each copy it receives (`Received Message`, NDJSON on
stdout). The check: every message reached every node but its publisher.

    python3 interop/gossipsub-interop.py --bin target/debug/hyphae-gossipsub-interop --nodes 30

Exits 0 when every message reached every subscriber, 1 otherwise; prints a summary.
"""

import argparse
import json
import random
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

TOPIC = "foobar"


def ephemeral_ports():
    """The kernel's range for outgoing connections' local ports (Linux; a common default else)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port_base(count):
    """A base port with `count` free ports after it (checked by binding each once).

    The range is chosen outside the ephemeral ports: a port free now may be taken by any
    outgoing connection on the machine before the node binds it, and tests run in parallel.
    """
    low, high = ephemeral_ports()
    below = (10000, low - count) if low - count > 10000 else None
    above = (high + 1, 65535 - count) if 65535 - count > high + 1 else None
    ranges = [r for r in (below, above) if r] or [(10000, 65535 - count)]
    for _ in range(50):
        base = random.randint(*random.choice(ranges))
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    sys.exit("no free port range found")


def script(nodes, messages, size, degree, heartbeat_ms, rng):
    only = lambda node, instruction: {
        "type": "ifNodeIDEquals",
        "nodeID": node,
        "instruction": instruction,
    }
    params = {
        "HeartbeatInterval": heartbeat_ms * 1_000_000,
        "D": 6,
        "Dlo": 4,
        "Dhi": 12,
        "Dout": 2,
    }
    steps = [{"type": "initGossipSub", "gossipSubParams": params}]
    for node in range(1, nodes):
        targets = rng.sample(range(node), min(node, degree))
        steps.append(only(node, {"type": "connect", "connectTo": targets}))
    steps.append({"type": "subscribeToTopic", "topicID": TOPIC})
    # Meshes form over a few heartbeats.
    settle = 3 + (20 * heartbeat_ms) // 1000
    steps.append({"type": "waitUntil", "elapsedSeconds": settle})
    publishers = {}
    for message in range(messages):
        publisher = message % nodes
        publishers[message] = publisher
        steps.append(
            only(
                publisher,
                {
                    "type": "publish",
                    "messageID": message,
                    "messageSizeBytes": size,
                    "topicID": TOPIC,
                },
            )
        )
    steps.append({"type": "waitUntil", "elapsedSeconds": settle + 8})
    return {"script": steps}, publishers


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default="target/debug/hyphae-gossipsub-interop")
    parser.add_argument("--nodes", type=int, default=30)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--size", type=int, default=2048, help="message size in bytes")
    parser.add_argument("--degree", type=int, default=4, help="connections each node dials")
    parser.add_argument("--heartbeat-ms", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", help="directory for params.json and the logs (else a temp dir)")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    params, publishers = script(
        args.nodes, args.messages, args.size, args.degree, args.heartbeat_ms, rng
    )
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="gossipsub-interop-"))
    out.mkdir(parents=True, exist_ok=True)
    params_path = out / "params.json"
    params_path.write_text(json.dumps(params, indent=1))
    base = free_port_base(args.nodes)

    processes = []
    for node in range(args.nodes):
        stdout = open(out / f"node{node}.stdout", "w")
        stderr = open(out / f"node{node}.stderr", "w")
        command = [args.bin, "--params", str(params_path), "--node-id", str(node)]
        command += ["--port-base", str(base)]
        processes.append(subprocess.Popen(command, stdout=stdout, stderr=stderr))
    deadline = 60 + 2 * max(step.get("elapsedSeconds", 0) for step in params["script"])
    failed = []
    for node, process in enumerate(processes):
        try:
            if process.wait(timeout=deadline) != 0:
                failed.append(node)
        except subprocess.TimeoutExpired:
            process.kill()
            failed.append(node)

    received = {}  # message id -> node -> copies
    peer_ids = {}
    for node in range(args.nodes):
        for line in (out / f"node{node}.stdout").read_text().splitlines():
            event = json.loads(line)
            if event["msg"] == "PeerID":
                peer_ids[node] = event["id"]
            elif event["msg"] == "Received Message":
                copies = received.setdefault(int(event["id"]), {})
                copies[node] = copies.get(node, 0) + 1

    expected = args.nodes - 1
    missing = []
    copies_total = 0
    deliveries = 0
    for message, publisher in publishers.items():
        copies = received.get(message, {})
        copies.pop(publisher, None)
        reached = len(copies)
        deliveries += reached
        copies_total += sum(copies.values())
        if reached < expected:
            missing.append((message, expected - reached))
    possible = expected * len(publishers)
    print(f"nodes {args.nodes}, messages {len(publishers)} of {args.size} bytes, logs in {out}")
    print(f"processes failed: {failed or 'none'}; peer ids logged: {len(peer_ids)}/{args.nodes}")
    for node in failed[:5]:
        head = (out / f"node{node}.stderr").read_text().splitlines()[:2]
        print(f"node {node} stderr: " + " | ".join(head))
    print(f"delivered {deliveries}/{possible} ({100.0 * deliveries / max(possible, 1):.1f} %)")
    if deliveries:
        print(f"duplicates per delivered message: {(copies_total - deliveries) / deliveries:.2f}")
    for message, count in missing[:10]:
        print(f"message {message}: {count} nodes missed it")
    ok = not failed and not missing and len(peer_ids) == args.nodes
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
