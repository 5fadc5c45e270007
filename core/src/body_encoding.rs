//! A body sent with `Content-Encoding: gzip`, inflated before it is verified and read.
//!
//! None of the providers documents compression today, but some webhook senders gzip their
//! bodies and sign the *uncompressed* JSON (GetStream since 2026: stream-chat-python#230 and
//! its sister PRs). Read as it arrives, such a body is a 400 `malformed_json` for a provider
//! that authenticates with Basic (Lisoloo, which drops the event on it) and a 401 for one that
//! signs. Express's parsers inflate a body before the adapter sees it and leave the header in
//! place, so a body is inflated only when it starts with gzip's magic bytes: JSON and form
//! bodies never do.

use alloc::vec;
use alloc::vec::Vec;

use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

use crate::error::{Error, Result};
use crate::request::WebhookRequest;

/// RFC 1952's ID1, ID2 and CM (8 = deflate).
const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

/// The body the provider signed: `request.body` inflated when the request says it is gzipped
/// and it is, `None` when it is to be read as it is. An inflated body larger than `max_bytes`
/// is `body_too_large`, so a small compressed body cannot buy more work than the cap allows.
///
/// Any line of the header, and any coding a line lists, may say gzip: the header is not
/// authenticated and no answer depends on it beyond that, so two lines that differ are not
/// `ambiguous_header` (a 401 there made Lisoloo drop a plain delivery; a review).
#[inline]
pub(crate) fn inflated_body(request: &WebhookRequest, max_bytes: usize) -> Result<Option<Vec<u8>>> {
    if !request.body.starts_with(&GZIP_MAGIC) {
        // No gzip member (or a middleware inflated it already): read as it is.
        return Ok(None);
    }
    inflated_when_declared(request, max_bytes)
}

/// The rest of [`inflated_body`], apart so that a plain delivery's first call does not make V8
/// compile the inflater it never runs (wasm functions are compiled on their first call, and the
/// first request's compile is what the start-up goals measure; bench/PROFILE.md).
#[cold]
#[inline(never)]
fn inflated_when_declared(request: &WebhookRequest, max_bytes: usize) -> Result<Option<Vec<u8>>> {
    let says_gzip = request
        .headers
        .iter()
        .filter(|(name, _)| crate::request::is_header_named(name, "content-encoding"))
        .flat_map(|(_, value)| value.split(','))
        .map(crate::request::trimmed)
        .any(|coding| coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip"));
    if !says_gzip {
        return Ok(None);
    }
    gunzip(&request.body, max_bytes).map(Some)
}

fn not_gzip() -> Error {
    Error::InvalidRequest {
        reason: alloc::string::String::from(
            "body: Content-Encoding is gzip, so the body must be one whole gzip member (RFC 1952)",
        ),
    }
}

/// One gzip member: its header read by hand (miniz_oxide inflates raw deflate and zlib, not
/// gzip's framing, and flate2's gzip reader needs std), its deflate data inflated by
/// miniz_oxide, its trailer's length checked. The trailer's CRC-32 is not computed: a
/// provider's signature, or the JSON reader for one that authenticates with Basic, is what
/// tells an intact body from a damaged one, and a CRC table would cost the wasm module 1 KB.
fn gunzip(member: &[u8], max_bytes: usize) -> Result<Vec<u8>> {
    let deflate = gzip_data(member).ok_or_else(not_gzip)?;
    let (inflated, consumed) = inflate(deflate, max_bytes)?;
    let trailer = deflate.get(consumed..).ok_or_else(not_gzip)?;
    // CRC-32, then ISIZE (the length modulo 2^32); nothing may follow: a second member
    // would be a body the receiver reads differently from a reader that stops at the first.
    match trailer {
        [_, _, _, _, a, b, c, d]
            if u32::from_le_bytes([*a, *b, *c, *d]) == inflated.len() as u32 =>
        {
            Ok(inflated)
        }
        _ => Err(not_gzip()),
    }
}

/// The deflate data after a gzip member's header.
fn gzip_data(member: &[u8]) -> Option<&[u8]> {
    let flags = *member.get(3)?;
    // Past ID1 ID2 CM FLG MTIME(4) XFL OS.
    let mut rest = member.get(10..)?;
    if flags & FEXTRA != 0 {
        let length = usize::from(u16::from_le_bytes([*rest.first()?, *rest.get(1)?]));
        rest = rest.get(2 + length..)?;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let end = memchr::memchr(0, rest)?;
            rest = rest.get(end + 1..)?;
        }
    }
    if flags & FHCRC != 0 {
        rest = rest.get(2..)?;
    }
    Some(rest)
}

/// Raw deflate data inflated into at most `max_bytes`: the bytes, and how many input bytes
/// the deflate stream took. The output grows by doubling, so the work stays linear in it.
fn inflate(mut input: &[u8], max_bytes: usize) -> Result<(Vec<u8>, usize)> {
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let mut output = vec![0; input.len().saturating_mul(4).clamp(1, max_bytes.max(1))];
    let mut state = alloc::boxed::Box::<DecompressorOxide>::default();
    let mut written = 0;
    let mut consumed = 0;
    loop {
        let (status, read, wrote) = decompress(&mut state, input, &mut output, written, flags);
        written += wrote;
        consumed += read;
        input = input.get(read..).ok_or_else(not_gzip)?;
        match status {
            TINFLStatus::Done => {
                output.truncate(written);
                return Ok((output, consumed));
            }
            TINFLStatus::HasMoreOutput if output.len() >= max_bytes => {
                return Err(Error::BodyTooLarge {
                    limit: max_bytes,
                    actual: max_bytes.saturating_add(1),
                })
            }
            TINFLStatus::HasMoreOutput => {
                let grown = output.len().saturating_mul(2).min(max_bytes);
                output.resize(grown, 0);
            }
            _ => return Err(not_gzip()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn gzip(data: &[u8], flags: u8, header_extras: &[u8]) -> Vec<u8> {
        let mut member = vec![0x1f, 0x8b, 0x08, flags, 0, 0, 0, 0, 0, 255];
        member.extend_from_slice(header_extras);
        member.extend(miniz_oxide::deflate::compress_to_vec(data, 6));
        member.extend_from_slice(&[0, 0, 0, 0]);
        member.extend_from_slice(&(data.len() as u32).to_le_bytes());
        member
    }

    #[test]
    fn content_encoding_lines_that_differ_are_no_error() {
        let json = br#"{"event_id":"e1"}"#;
        let lines = |body: Vec<u8>| {
            let mut request = request("identity", body);
            request
                .headers
                .push((String::from("content-encoding"), String::from(" GZIP ")));
            request
        };
        assert_eq!(inflated_body(&lines(json.to_vec()), 1024).unwrap(), None);
        let inflated = inflated_body(&lines(gzip(json, 0, b"")), 1024).unwrap();
        assert_eq!(inflated.as_deref(), Some(&json[..]));
        let listed = request("identity, gzip", gzip(json, 0, b""));
        assert_eq!(
            inflated_body(&listed, 1024).unwrap().as_deref(),
            Some(&json[..])
        );
    }

    fn request(encoding: &str, body: Vec<u8>) -> WebhookRequest {
        WebhookRequest::post(
            vec![(String::from("Content-Encoding"), String::from(encoding))],
            body,
        )
    }

    #[test]
    fn a_gzip_member_is_inflated_with_or_without_its_optional_header_fields() {
        let json = br#"{"event_id":"e1"}"#;
        for (flags, extras) in [
            (0, &b""[..]),
            (FNAME | FCOMMENT, b"body.json\0a comment\0"),
            (FEXTRA | FHCRC, b"\x02\0ab\x12\x34"),
        ] {
            let inflated = inflated_body(&request("GZip", gzip(json, flags, extras)), 1024);
            assert_eq!(inflated.unwrap().as_deref(), Some(&json[..]));
        }
    }

    #[test]
    fn detection_reads_a_gzipped_body_inflated() {
        let json = br#"{"event_id":"e1","event_type":"sms.delivered","timestamp":"2026-05-27T10:15:08Z","message_id":"m1","data":{}}"#;
        let plain = WebhookRequest::post(Vec::new(), json.to_vec());
        let gzipped = request("gzip", gzip(json, 0, b""));
        assert_eq!(
            crate::detect_provider(&plain).unwrap(),
            crate::Provider::Lisoloo
        );
        assert_eq!(
            crate::detect_provider(&gzipped).unwrap(),
            crate::Provider::Lisoloo
        );
    }

    #[test]
    fn a_body_already_inflated_or_of_another_coding_is_read_as_it_is() {
        let json = br#"{"event_id":"e1"}"#.to_vec();
        assert_eq!(
            inflated_body(&request("gzip", json.clone()), 1024).unwrap(),
            None
        );
        let gzipped = gzip(&json, 0, b"");
        assert_eq!(
            inflated_body(&request("br", gzipped.clone()), 1024).unwrap(),
            None
        );
        let plain = WebhookRequest::post(Vec::new(), gzipped);
        assert_eq!(inflated_body(&plain, 1024).unwrap(), None);
    }

    #[test]
    fn a_damaged_member_is_an_invalid_request_and_a_bomb_stops_at_the_cap() {
        let json = br#"{"event_id":"e1"}"#;
        let whole = gzip(json, 0, b"");
        for damaged in [
            whole[..whole.len() - 1].to_vec(),
            whole[..12].to_vec(),
            [&whole[..], &whole[..]].concat(),
            [&whole[..whole.len() - 4], &[0, 0, 0, 0][..]].concat(),
            gzip(json, FNAME, b"no end"),
        ] {
            let error = inflated_body(&request("gzip", damaged), 1024).unwrap_err();
            assert_eq!(error.code(), "invalid_request");
        }
        let bomb = gzip(&vec![b' '; 1 << 20], 0, b"");
        assert!(bomb.len() < 2048);
        let error = inflated_body(&request("gzip", bomb.clone()), 64 * 1024).unwrap_err();
        assert_eq!(error.code(), "body_too_large");
        assert_eq!(
            inflated_body(&request("gzip", bomb), 1 << 20)
                .unwrap()
                .unwrap()
                .len(),
            1 << 20
        );
    }
}
