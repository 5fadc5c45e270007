#![no_main]
use libfuzzer_sys::fuzz_target;
use telhook_core::verify::hmac;
use telhook_core::Secret;

fuzz_target!(|input: (String, Vec<u8>, bool)| {
    let (signature, body, flip) = input;
    let secrets = [Secret::new(telhook_fuzz::SECRET)];
    let result = hmac::verify_header(&secrets, &body, &signature, "X-Sig");
    // Anything but the real signature fails; the real one (in any accepted encoding) passes.
    let real = hmac::sign(telhook_fuzz::SECRET.as_bytes(), &body);
    if let Ok(decoded) = hmac::decode_signature(&signature, "X-Sig") {
        assert_eq!(result.is_ok(), decoded == real);
    } else {
        assert!(result.is_err());
    }
    let mut good = hmac::sign_hex(telhook_fuzz::SECRET.as_bytes(), &body);
    assert!(hmac::verify_header(&secrets, &body, &good, "X-Sig").is_ok());
    if flip {
        // Flipping any one hex digit breaks it.
        let index = body.len() % good.len();
        let replacement = if good.as_bytes()[index] == b'0' { "1" } else { "0" };
        good.replace_range(index..=index, replacement);
        assert!(hmac::verify_header(&secrets, &body, &good, "X-Sig").is_err());
    }
});
