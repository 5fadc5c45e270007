#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::print_stderr
)]
//! `make bench`, the Rust goal's ratio: per payload, telhook's `normalize_event` and the floor
//! (HMAC-SHA256 of the body + `serde_json::from_slice::<Value>`) timed in interleaved rounds,
//! the best round of each kept. Criterion (benches/normalize.rs) times one, then the other,
//! seconds apart: this machine's speed drifts by tens of percent over a minute, and a ratio is
//! only fair between numbers taken under the same drift. Writes target/bench/rust-ratio.json.

mod common;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{did_reseller_minimum, did_reseller_minimum_owned, floor, load, PAYLOADS};

const ROUNDS: usize = 9;
const ROUND: Duration = Duration::from_millis(60);

/// Calls that take about `ROUND`, after a warm-up.
fn calls_per_round(run: &mut dyn FnMut()) -> u32 {
    let mut calls = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..calls {
            run();
        }
        if start.elapsed() >= ROUND / 4 {
            return calls.saturating_mul(4);
        }
        calls = calls.saturating_mul(2);
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a name filter, as criterion's.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mut results = serde_json::Map::new();
    for name in PAYLOADS {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let (provider, request, credentials, now) = load(name);
        let mut normalize = || {
            black_box(
                telhook_core::normalize_event(
                    Some(provider),
                    black_box(&request),
                    &credentials,
                    now,
                )
                .unwrap(),
            );
        };
        let mut floor = || {
            black_box(floor(&request.body));
        };
        // The DID reseller's least possible work besides (see `did_reseller_minimum`): what
        // any code that gives its event must spend, which bench/report.py holds against the goal.
        let mut minimum = || {
            black_box(did_reseller_minimum(&request.body));
        };
        // ... and with the record's second copy that telhook's owned event holds.
        let mut minimum_owned = || {
            black_box(did_reseller_minimum_owned(&request.body));
        };
        let with_minimum = name == "did_reseller";
        let mut best = [f64::INFINITY; 4];
        {
            let mut contenders: Vec<&mut dyn FnMut()> = vec![&mut normalize, &mut floor];
            if with_minimum {
                contenders.push(&mut minimum);
                contenders.push(&mut minimum_owned);
            }
            let calls: Vec<u32> = contenders
                .iter_mut()
                .map(|run| calls_per_round(*run))
                .collect();
            for _ in 0..ROUNDS {
                for ((run, n), best) in contenders.iter_mut().zip(&calls).zip(best.iter_mut()) {
                    let start = Instant::now();
                    for _ in 0..*n {
                        run();
                    }
                    let per_call = start.elapsed().as_secs_f64() * 1e9 / f64::from(*n);
                    *best = best.min(per_call);
                }
            }
        }
        eprintln!(
            "rust ratio {name}: normalize {:.0} ns, floor {:.0} ns, {:.2}x",
            best[0],
            best[1],
            best[0] / best[1]
        );
        let mut result =
            serde_json::json!({"normalize_ns": best[0], "floor_ns": best[1], "rounds": ROUNDS});
        if with_minimum {
            eprintln!(
                "rust ratio {name}: its least possible work {:.0} ns, {:.2}x the floor",
                best[2],
                best[2] / best[1]
            );
            eprintln!(
                "rust ratio {name}: with the record's owned second copy {:.0} ns, {:.2}x the floor",
                best[3],
                best[3] / best[1]
            );
            result["minimum_ns"] = serde_json::json!(best[2]);
            result["minimum_owned_ns"] = serde_json::json!(best[3]);
        }
        results.insert(name.into(), result);
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out).unwrap();
    let path = out.join("rust-ratio.json");
    // A filtered run (`-- limephone`) updates its payloads and keeps the others', so that the
    // report still finds every payload.
    if !filter.is_empty() {
        let earlier: serde_json::Map<String, serde_json::Value> = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        for (name, result) in earlier {
            results.entry(name).or_insert(result);
        }
    }
    std::fs::write(path, serde_json::to_string_pretty(&results).unwrap()).unwrap();
}
