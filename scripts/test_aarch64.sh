#!/usr/bin/env bash
# Cross-builds the Rust tests for aarch64-unknown-linux-gnu and runs them under
# qemu-user: the lib tests (the NEON kernels against the scalar reference, and a
# check that NEON is the table selected), tests/distance_props.rs, and a few fast
# integration tests that go through SQL end to end (int8_transactions: the quantized
# index with the NEON int8 dot; int8_codes: codes written with the NEON quantizer,
# loaded back and checked with the NEON dot). Installs what is missing
# (the rustup target; on Debian/Ubuntu gcc-aarch64-linux-gnu and qemu-user).
# Linker, runner and C compiler (rusqlite's bundled SQLite, which the tests link)
# are set here rather than in a .cargo/config, so the host build is unaffected.
# Extra arguments go to `cargo test`: `--test knn_exact_oracle` adds the exact-KNN
# oracle on real 384-d embeddings (passes, but takes ~160 s under qemu).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
target=aarch64-unknown-linux-gnu

if ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target" >/dev/null
fi
missing=()
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || { echo "test_aarch64.sh: install ${missing[*]} (no apt-get here)" >&2; exit 1; }
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
    || { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar

echo "== Rust tests on $target under $(qemu-aarch64 --version | head -1)"
# distance::tests::aarch64_selects_neon (lib), distance_props::aarch64_uses_neon
# and register_rust::knn_through_sql_agrees_with_the_scalar_reference (through
# veclite_info) fail unless the NEON table is the one selected (VECLITE_SIMD=scalar
# excepted).
cargo test --release --target "$target" --features fuzzing \
  --lib --test distance_props \
  --test register_rust --test bad_input_catalogue --test shared_index --test int8_transactions \
  --test int8_codes \
  "$@"
echo "== aarch64 tests ok in $((SECONDS - start)) s"
