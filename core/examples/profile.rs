//! Runs one bench payload through `normalize_event` (or, with `floor`, through the floor that
//! `make bench` compares it with: HMAC-SHA256 of the body + `serde_json::from_slice::<Value>`)
//! N times, for callgrind / perf (bench/callgrind.py):
//! `cargo run --release -p telhook-core --example profile -- bench/payloads/gatewayapi.json 1000 [floor]`
//!
//! With `did_minimum` it runs the DID reseller's least possible work instead
//! (`did_reseller_minimum` in core/benches/common); with `floor_twilio`, `floor_telnyx` or
//! `floor_vonage`, that provider's floor (`newer_floors` there) on a payload of its own.
//!
//! With `receiver` (built with `--features binding-api`) it runs `api::Receiver::normalize`, the
//! call every binding makes, instead of `normalize_event`; `receiver_time` times it as `time` does.
//!
//! With `time` instead of `floor` it times the N calls (after N / 10 to warm up) and prints the
//! nanoseconds a call: bench/python/bench.py alternates that with timing the Python binding on
//! the same payload, so the binding tax divides two numbers taken under the same drift.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

#[path = "../benches/common/mod.rs"]
#[allow(dead_code)] // the benches' loader and payload list are not used here
mod common;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::hint::black_box;
use telhook_core::{Credentials, Provider, WebhookRequest};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("payload path");
    let times: usize = args.next().map_or(1000, |n| n.parse().unwrap());
    let mode = args.next();
    let floor = mode.as_deref() == Some("floor");
    let payload: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let provider = Provider::from_json(&payload["provider"]).unwrap();
    let request = WebhookRequest::from_json_value(payload["request"].clone()).unwrap();
    let credentials = Credentials::from_json_value(payload["credentials"].clone()).unwrap();
    let now = payload["now"].as_i64().unwrap();
    let mut ids = 0usize;
    if mode.as_deref() == Some("did_minimum") {
        for _ in 0..times {
            black_box(common::did_reseller_minimum(black_box(&request.body)));
        }
        return;
    }
    // The newer providers' floors (core/benches/common `newer_floors`), with the vector's secret.
    let secret = |name: &str| {
        let value = &payload["credentials"][name];
        let text = value.as_str().or_else(|| value[0].as_str()).unwrap();
        text.as_bytes().to_vec()
    };
    match mode.as_deref() {
        Some("floor_twilio") => {
            let token = secret("auth_token");
            for _ in 0..times {
                black_box(common::newer_floors::twilio(black_box(&request), &token));
            }
            return;
        }
        Some("floor_telnyx") => {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(secret("ed25519_public_key"))
                .unwrap();
            let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes.try_into().unwrap()).unwrap();
            for _ in 0..times {
                black_box(common::newer_floors::telnyx(black_box(&request), &key));
            }
            return;
        }
        Some("floor_vonage") => {
            let key = secret("jwt_hs256");
            for _ in 0..times {
                black_box(common::newer_floors::vonage(black_box(&request), &key));
            }
            return;
        }
        _ => {}
    }
    if floor {
        for _ in 0..times {
            let mut mac = Hmac::<Sha256>::new_from_slice(b"a-webhook-secret").unwrap();
            mac.update(black_box(&request.body));
            let tag = mac.finalize().into_bytes();
            let value: serde_json::Value =
                serde_json::from_slice(black_box(&request.body)).unwrap();
            ids += usize::from(tag[0]) + usize::from(value.is_object());
        }
        println!("{ids}");
        return;
    }
    // With `receiver` (built with `--features binding-api`): through `api::Receiver`, the path
    // every binding takes (its credentials checked once, when it is built).
    #[cfg(feature = "binding-api")]
    let receiver = telhook_core::api::Receiver::new(
        provider.map(Provider::name),
        &payload["credentials"].to_string(),
        "null",
    )
    .unwrap();
    let through_receiver = matches!(mode.as_deref(), Some("receiver" | "receiver_time"));
    let normalize = || {
        #[cfg(feature = "binding-api")]
        if through_receiver {
            return receiver
                .normalize(black_box(&request), now)
                .unwrap()
                .id
                .len();
        }
        assert!(
            !through_receiver,
            "receiver: build with --features binding-api"
        );
        telhook_core::normalize_event(provider, black_box(&request), &credentials, now)
            .unwrap()
            .id
            .len()
    };
    if matches!(mode.as_deref(), Some("time" | "receiver_time")) {
        for _ in 0..times / 10 {
            ids += normalize();
        }
        let started = std::time::Instant::now();
        for _ in 0..times {
            ids += normalize();
        }
        let elapsed = started.elapsed();
        black_box(ids);
        #[allow(clippy::cast_precision_loss)]
        let per_call = elapsed.as_nanos() as f64 / times as f64;
        println!("{per_call}");
        return;
    }
    for _ in 0..times {
        ids += normalize();
    }
    println!("{ids}");
}
