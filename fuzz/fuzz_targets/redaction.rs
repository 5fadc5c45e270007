#![no_main]
//! Issue 12: no configured credential value ever appears in an event, an error message or a
//! Debug output, however a verified payload embeds it. The input builds a DID reseller record
//! (verified by its URL token) whose fields mix arbitrary text with the configured values in
//! every shape a payload can carry them: plain, in URL userinfo, in a query, percent-encoded,
//! JSON-escaped, and inside JSON nested in strings; read by each provider in turn too.
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use telhook_core::{normalize_event, Credentials, Provider, WebhookRequest};

const TOKEN: &str = "fz-URL-token-5e2a";
const PASSWORD: &str = "fz-basic/pass+word";
const BEARER: &str = "fz-bearer-TOKEN-0b9c";

#[derive(Arbitrary, Debug)]
enum Piece {
    Text(String),
    Secret(u8),
    UserInfo(String, u8),
    Query(String, u8),
    PercentEncoded(u8),
    Escaped(u8),
    Nested(Vec<(String, Piece)>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    schema: String,
    error_form: bool,
    fields: Vec<(String, Vec<Piece>)>,
}

fn secret(index: u8) -> &'static str {
    [TOKEN, PASSWORD, BEARER][usize::from(index % 3)]
}

fn render(piece: &Piece, depth: usize) -> String {
    match piece {
        Piece::Text(text) => text.clone(),
        Piece::Secret(i) => secret(*i).into(),
        Piece::UserInfo(user, i) => format!("https://{user}:{}@h.example/p", secret(*i)),
        Piece::Query(name, i) => format!("https://h.example/x?{name}={}&n=1", secret(*i)),
        Piece::PercentEncoded(i) => secret(*i).bytes().map(|b| format!("%{b:02X}")).collect(),
        Piece::Escaped(i) => secret(*i).chars().map(|c| format!("\\u{:04x}", c as u32)).collect(),
        Piece::Nested(fields) if depth < 4 => {
            let map: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .map(|(k, p)| (k.clone(), serde_json::Value::String(render(p, depth + 1))))
                .collect();
            serde_json::Value::Object(map).to_string()
        }
        Piece::Nested(_) => String::new(),
    }
}

/// What a consumer reads: every key and string of the event (as values, so that a JSON escape
/// such as `\u001f` next to a partial value is not mistaken for the value), or the error's
/// message and Debug.
fn texts_of(result: &Result<telhook_core::NormalizedEvent, telhook_core::Error>) -> Vec<String> {
    fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(text) => out.push(text.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|item| strings(item, out)),
            serde_json::Value::Object(map) => {
                for (key, item) in map {
                    out.push(key.clone());
                    strings(item, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    match result {
        Ok(event) => strings(&serde_json::to_value(event).unwrap_or_default(), &mut out),
        Err(error) => out.push(format!("{error} {error:?}")),
    }
    out
}

fuzz_target!(|input: Input| {
    let mut record = serde_json::Map::new();
    for (key, pieces) in &input.fields {
        let text: String = pieces.iter().map(|p| render(p, 0)).collect();
        record.insert(key.clone(), serde_json::Value::String(text));
    }
    let data = serde_json::Value::Object(record).to_string();
    let mut envelope = serde_json::json!({"type": "update", "schema": input.schema, "data": data});
    if input.error_form {
        envelope["status"] = "error".into();
        envelope["verbose"] = serde_json::Value::String(data.clone());
    }
    // JSON-escaped pieces are spliced in as escapes, so the body text carries `\u00xx`.
    let body = envelope.to_string().replace("\\\\u", "\\u");
    let one = Credentials::none()
        .with_url_token(TOKEN)
        .with_basic("fz-user", PASSWORD)
        .with_bearer(BEARER);
    let request = WebhookRequest {
        method: "POST".into(),
        url: Some(format!("/hook?token={TOKEN}")),
        headers: vec![],
        body: body.into_bytes().into(),
    };
    let mut outputs = Vec::new();
    let result = normalize_event(Some(Provider::DidReseller), &request, &one, 1_769_000_000);
    outputs.extend(texts_of(&result));
    for provider in Provider::ALL {
        let own = Credentials::insecure_skip_verification()
            .with_bearer(BEARER)
            .with_url_token(TOKEN)
            .with_basic("fz-user", PASSWORD);
        let skip = Credentials::none().with_provider(provider, own);
        let read = normalize_event(Some(provider), &request, &skip, 1_769_000_000);
        outputs.extend(texts_of(&read));
    }
    outputs.push(format!("{one:?}"));
    outputs.push(format!("{request:?}"));
    for text in &outputs {
        for value in [TOKEN, PASSWORD, BEARER] {
            assert!(!text.contains(value), "a configured value leaked: {text}");
        }
    }
});
