#![no_main]
//! Issue 12: no configured credential value ever appears in an event, an error message or a
//! Debug output, however a verified payload embeds it. The input builds a DID reseller record
//! (verified by its URL token) whose fields mix arbitrary text with the configured values in
//! every shape a payload can carry them: plain, in URL userinfo, in a query, percent-encoded,
//! JSON-escaped, and inside JSON nested in strings; read by each provider in turn too.
//! Escaped lone surrogates (what `JSON.stringify` and `json.dumps` write for a text cut inside
//! an emoji) are mixed in, and a field holding a JSON text with escaped lone surrogates puts a
//! value under a secret-named key: that value must never come out either (it did, when such a
//! text was not read as JSON). That text is also written as no JSON parser reads it (Python's
//! `str(dict)`, Ruby's `inspect` with string or symbol keys, bare `name: value`, Java's
//! `toString`, JSON with `NaN` or cut short after the value), where the value must not come
//! out either; and each of those serialized once more as a JSON string, or escaped once more,
//! and any of them quoted in prose (`Callback failed (401): {…}`).
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use telhook_core::{normalize_event, Credentials, Provider, WebhookRequest};

const TOKEN: &str = "fz-URL-token-5e2a";
const PASSWORD: &str = "fz-basic/pass+word";
const BEARER: &str = "fz-bearer-TOKEN-0b9c";
/// Only ever under the key `password` in JSON nested in a string.
const KEYED: &str = "fz-KEYED-value-31b7";

#[derive(Arbitrary, Debug)]
enum Piece {
    Text(String),
    Secret(u8),
    UserInfo(String, u8),
    Query(String, u8),
    PercentEncoded(u8),
    Escaped(u8),
    Nested(Vec<(String, Piece)>),
    /// An escaped UTF-16 surrogate, alone (spliced in as `Escaped` is).
    LoneSurrogate(u16),
    /// A URL with userinfo as PHP's `json_encode` writes it inside a string: every `/` as `\/`.
    EscapedUserInfo(String, u8),
}

/// A part of a string in the JSON text under the secret-named key.
#[derive(Arbitrary, Debug)]
enum Chunk {
    Text(String),
    LoneSurrogate(u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    schema: String,
    error_form: bool,
    fields: Vec<(String, Vec<Piece>)>,
    /// Written as a JSON text in a top-level field: entries, then `"password": KEYED` (or
    /// `name: {"password": KEYED}`), then more entries, any of which may repeat a key.
    keyed: Option<Keyed>,
}

type Entry = (String, Option<Vec<Chunk>>);

#[derive(Arbitrary, Debug)]
struct Keyed {
    before: Vec<Entry>,
    under: Option<String>,
    after: Vec<Entry>,
    form: Form,
    /// The map text serialized once more (a JSON string holding it: JSON encoded twice), or
    /// that string's inside (escaped once too many), or as it is.
    again: Again,
    /// The text quoted in prose: a prefix and a suffix, each one of a few an error text or a
    /// log line has (`Callback failed (401): {…}`).
    prose: Option<(u8, u8)>,
}

const PROSE_BEFORE: [&str; 5] = [
    "saw ",
    "Callback failed (401): ",
    "[12:30] upstream said ",
    "at https://h.example/x?n=1 got ",
    "{ts} {user} sent ",
];
const PROSE_AFTER: [&str; 4] = ["", " trailing", " (retrying in 60 s)", ". Not you? Reset it."];

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Again {
    AsItIs,
    EncodedTwice,
    EscapedInside,
}

/// How the map under `kx` is written.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Form {
    Json,
    /// A member whose value no strict JSON parser reads (`NaN`, `Infinity`, `1e400`) first.
    JsonWithNonJsonValue(u8),
    /// Cut short this many bytes after the value under `password`.
    JsonCut(u8),
    PythonStr,
    /// `{"name"=>"value"}`.
    RubyInspect,
    /// `{:name=>"value"}` (Ruby's symbol keys before 3.4).
    RubySymbols,
    /// `{name: "value"}` (Ruby 3.4's symbol keys, Node's `util.inspect`).
    BareNames,
    JavaToString,
}

/// A name or value as a writer without quotes prints it: such a text cannot tell a quote or
/// the map's own brace in one from the map's, nor (in a name) any punctuation, so none is put
/// in (a space and other brackets only in values).
fn bare(text: &str, in_value: bool) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\'' | '\\' | '{' | '}' => '_',
            '[' | ']' | '(' | ')' | ',' | ';' | ':' | '=' if !in_value => '_',
            c if c.is_whitespace() && !in_value => '_',
            c => c,
        })
        .collect()
}

impl Form {
    fn is_bare(self) -> bool {
        matches!(
            self,
            Form::RubySymbols | Form::BareNames | Form::JavaToString
        )
    }
    fn name(self, text: &str) -> String {
        if self.is_bare() {
            bare(text, false)
        } else {
            self.value(text)
        }
    }
    fn value(self, text: &str) -> String {
        match self {
            Form::PythonStr => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'")),
            Form::JavaToString => bare(text, true),
            _ => serde_json::Value::String(text.into()).to_string(),
        }
    }
    fn member(self, name: &str, value: &str) -> String {
        let name = self.name(name);
        match self {
            Form::PythonStr | Form::BareNames => format!("{name}: {value}"),
            Form::RubyInspect => format!("{name}=>{value}"),
            Form::RubySymbols => format!(":{name}=>{value}"),
            Form::JavaToString => format!("{name}={value}"),
            _ => format!("{name}:{value}"),
        }
    }
    fn null(self) -> &'static str {
        match self {
            Form::PythonStr => "None",
            Form::RubyInspect | Form::RubySymbols => "nil",
            _ => "null",
        }
    }
    fn separator(self) -> &'static str {
        match self {
            Form::Json | Form::JsonWithNonJsonValue(_) | Form::JsonCut(_) => ",",
            _ => ", ",
        }
    }
    /// How the value quoting writes the placeholder a lone surrogate escape replaces.
    fn placeholder(self) -> &'static str {
        if matches!(self, Form::PythonStr | Form::JavaToString) {
            "\u{1}"
        } else {
            "\\u0001"
        }
    }
}

fn surrogate_escape(unit: u16) -> String {
    format!("\\u{:04x}", 0xD800 | (unit & 0x7FF))
}

/// A map text with `KEYED` under `password`, its other strings holding escaped lone
/// surrogates as they are: valid JSON by RFC 8259's grammar in the JSON form.
fn keyed_text(keyed: &Keyed) -> Option<String> {
    let form = keyed.form;
    let mut members = Vec::new();
    let entry = |(name, chunks): &Entry| {
        let Some(chunks) = chunks else {
            return form.member(name, form.null());
        };
        let mut text = String::new();
        for chunk in chunks {
            match chunk {
                Chunk::Text(part) => text.push_str(part),
                Chunk::LoneSurrogate(_) => text.push('\u{1}'),
            }
        }
        let mut value = form.value(&text);
        // Each lone surrogate escape goes in as written, after the text is quoted.
        for chunk in chunks {
            if let Chunk::LoneSurrogate(unit) = chunk {
                value = value.replacen(form.placeholder(), &surrogate_escape(*unit), 1);
            }
        }
        form.member(name, &value)
    };
    if let Form::JsonWithNonJsonValue(which) = form {
        let bare = ["NaN", "Infinity", "-Infinity", "1e400", "undefined"];
        members.push(form.member("nx", bare[usize::from(which) % bare.len()]));
    }
    members.extend(keyed.before.iter().map(entry));
    let secret = form.member("password", &form.value(KEYED));
    members.push(match &keyed.under {
        Some(name) => form.member(name, &format!("{{{secret}}}")),
        None => secret,
    });
    members.extend(keyed.after.iter().map(entry));
    let text = format!("{{{}}}", members.join(form.separator()));
    // The marker spelled anywhere but under `password` proves nothing (counted before a cut,
    // which could drop the member that holds it).
    if text.matches("KEYED").count() != 1 {
        return None;
    }
    let text = match form {
        Form::JsonCut(more) => {
            let value_end = text.find(KEYED).unwrap_or(0) + KEYED.len();
            let cut = (value_end + usize::from(more)).min(text.len() - 1);
            text.get(..cut).unwrap_or(&text).into()
        }
        _ => text,
    };
    let encoded = || serde_json::Value::String(text.clone()).to_string();
    let text = match keyed.again {
        Again::AsItIs => text.clone(),
        Again::EncodedTwice => encoded(),
        Again::EscapedInside => {
            let encoded = encoded();
            encoded.get(1..encoded.len() - 1).unwrap_or_default().into()
        }
    };
    Some(match keyed.prose {
        Some((before, after)) => format!(
            "{}{text}{}",
            PROSE_BEFORE[usize::from(before) % PROSE_BEFORE.len()],
            PROSE_AFTER[usize::from(after) % PROSE_AFTER.len()]
        ),
        None => text,
    })
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
        Piece::Escaped(i) => secret(*i)
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect(),
        Piece::Nested(fields) if depth < 4 => {
            let map: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .map(|(k, p)| (k.clone(), serde_json::Value::String(render(p, depth + 1))))
                .collect();
            serde_json::Value::Object(map).to_string()
        }
        Piece::Nested(_) => String::new(),
        Piece::LoneSurrogate(unit) => surrogate_escape(*unit),
        Piece::EscapedUserInfo(user, i) => {
            format!("https://{user}:{}@h.example/p", secret(*i)).replace('/', "\\/")
        }
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
    let mut body = envelope.to_string().replace("\\\\u", "\\u");
    // The marker stands for a value a secret-named key protects: an input that spells it
    // anywhere else (the fuzzer learns it from the comparison below) proves nothing.
    if body.contains("KEYED") {
        return;
    }
    // After the splice, so that its escapes reach the core as written.
    if let Some(keyed) = &input.keyed {
        let Some(text) = keyed_text(keyed) else {
            return;
        };
        let field = serde_json::Value::String(text).to_string();
        body.pop();
        body.push_str(",\"kx\":");
        body.push_str(&field);
        body.push('}');
    }
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
    // The events of the providers that read a body as JSON only, so `kx` as a JSON text: in
    // these the keyed value must not come out. (Twilio and Vonage read a body without a JSON
    // content type as a form, whose parameters keep pieces of the text, where no JSON key rule
    // applies; configured values are still caught there.)
    let mut keyed_outputs = Vec::new();
    let mut check = |provider: Provider, result: &Result<_, _>| {
        let texts = texts_of(result);
        if !matches!(provider, Provider::Twilio | Provider::Vonage) {
            keyed_outputs.extend(texts.iter().cloned());
        }
        outputs.extend(texts);
    };
    let did = Provider::DidReseller;
    check(
        did,
        &normalize_event(Some(did), &request, &one, 1_769_000_000),
    );
    for provider in Provider::ALL {
        let own = Credentials::insecure_skip_verification()
            .with_bearer(BEARER)
            .with_url_token(TOKEN)
            .with_basic("fz-user", PASSWORD);
        let skip = Credentials::none().with_provider(provider, own);
        check(
            provider,
            &normalize_event(Some(provider), &request, &skip, 1_769_000_000),
        );
    }
    outputs.push(format!("{one:?}"));
    outputs.push(format!("{request:?}"));
    for text in &outputs {
        for value in [TOKEN, PASSWORD, BEARER] {
            assert!(!text.contains(value), "a configured value leaked: {text}");
        }
    }
    for text in &keyed_outputs {
        assert!(
            !text.contains(KEYED),
            "a secret-named key's value leaked: {text}"
        );
    }
});
