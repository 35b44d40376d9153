#!/usr/bin/env bash
# Time `cargo check` of a crate declaring 20 networks against the same crate declaring none,
# both depending on this checkout of nn, after both have been checked once (so only the crate
# itself is re-checked). Prints the medians of 5 runs and the difference.
#   bash tools/compile_cost.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

make_crate() { # name, number of networks
    mkdir -p "$work/$1/src"
    cat > "$work/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
nn = { path = "$root" }
[workspace]
TOML
    {
        if [ "$2" -eq 0 ]; then echo "use nn as _;"; else echo "use nn::prelude::*;"; fi
        for i in $(seq 1 "$2"); do
            echo "network! { pub struct Net$i: [28, 28] => Flatten -> Linear<784, $((100 + i))> -> ReLU -> Linear<$((100 + i)), 64> -> ReLU -> Linear<64, 10> }"
        done
        echo "fn main() {}"
    } > "$work/$1/src/main.rs"
}

median_check() { # crate dir
    local times=()
    for _ in 1 2 3 4 5; do
        touch "$1/src/main.rs"
        local start end
        start=$(date +%s.%N)
        (cd "$1" && CARGO_TARGET_DIR="$work/target" cargo check -q)
        end=$(date +%s.%N)
        times+=("$(echo "$end - $start" | bc)")
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n 3p
}

make_crate none 0
make_crate twenty 20
(cd "$work/none" && CARGO_TARGET_DIR="$work/target" cargo check -q)
(cd "$work/twenty" && CARGO_TARGET_DIR="$work/target" cargo check -q)
none=$(median_check "$work/none")
twenty=$(median_check "$work/twenty")
printf 'cargo check, median of 5: 0 networks %.2f s, 20 networks %.2f s, cost of 20 networks %.2f s (%.0f ms each)\n' \
    "$none" "$twenty" "$(echo "$twenty - $none" | bc)" "$(echo "($twenty - $none) * 50" | bc)"
