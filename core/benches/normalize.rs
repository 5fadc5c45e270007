#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! `make bench`, Rust part: per payload, telhook's `normalize_event` against the floor —
//! HMAC-SHA256 of the same body plus `serde_json::from_slice::<Value>` — in the same run,
//! plus verify-only and parse-only. bench/report.py turns the estimates into ratios.

mod common;

use std::hint::black_box;

use common::{floor, load, PAYLOADS};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use telhook_core::{Credentials, Provider, WebhookRequest};

/// Issue 14's cost growth: the same Limephone message at 1 KiB, 64 KiB and 1 MiB of body
/// (bench/payloads/growth/); bench/report.py turns the times into µs per KB.
const GROWTH: [&str; 3] = ["limephone_1k", "limephone_64k", "limephone_1m"];

fn benches(c: &mut Criterion) {
    for name in PAYLOADS {
        let (provider, request, credentials, now) = load(name);
        assert!(telhook_core::normalize_event(Some(provider), &request, &credentials, now).is_ok());
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(request.body.len() as u64));
        group.bench_function("floor_hmac_plus_value_parse", |b| {
            b.iter(|| black_box(floor(&request.body)))
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

fn growth(c: &mut Criterion) {
    let mut group = c.benchmark_group("growth");
    for name in GROWTH {
        let (provider, request, credentials, now) = load(&format!("growth/{name}"));
        assert!(telhook_core::normalize_event(Some(provider), &request, &credentials, now).is_ok());
        group.throughput(Throughput::Bytes(request.body.len() as u64));
        group.bench_function(name, |b| {
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
    }
    group.finish();
}

/// Issue 12: a `Signature` header listing the maximum number of entries must cost about what a
/// single entry costs (each secret's MAC is computed once, then compared with every entry).
/// bench/report.py does not read this group; compare `max_entries` with `one_entry` directly.
fn signature_list(c: &mut Criterion) {
    const MIB: usize = 1024 * 1024;
    let head = br#"{"event_id":"g-1","event_type":"message.status.sms","event":{"msg_id":"x","recipient":4512345678,"status":"DELIVERED"},"pad":""#;
    let mut body = head.to_vec();
    body.resize(MIB - 2, b'x');
    body.extend_from_slice(b"\"}");
    let secret = "gwapi-HMAC-secret-31d7";
    let credentials = Credentials::none().with_hmac_sha256(secret);
    let valid = format!(
        "v1={}",
        telhook_core::verify::hmac::sign_hex(secret.as_bytes(), &body)
    );
    let mut entries: Vec<String> = (0..telhook_core::verify::hmac::MAX_LISTED_SIGNATURES - 1)
        .map(|i| {
            format!(
                "v1={}",
                "0123456789abcdef".repeat(4).replace('0', &i.to_string())
            )
        })
        .collect();
    entries.push(valid.clone());
    let mut group = c.benchmark_group("signature_list_1mib");
    group.throughput(Throughput::Bytes(body.len() as u64));
    for (name, header) in [("one_entry", valid), ("max_entries", entries.join(","))] {
        let request = WebhookRequest::post(vec![("Signature".into(), header)], body.clone());
        assert!(
            telhook_core::verify(Some(Provider::GatewayApi), &request, &credentials, 0).is_ok()
        );
        group.bench_function(name, |b| {
            b.iter(|| {
                telhook_core::verify(
                    Some(Provider::GatewayApi),
                    black_box(&request),
                    &credentials,
                    0,
                )
                .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = normalize;
    config = Criterion::default().sample_size(40).warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = benches, growth, signature_list
}
criterion_main!(normalize);
