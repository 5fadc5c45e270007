#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Property tests: determinism, sign→verify with single-bit flips, E.164 idempotence, and
//! out-of-order status updates never regressing.

use proptest::prelude::*;
use telhook_core::event::DeliveryStatus;
use telhook_core::verify::{basic, hmac, jwt};
use telhook_core::{normalize_event, status_wins, Credentials, Provider, WebhookRequest};

const SECRET: &str = "prop-SECRET-0a1b";
const NOW: i64 = 1_769_000_000;

fn lime_body(call_id: u32, caller: u64, text: &str) -> Vec<u8> {
    serde_json::json!({
        "event": "sms_received", "message_id": call_id.to_string(), "virtual_number": "+15551234567",
        "sender_number": format!("+{caller}"), "message_content": text, "timestamp": "2025-01-30T14:20:00Z"
    })
    .to_string()
    .into_bytes()
}

fn lime_request(body: &[u8], signature: &str) -> WebhookRequest {
    WebhookRequest::post(
        vec![("X-LimePhone-Signature".into(), signature.into())],
        body.to_vec(),
    )
}

fn flip(bytes: &mut [u8], bit: usize) {
    let index = (bit / 8) % bytes.len();
    bytes[index] ^= 1 << (bit % 8);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn normalization_is_deterministic(provider in 0usize..5, body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let provider = Provider::ALL[provider];
        let request = WebhookRequest::post(vec![], body);
        let credentials = Credentials::insecure_skip_verification();
        let first = normalize_event(Some(provider), &request, &credentials, NOW);
        let second = normalize_event(Some(provider), &request, &credentials, NOW);
        prop_assert_eq!(first, second);
    }

    #[test]
    fn limephone_signature_verifies_and_any_flipped_bit_fails(
        id in any::<u32>(), caller in 10_000_000u64..999_999_999_999, text in ".{0,80}", bit in any::<usize>()
    ) {
        let credentials = Credentials::none().with_hmac_sha256(SECRET);
        let body = lime_body(id, caller, &text);
        let signature = hmac::sign_hex(SECRET.as_bytes(), &body);
        prop_assert!(normalize_event(Some(Provider::LimePhone), &lime_request(&body, &signature), &credentials, NOW).is_ok());

        let mut flipped_body = body.clone();
        flip(&mut flipped_body, bit);
        let result = normalize_event(Some(Provider::LimePhone), &lime_request(&flipped_body, &signature), &credentials, NOW);
        prop_assert_eq!(result.map_err(|e| e.code()).err(), Some("signature_mismatch"));

        let mut raw = hmac::sign(SECRET.as_bytes(), &body);
        flip(&mut raw, bit);
        let flipped_signature = raw.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let result = normalize_event(Some(Provider::LimePhone), &lime_request(&body, &flipped_signature), &credentials, NOW);
        prop_assert_eq!(result.map_err(|e| e.code()).err(), Some("signature_mismatch"));
    }

    #[test]
    fn gatewayapi_v1_and_jwt_verify_and_tampering_fails(id in 1u64..u64::MAX / 2, msisdn in 10_000_000u64..999_999_999_999_999, bit in any::<usize>()) {
        let claims = serde_json::json!({"id": id, "msisdn": msisdn, "status": "DELIVERED", "time": NOW - 5});
        let body = claims.to_string().into_bytes();
        let credentials = Credentials::none().with_hmac_sha256(SECRET).with_jwt_hs256(SECRET);
        let v1 = format!("v1={}", hmac::sign_hex(SECRET.as_bytes(), &body));
        let request = WebhookRequest::post(vec![("Signature".into(), v1.clone())], body.clone());
        prop_assert!(normalize_event(Some(Provider::GatewayApi), &request, &credentials, NOW).is_ok());
        let token = jwt::sign(SECRET.as_bytes(), &claims);
        let request = WebhookRequest::post(vec![("X-Gwapi-Signature".into(), token.clone())], body.clone());
        prop_assert!(normalize_event(Some(Provider::GatewayApi), &request, &credentials, NOW).is_ok());

        let mut flipped_body = body.clone();
        flip(&mut flipped_body, bit);
        let request = WebhookRequest::post(vec![("Signature".into(), v1)], flipped_body.clone());
        prop_assert!(normalize_event(Some(Provider::GatewayApi), &request, &credentials, NOW).is_err());
        let request = WebhookRequest::post(vec![("X-Gwapi-Signature".into(), token.clone())], flipped_body);
        prop_assert!(normalize_event(Some(Provider::GatewayApi), &request, &credentials, NOW).is_err());

        let mut flipped_token = token.into_bytes();
        flip(&mut flipped_token, bit);
        if let Ok(flipped_token) = String::from_utf8(flipped_token) {
            let request = WebhookRequest::post(vec![("X-Gwapi-Signature".into(), flipped_token)], body);
            prop_assert!(normalize_event(Some(Provider::GatewayApi), &request, &credentials, NOW).is_err());
        }
    }

    #[test]
    fn basic_auth_verifies_and_any_flipped_bit_fails(user in "[a-z]{1,12}", password in "[ -~]{1,24}", bit in any::<usize>()) {
        let pairs = [telhook_core::BasicCredential { username: user.clone(), password: telhook_core::Secret::new(password.clone()) }];
        let header = basic::header_value(&user, &password);
        prop_assert!(basic::verify_header(&pairs, &header).is_ok());
        let mut flipped = header.into_bytes();
        let payload_start = "Basic ".len();
        let span = flipped.len() - payload_start;
        let index = payload_start + (bit / 8) % span;
        flipped[index] ^= 1 << (bit % 8);
        if let Ok(flipped) = String::from_utf8(flipped) {
            prop_assert!(basic::verify_header(&pairs, &flipped).is_err());
        }
    }

    #[test]
    fn e164_canonicalization_is_idempotent(text in "[+0-9 ()./-]{0,24}", hint in proptest::option::of("[1-9][0-9]{0,2}")) {
        if let Some(number) = telhook_core::phone::to_e164(&text, hint.as_deref()) {
            prop_assert_eq!(telhook_core::phone::to_e164(&number, None), Some(number.clone()));
            prop_assert_eq!(telhook_core::phone::to_e164(&number, hint.as_deref()), Some(number.clone()));
        }
    }

    #[test]
    fn out_of_order_status_updates_converge_on_the_highest(order in Just(DeliveryStatus::ALL.to_vec()).prop_shuffle(), take in 1usize..=10) {
        let updates = &order[..take];
        let mut stored: Option<DeliveryStatus> = None;
        for &incoming in updates {
            if status_wins(stored, incoming) {
                stored = Some(incoming);
            }
        }
        let best = updates.iter().copied().max_by_key(|s| s.rank());
        prop_assert_eq!(stored, best);
        // Once a final status is stored, no transient one replaces it.
        if let Some(stored) = stored.filter(|s| s.is_final()) {
            for transient in DeliveryStatus::ALL.into_iter().filter(|s| !s.is_final()) {
                prop_assert!(!status_wins(Some(stored), transient));
            }
        }
    }
}
