#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! `make bench`, Rust part: per payload, telhook's `normalize_event` against the floor —
//! HMAC-SHA256 of the same body plus `serde_json::from_slice::<Value>` — in the same run,
//! plus verify-only and parse-only. bench/report.py turns the estimates into ratios.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use telhook_core::{wire, Credentials, Provider, WebhookRequest};

const PAYLOADS: [&str; 6] = [
    "limephone",
    "lisoloo",
    "gatewayapi",
    "looplookup",
    "did_reseller",
    "limephone_64k",
];

fn load(name: &str) -> (Provider, WebhookRequest, Credentials, i64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../bench/payloads")
        .join(format!("{name}.json"));
    let payload: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let provider = wire::provider_from_json(&payload["provider"])
        .unwrap()
        .unwrap();
    let request = WebhookRequest::from_json_value(payload["request"].clone()).unwrap();
    let credentials = Credentials::from_json_value(payload["credentials"].clone()).unwrap();
    (
        provider,
        request,
        credentials,
        payload["now"].as_i64().unwrap(),
    )
}

fn benches(c: &mut Criterion) {
    for name in PAYLOADS {
        let (provider, request, credentials, now) = load(name);
        assert!(telhook_core::normalize_event(Some(provider), &request, &credentials, now).is_ok());
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(request.body.len() as u64));
        group.bench_function("floor_hmac_plus_value_parse", |b| {
            b.iter(|| {
                let mut mac = Hmac::<Sha256>::new_from_slice(b"a-webhook-secret").unwrap();
                mac.update(black_box(&request.body));
                let tag = mac.finalize().into_bytes();
                let value: serde_json::Value =
                    serde_json::from_slice(black_box(&request.body)).unwrap();
                black_box((tag, value))
            })
        });
        group.bench_function("telhook_normalize_event", |b| {
            b.iter(|| {
                telhook_core::normalize_event(
                    Some(provider),
                    black_box(&request),
                    &credentials,
                    now,
                )
                .unwrap()
            })
        });
        group.bench_function("telhook_verify_only", |b| {
            b.iter(|| {
                telhook_core::verify(Some(provider), black_box(&request), &credentials, now)
                    .unwrap()
            })
        });
        group.bench_function("telhook_parse_only", |b| {
            b.iter(|| telhook_core::parse(provider, black_box(&request.body)).unwrap())
        });
        group.finish();
    }
}

criterion_group! {
    name = normalize;
    config = Criterion::default().sample_size(40).warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}
criterion_main!(normalize);
