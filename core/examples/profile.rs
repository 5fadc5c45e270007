//! Runs one bench payload through `normalize_event` N times, for callgrind / perf:
//! `cargo run --release -p telhook-core --example profile -- bench/payloads/gatewayapi.json 1000`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

use telhook_core::{Credentials, Provider, WebhookRequest};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("payload path");
    let times: usize = args.next().map_or(1000, |n| n.parse().unwrap());
    let payload: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let provider = Provider::from_json(&payload["provider"]).unwrap();
    let request = WebhookRequest::from_json_value(payload["request"].clone()).unwrap();
    let credentials = Credentials::from_json_value(payload["credentials"].clone()).unwrap();
    let now = payload["now"].as_i64().unwrap();
    let mut ids = 0usize;
    for _ in 0..times {
        ids += telhook_core::normalize_event(provider, &request, &credentials, now)
            .unwrap()
            .id
            .len();
    }
    println!("{ids}");
}
