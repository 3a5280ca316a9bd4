#!/usr/bin/env bash
# The benchmark suite in one command: builds the release binaries, then runs
#   1. single-stream throughput on loopback (hyphae, rust-libp2p, raw TCP; seal rates), with
#      both ends in one process (a thread each), then between the perf programs users run
#      (`hyphae perf`, `rust-libp2p-perf`, `raw-tcp-perf`, a process per end),
#   2. the same programs across a 60 ms emulated path (linkem; needs root for the namespaces;
#      TCP buffers up to 128 MiB in its namespaces), lossless, then TCP + Noise behind a
#      6 Gbit/s bottleneck like the test-plans perf link's (four times the bytes: a third of
#      a 1 GiB transfer is the ramp), then with 0.1 % loss each way (a sixteenth of the
#      bytes: lossy transfers are slower),
#   3. the connection benchmarks (establishment in RTTs, handshakes/s, RTT, 1000 streams,
#      memory per idle connection, RTT while another stream uploads),
#   4. the gossipsub benchmarks (messages/s through one relay, memory per peer and per topic),
# prints their markdown tables and writes them with the JSON of each part to OUT:
# results.md, results.json (all parts and the commit measured), loopback.json,
# processes.json, wan.json, wan-rate6000.json, wan-loss0.1.json, connections.json, gossip.json.
#
# Usage: benches/run.sh [--quick] [OUT]      (OUT defaults to target/bench-results)
# --quick: 64 MiB transfers, one repetition, the connection and gossip benchmarks' smoke sizes.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
if [[ ${1:-} == --quick ]]; then
    quick=1
    shift
fi
target=${CARGO_TARGET_DIR:-target}
out=${1:-$target/bench-results}
mkdir -p "$out"

cargo build --release -p hyphae-cli --bin hyphae
cargo build --release -p hyphae-benches --bins
bin=$target/release

if ((quick)); then
    bytes=$((64 << 20)) loopback_reps=1 wan_reps=1 connections_args=(--quick) gossip_args=(--quick)
else
    bytes=$((1 << 30)) loopback_reps=5 wan_reps=3 connections_args=() gossip_args=()
fi

{
    echo "# hyphae benchmarks"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
        "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "## 1. Loopback"
    echo
    "$bin/throughput" --bytes "$bytes" --reps "$loopback_reps" --json "$out/loopback.json"
    echo
    "$bin/throughput" --path processes --bytes "$bytes" --reps "$loopback_reps" \
        --json "$out/processes.json"
    echo
    echo "## 2. 60 ms round-trip path (linkem)"
    echo
    "$bin/throughput" --path wan --bytes "$bytes" --reps "$wan_reps" --json "$out/wan.json"
    echo
    "$bin/throughput" --path wan --rate-mbit 6000 --transport tcp-noise --bytes "$((bytes * 4))" \
        --reps "$wan_reps" --json "$out/wan-rate6000.json"
    echo
    "$bin/throughput" --path wan --loss-percent 0.1 --bytes "$((bytes / 16))" \
        --reps "$wan_reps" --json "$out/wan-loss0.1.json"
    echo
    echo "## 3. Connections"
    echo
    "$bin/connections" "${connections_args[@]}" --json "$out/connections.json"
    echo
    echo "## 4. Gossipsub"
    echo
    "$bin/gossip" "${gossip_args[@]}" --json "$out/gossip.json"
} | tee "$out/results.md"

commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
python3 - "$out" "$commit" <<'EOF'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
names = ("loopback", "processes", "wan", "wan-rate6000", "wan-loss0.1", "connections", "gossip")
parts = {name: json.loads((out / f"{name}.json").read_text()) for name in names}
parts["commit"] = sys.argv[2]
(out / "results.json").write_text(json.dumps(parts, indent=2) + "\n")
EOF
echo "results: $out/results.md, $out/results.json" >&2
