#![no_main]
use libfuzzer_sys::fuzz_target;
use telhook_core::{phone, time};

fuzz_target!(|input: (String, Option<String>, i64)| {
    let (text, hint, seconds) = input;
    if let Some(number) = phone::to_e164(&text, hint.as_deref()) {
        // Canonical form: idempotent with or without a hint, 7-15 digits after '+'.
        assert_eq!(phone::to_e164(&number, None).as_deref(), Some(number.as_str()));
        assert_eq!(phone::to_e164(&number, hint.as_deref()).as_deref(), Some(number.as_str()));
        assert!((8..=16).contains(&number.len()));
    }
    if let Ok(formatted) = time::parse_text(&text, "t") {
        // Output re-parses to itself.
        assert_eq!(time::parse_text(&formatted, "t").as_deref(), Ok(formatted.as_str()));
        assert!(formatted.ends_with('Z'));
    }
    if let Ok(formatted) = time::from_unix_seconds(seconds, "t") {
        assert_eq!(time::parse_unix_seconds(&formatted, "t"), Ok(seconds));
    }
});
