//! Distance kernels, scalar vs AVX2+FMA vs AVX-512F (x86_64) or NEON (aarch64),
//! on two vectors that stay in L1. Both vectors start on a 64-byte boundary (as rows of a well-laid-out vector
//! store would), so full-width loads never split a cache line; misaligned data
//! costs up to ~30% more for the SIMD kernels on this machine.
//!
//! Throughput is reported in elements (dimensions) per second: GFLOP/s =
//! Gelem/s * 2 for `dot` and `l2_squared`, * 6 for the one-pass `cosine_distance`.
//!
//! Run: `cargo bench --bench kernels` (`-- dot_i8` for the int8 dot alone).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use veclite::distance::{avx2_kernels, avx512_kernels, neon_kernels, scalar_kernels, Kernels};

type Kernel = fn(&[f32], &[f32]) -> f32;
/// Picks one kernel out of a table.
type Pick = fn(&Kernels) -> Kernel;

const DIMS: [usize; 4] = [128, 384, 768, 1536];

/// Deterministic values in [-1, 1).
fn vector(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// A 64-byte-aligned slice of `dims` deterministic values (kept alive by `buf`).
fn aligned(buf: &mut Vec<f32>, dims: usize, seed: u64) -> &[f32] {
    *buf = vector(dims + 16, seed);
    let off = buf.as_ptr().align_offset(64);
    assert!(off < 16, "cannot align");
    &buf[off..off + dims]
}

fn tables() -> Vec<&'static Kernels> {
    let mut v = vec![scalar_kernels()];
    v.extend(avx2_kernels());
    v.extend(avx512_kernels());
    v.extend(neon_kernels());
    v
}

fn kernels(c: &mut Criterion) {
    let pick: [(&str, Pick); 3] = [
        ("l2_squared", |k| k.l2_squared),
        ("dot", |k| k.dot),
        ("cosine_distance", |k| k.cosine_distance),
    ];
    for (kernel, get) in pick {
        let mut group = c.benchmark_group(kernel);
        for dims in DIMS {
            let (mut abuf, mut bbuf) = (Vec::new(), Vec::new());
            let a = aligned(&mut abuf, dims, 1);
            let b = aligned(&mut bbuf, dims, 2);
            group.throughput(Throughput::Elements(dims as u64));
            for table in tables() {
                let f = get(table);
                group.bench_with_input(BenchmarkId::new(table.name, dims), &dims, |bench, _| {
                    bench.iter(|| f(black_box(a), black_box(b)))
                });
            }
        }
        group.finish();
    }
    // the int8 dot of the quantized index (codes of the same vectors)
    let mut group = c.benchmark_group("dot_i8");
    for dims in DIMS {
        let code = |seed| -> Vec<i8> {
            vector(dims, seed)
                .iter()
                .map(|x| (x * 127.0).round() as i8)
                .collect()
        };
        let (a, b) = (code(1), code(2));
        group.throughput(Throughput::Elements(dims as u64));
        for table in tables() {
            let f = table.dot_i8;
            group.bench_with_input(BenchmarkId::new(table.name, dims), &dims, |bench, _| {
                bench.iter(|| f(black_box(&a), black_box(&b)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
