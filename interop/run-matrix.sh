#!/usr/bin/env bash
# The transport-interop matrix: every pair of {hyphae, rust-libp2p, js-libp2p} with hyphae on
# at least one side, as dialer and listener, over every transport / security / muxer
# combination both sides support. Each pair meets through a local redis-server, following
# the libp2p/test-plans transport-interop contract (see src/bin/hyphae-interop.rs).
#
# Usage: interop/run-matrix.sh [--debug] [--update]
#   builds the peers (release by default), prints a markdown table of results and timings,
#   writes it to interop-matrix.md in cargo's target directory (target/ unless
#   CARGO_TARGET_DIR says otherwise), and exits non-zero if any combination fails. Tracked
#   files are left alone, so CI (.ci/run) keeps the tree clean.
#
#   --debug   build the peers in the debug profile (faster to build, what CI uses)
#   --update  record the run in the repository instead: write the table to the tracked
#             interop/matrix.md and its summary into README.md (interop/matrix-summary.py)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

profile=release
build_flag=(--release)
update=false
for arg in "$@"; do
    case "$arg" in
        --debug)
            profile=debug
            build_flag=() ;;
        --update) update=true ;;
        *)
            echo "usage: interop/run-matrix.sh [--debug] [--update]" >&2
            exit 2 ;;
    esac
done

cargo build "${build_flag[@]}" -p hyphae-interop --bin hyphae-interop --bin rust-libp2p-interop >&2
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -E 's/.*"target_directory":"([^"]*)".*/\1/')
bin="$target_dir/$profile"
[ -d interop/js/node_modules ] || npm ci --prefix interop/js --no-audit --no-fund >&2

# What each implementation supports, as "transport/security/muxer" entries.
supports() {
    case "$1" in
        hyphae | rust-libp2p)
            for transport in tcp ws; do
                for security in noise tls; do
                    for muxer in yamux mplex; do echo "$transport/$security/$muxer"; done
                done
            done
            echo "quic-v1/-/-" ;;
        js-libp2p)
            for transport in tcp ws; do
                for security in noise tls; do
                    for muxer in yamux mplex; do echo "$transport/$security/$muxer"; done
                done
            done ;;
    esac
}

command_of() {
    case "$1" in
        hyphae) echo "$bin/hyphae-interop" ;;
        rust-libp2p) echo "$bin/rust-libp2p-interop" ;;
        js-libp2p) echo "node interop/js/interop.mjs" ;;
    esac
}

# A fresh redis-server per combination, so an address left behind by a failed pair cannot
# mislead the next dialer.
redis_pid=
start_redis() {
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
    redis_pid=$!
    for _ in $(seq 50); do
        (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return
        sleep 0.1
    done
}
stop_redis() {
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
}
trap 'stop_redis; kill $(jobs -p) 2>/dev/null || true' EXIT

impls=(hyphae rust-libp2p js-libp2p)
results="| dialer | listener | transport | security | muxer | result | handshake+1RTT ms | ping RTT ms |
|---|---|---|---|---|---|---|---|"
failures=0
for dialer in "${impls[@]}"; do
    for listener in "${impls[@]}"; do
        if [ "$dialer" != hyphae ] && [ "$listener" != hyphae ]; then continue; fi
        for combo in $(supports "$dialer"); do
            if ! supports "$listener" | tr ' ' '\n' | grep -qx "$combo"; then continue; fi
            IFS=/ read -r transport security muxer <<<"$combo"
            # QUIC brings its own security and muxer: the contract leaves both unset.
            [ "$security" = - ] && security=
            [ "$muxer" = - ] && muxer=
            start_redis
            envs=(transport="$transport" security="$security" muxer="$muxer" ip=127.0.0.1
                  redis_addr="127.0.0.1:$port" test_timeout_seconds=60)
            # shellcheck disable=SC2046
            env "${envs[@]}" is_dialer=false $(command_of "$listener") >/dev/null 2>/tmp/matrix-listener.log &
            listener_pid=$!
            # shellcheck disable=SC2046
            if output=$(env "${envs[@]}" is_dialer=true timeout 90 $(command_of "$dialer") 2>/tmp/matrix-dialer.log); then
                handshake=$(sed -E 's/.*"handshakePlusOneRTTMillis": *([0-9.]+).*/\1/' <<<"$output")
                ping=$(sed -E 's/.*"pingRTTMilllis": *([0-9.]+).*/\1/' <<<"$output")
                results+=$'\n'"| $dialer | $listener | $transport | ${security:--} | ${muxer:--} | pass | $(printf %.2f "$handshake") | $(printf %.2f "$ping") |"
            else
                failures=$((failures + 1))
                results+=$'\n'"| $dialer | $listener | $transport | ${security:--} | ${muxer:--} | **FAIL** | | |"
                echo "FAILED: $dialer x $listener ($combo)" >&2
                tail -5 /tmp/matrix-dialer.log >&2
            fi
            kill "$listener_pid" 2>/dev/null || true
            wait "$listener_pid" 2>/dev/null || true
            stop_redis
        done
    done
done

echo "$results"
if [ "$update" = true ]; then
    matrix_file=interop/matrix.md
else
    matrix_file="$target_dir/interop-matrix.md"
    mkdir -p "$target_dir"
fi
{
    echo "<!-- generated by interop/run-matrix.sh on $(date -u +%Y-%m-%d) -->"
    echo "$results"
} >"$matrix_file"
echo "matrix written to $matrix_file" >&2
if [ "$update" = true ]; then
    python3 interop/matrix-summary.py "$profile"
    echo "README.md summary updated" >&2
fi
if [ "$failures" -gt 0 ]; then
    echo "$failures combination(s) failed" >&2
    exit 1
fi
echo "all combinations passed" >&2
