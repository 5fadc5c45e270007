#![no_main]
use libfuzzer_sys::fuzz_target;
use telhook_core::verify::{basic, token};
use telhook_core::{BasicCredential, Secret};

fuzz_target!(|header: String| {
    let pairs = [BasicCredential { username: "fuzz".into(), password: Secret::new(telhook_fuzz::SECRET) }];
    let tokens = [Secret::new(telhook_fuzz::SECRET)];
    let expected_basic = basic::header_value("fuzz", telhook_fuzz::SECRET);
    assert_eq!(basic::verify_header(&pairs, &header).is_ok(), basic_equivalent(&header, &expected_basic));
    let bearer_ok = token::verify_bearer(&tokens, &header).is_ok();
    if bearer_ok {
        assert!(header.trim_start().len() > 7);
    }
    assert_eq!(token::verify_token(&tokens, &header).is_ok(), header == telhook_fuzz::SECRET);
    for error in [basic::verify_header(&pairs, &header).err(), token::verify_bearer(&tokens, &header).err()].into_iter().flatten() {
        assert!(!format!("{error} {error:?}").contains(telhook_fuzz::SECRET));
    }
});

/// The scheme is case-insensitive and surrounding space is allowed: same credential.
fn basic_equivalent(header: &str, expected: &str) -> bool {
    let Some((scheme, rest)) = header.split_once(' ') else { return false };
    let Some((_, expected_rest)) = expected.split_once(' ') else { return false };
    scheme.eq_ignore_ascii_case("basic") && rest.trim() == expected_rest
}
