#![no_main]
use libfuzzer_sys::fuzz_target;
use telhook_core::{Credentials, Provider, WebhookRequest};

// The reseller's `data` is JSON inside a JSON string: fuzz that inner document directly.
fuzz_target!(|input: (u8, String, String)| {
    let (kind, schema, data) = input;
    let change = ["insert", "update", "delete", "merge"][usize::from(kind % 4)];
    let body = serde_json::json!({ "type": change, "schema": schema, "data": data }).to_string();
    let request = WebhookRequest::post(vec![], body.into_bytes());
    let result = telhook_core::normalize_event(
        Some(Provider::DidReseller),
        &request,
        &Credentials::insecure_skip_verification(),
        1_769_000_000,
    );
    if let Ok(event) = &result {
        let record = event.record.as_ref().map(|r| r.data.is_some());
        assert_eq!(record, Some(true));
    }
    telhook_fuzz::check(&result);
});
