//! The protocol harness's hot paths per message: parsing a node's stdout line, writing a request line,
//! and recording a latency in the HdrHistogram. Run with `cargo bench --bench protocol_codec`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hdrhistogram::Histogram;
use takehome::run::protocol::message::{Body, Message, parse_line};

fn request() -> Message {
    let body = Body::new("transfer").with("from", "a17").with("to", "a803").with("amount", 42).with("work_ms", 1);
    Message { src: "c12".into(), dest: "n0".into(), body: Body { msg_id: Some(123_456), ..body } }
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("json-lines");
    group.throughput(Throughput::Elements(1));
    let reply = br#"{"src":"n0","dest":"c12","body":{"type":"transfer_ok","in_reply_to":123456,"msg_id":98765}}"#;
    group.bench_function("parse-reply", |b| b.iter(|| parse_line("n0", 1, reply).map(|m| m.body.in_reply_to)));
    let message = request();
    let mut line = Vec::with_capacity(256);
    group.bench_function("write-request", |b| {
        b.iter(|| {
            line.clear();
            message.write_line(&mut line);
            line.len()
        });
    });
    group.finish();

    let mut histogram = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds");
    let mut micros: u64 = 1;
    let mut group = c.benchmark_group("histogram");
    group.throughput(Throughput::Elements(1));
    group.bench_function("record-latency", |b| {
        b.iter(|| {
            // A spread of latencies from 1 µs to ~1 s, so every bucket range is touched.
            micros = (micros * 7 + 13) % 1_000_000 + 1;
            histogram.saturating_record(micros);
        });
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
