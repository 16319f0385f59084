#!/bin/sh
# Prints the launch-cost table of the sandbox tiers (see benches/sandbox_launch.rs). Run from the crate root;
# install bubblewrap (`apt-get install bubblewrap`) to see it side by side.
set -e
cd "$(dirname "$0")/.."
exec cargo bench --bench sandbox_launch -- "$@"
