#![no_main]
use libfuzzer_sys::fuzz_target;
use telhook_fuzz::{check, credentials, FuzzRequest};

fuzz_target!(|input: FuzzRequest| {
    let request = telhook_core::WebhookRequest {
        method: "POST".into(),
        url: None,
        headers: input.headers.clone(),
        body: input.body.clone().into(),
    };
    let detected = telhook_core::detect_provider(&request);
    // Detection never skips verification: with no credentials, nothing normalizes.
    let unverified = telhook_core::normalize_event(None, &request, &telhook_core::Credentials::none(), input.now);
    assert!(unverified.is_err());
    if detected.is_ok() {
        check(&telhook_core::normalize_event(None, &request, &credentials(), input.now));
    }
});
