//! A webhook endpoint's whole decision with telhook-core: verify + normalize the request, then
//! answer the status that `ack` chooses for the provider. `cargo run -p telhook-core --example
//! receive` prints the answers to a signed delivery and to a forgery; `cargo test --examples`
//! checks them.
#![allow(clippy::print_stdout)]

use telhook_core::{
    ack, normalize_event, retry_policy, verify::hmac::sign_hex, Credentials, Outcome, Provider,
    WebhookRequest,
};

const BODY: &str = r#"{"event":"sms_sent","message_id":"234567","virtual_number":"+15551234567","recipient_number":"+18887654321","message_content":"Your appointment is confirmed!","timestamp":"2025-01-30T14:15:00Z"}"#;

/// What the endpoint answers (HTTP status) and the event id it would store, if any.
fn handle(request: &WebhookRequest, credentials: &Credentials, now: i64) -> (u16, Option<String>) {
    match normalize_event(Some(Provider::LimePhone), request, credentials, now) {
        Ok(event) => {
            // Keep the id for this long: the provider's redeliveries all fall inside it.
            let _dedupe_ttl_secs = retry_policy(event.provider).dedupe_ttl_secs;
            (
                ack(event.provider, Outcome::Accepted).status,
                Some(event.id),
            )
        }
        Err(error) => (
            ack(Provider::LimePhone, Outcome::from_error(&error)).status,
            None,
        ),
    }
}

fn signed_request(secret: &str) -> WebhookRequest {
    WebhookRequest::post(
        vec![
            ("Content-Type".into(), "application/json".into()),
            ("Authorization".into(), "Bearer lime-bearer".into()),
            (
                "X-LimePhone-Signature".into(),
                sign_hex(secret.as_bytes(), BODY.as_bytes()),
            ),
        ],
        BODY,
    )
}

fn credentials() -> Credentials {
    Credentials::none()
        .with_hmac_sha256("lime-whsec-current")
        .with_bearer("lime-bearer")
}

fn main() {
    let now = 1_769_000_000;
    let genuine = handle(&signed_request("lime-whsec-current"), &credentials(), now);
    let forged = handle(&signed_request("guessed-secret"), &credentials(), now);
    println!("genuine: {genuine:?}");
    println!("forged: {forged:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_delivery_is_accepted_and_a_forgery_refused() {
        let now = 1_769_000_000;
        assert_eq!(
            handle(&signed_request("lime-whsec-current"), &credentials(), now),
            (200, Some("limephone:sms_sent:234567".into()))
        );
        assert_eq!(
            handle(&signed_request("guessed-secret"), &credentials(), now),
            (401, None)
        );
    }
}
