#![no_main]
//! A delivery sent gzipped reads as the same delivery sent plain: the same event, or the same
//! error code (core/src/body_encoding.rs); any gzip member, whole or not, is answered without
//! a panic and without leaking the secret.
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use telhook_core::{normalize_event_with, Options, Provider};
use telhook_fuzz::{check, credentials, request_for, FuzzRequest};

#[derive(Arbitrary, Debug)]
struct GzipInput {
    limephone: bool,
    /// When false, the body follows gzip's magic bytes as it is: a member of any shape.
    compress: bool,
    level: u8,
    request: FuzzRequest,
}

fn gzip(data: &[u8], level: u8) -> Vec<u8> {
    let mut member = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 255];
    member.extend(miniz_oxide::deflate::compress_to_vec(data, level % 11));
    member.extend_from_slice(&[0, 0, 0, 0]);
    member.extend_from_slice(&(data.len() as u32).to_le_bytes());
    member
}

fuzz_target!(|input: GzipInput| {
    let provider = if input.limephone { Provider::LimePhone } else { Provider::Lisoloo };
    let mut plain = request_for(provider, &input.request);
    plain.headers.retain(|(name, _)| !name.trim().eq_ignore_ascii_case("content-encoding"));
    let mut gzipped = plain.clone();
    gzipped.headers.push(("Content-Encoding".into(), "gzip".into()));
    gzipped.body = if input.compress {
        gzip(&plain.body, input.level).into()
    } else {
        [&[0x1f, 0x8b, 0x08][..], &plain.body[..]].concat().into()
    };
    let mut options = Options::default();
    if let Some(limit) = input.request.max_body_bytes {
        options.max_body_bytes = usize::from(limit);
    }
    let now = input.request.now;
    let read = normalize_event_with(Some(provider), &gzipped, &credentials(), now, &options);
    check(&read);
    // A member longer than the cap is refused before it is inflated, whatever it holds.
    if input.compress && gzipped.body.len() <= options.max_body_bytes {
        let as_sent = normalize_event_with(Some(provider), &plain, &credentials(), now, &options);
        match (&read, &as_sent) {
            (Ok(inflated), Ok(plain)) => assert_eq!(inflated, plain),
            // The compressed body may pass a cap its inflated self does not: the size check of
            // the body as sent comes first.
            (Err(inflated), Err(plain)) => assert_eq!(inflated.code(), plain.code()),
            _ => panic!("gzipped {:?} but plain {:?}", read.as_ref().map(|e| &e.id), as_sent.as_ref().map(|e| &e.id)),
        }
    }
});
