#!/bin/sh
# Prints the linearizability checker's figures: the slowest and total time over the 103 Jepsen etcd
# histories, the kv histories, and a generated 10,000-operation kv history from 16 clients (bar: under 1 s
# each). Run from anywhere; needs ../shared/data/linearizability beside the crate.
set -e
cd "$(dirname "$0")/.."
exec cargo run --release --quiet --example bench_linearizability -- "$@"
