//! Peak heap use of one `telhook_core::normalize_event` call per payload, for bench/report.py:
//! `telhook-bench-memory bench/payloads/growth/*.json` prints a JSON array, one object per
//! payload: `body_bytes`, `peak_bytes` (most bytes live at once during the call, above what was
//! live before it: the request and its body, already held by the caller, are not counted) and
//! `retained_bytes` (what the returned event still holds).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use telhook_core::{Credentials, Provider, WebhookRequest};

/// The system allocator, counting the bytes live now and the most live since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let block = System.alloc(layout);
        if !block.is_null() {
            grew(layout.size());
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let block = System.alloc_zeroed(layout);
        if !block.is_null() {
            grew(layout.size());
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        System.dealloc(block, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = System.realloc(block, layout, new_size);
        if !moved.is_null() {
            // Counted as the old and new blocks both live, as a copying realloc has them.
            grew(new_size);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rows = Vec::new();
    for path in std::env::args().skip(1) {
        let payload: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
        let provider = Provider::from_json(&payload["provider"])?;
        let request = WebhookRequest::from_json_value(payload["request"].clone())?;
        let credentials = Credentials::from_json_value(payload["credentials"].clone())?;
        let now = payload["now"].as_i64().ok_or("now")?;
        // A warm-up call first: what a first call alone sets up is no part of a request's cost.
        drop(telhook_core::normalize_event(
            provider,
            &request,
            &credentials,
            now,
        )?);

        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let event = telhook_core::normalize_event(provider, &request, &credentials, now)?;
        let peak = PEAK.load(Ordering::Relaxed) - before;
        let retained = LIVE.load(Ordering::Relaxed) - before;
        drop(event);
        rows.push(serde_json::json!({
            "name": payload["name"],
            "body_bytes": request.body.len(),
            "peak_bytes": peak,
            "retained_bytes": retained,
        }));
    }
    println!("{}", serde_json::to_string_pretty(&rows)?);
    Ok(())
}
