//! The comparators on a 100 MB output (the worst case: equal, so every byte is read).
//! Run with `cargo bench --bench compare`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use takehome::check::{CompareOptions, compare};
use takehome::spec::Compare;

const SIZE: usize = 100 << 20;

/// Lines of two numbers, one a float, until `SIZE` bytes.
fn output() -> Vec<u8> {
    let mut text = Vec::with_capacity(SIZE + 64);
    let mut n: u64 = 1;
    while text.len() < SIZE {
        n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        text.extend_from_slice(format!("{} {}.{:03}\n", n >> 40, (n >> 20) & 0xffff, n & 0x3ff).as_bytes());
    }
    text
}

fn comparators(c: &mut Criterion) {
    let expected = output();
    let actual = expected.clone();
    let options = CompareOptions::default();
    let mut group = c.benchmark_group("compare-100MB");
    group.sample_size(10).throughput(Throughput::Bytes(expected.len() as u64));
    for mode in [Compare::Exact, Compare::Lines, Compare::Tokens, Compare::Floats] {
        group.bench_function(format!("{mode:?}").to_lowercase(), |b| {
            b.iter(|| {
                let judgement = compare(mode, &options, &expected, &actual);
                assert!(judgement.accepted);
                judgement
            });
        });
    }
    group.finish();
}

criterion_group!(benches, comparators);
criterion_main!(benches);
