#![no_main]
use libfuzzer_sys::fuzz_target;
use telhook_core::verify::jwt;
use telhook_core::Secret;

fuzz_target!(|input: (String, i64, Vec<(String, u32)>)| {
    let (token, now, claims) = input;
    let secrets = [Secret::new(telhook_fuzz::SECRET)];
    if let Err(error) = jwt::verify(&secrets, "X-Fuzz-Jwt", &token, now) {
        assert!(!format!("{error} {error:?}").contains(telhook_fuzz::SECRET));
    }
    // A token we sign round-trips; the same token with its last character changed does not.
    let object: serde_json::Map<String, serde_json::Value> =
        claims.into_iter().filter(|(k, _)| k != "exp" && k != "nbf").map(|(k, v)| (k, v.into())).collect();
    let signed = telhook_fuzz::jwt_for(&serde_json::Value::Object(object.clone()));
    assert_eq!(jwt::verify(&secrets, "X-Fuzz-Jwt", &signed, now).ok(), Some(object));
    let mut tampered = signed.clone();
    let last = tampered.pop().unwrap_or('A');
    tampered.push(if last == 'A' { 'Q' } else { 'A' });
    assert!(jwt::verify(&secrets, "X-Fuzz-Jwt", &tampered, now).is_err());
});
