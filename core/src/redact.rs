//! Redaction of secrets inside payloads, applied to the parsed body before anything is read
//! from it, so the event, its `raw` and `parse()` all carry the redacted form.
//!
//! Providers echo the receiver's own configuration back (the DID reseller's `users` records
//! carry the receiver's webhook URL with its `?token=` or `https://user:password@…`), and any
//! text field can quote a secret. The rules, applied to every string at any depth:
//! - a configured credential value (of 8 characters or more) anywhere in the text, also
//!   percent-encoded, is replaced;
//! - the password of a URL's userinfo (`scheme://user:password@host`) is replaced;
//! - the value of a query parameter named like a secret (`token`, `key`, `secret`, …) or named
//!   as a configured `url_token_param` is replaced;
//! - a string that holds JSON is redacted by the same rules, at any depth, a JSON string too
//!   (JSON encoded twice, or escaped once too many: `{\"pin\":…}`);
//! - a string that opens like JSON but is not (Python's `repr`, Ruby's `inspect`, Java's
//!   `toString` of a map, JSON with `NaN` or cut short) is replaced whole when one of its keys
//!   is named like a secret: no parser here reads its keys, but a consumer's may;
//! - an object key named like a secret (case and `_`/`-` style ignored) has its value replaced;
//! - an object key is itself text: the rules above apply to it too.
//!
//! Generic: no provider is named here. Hand-written because no no_std crate does this.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use serde_json::Value;

/// What every redacted value becomes.
pub const REDACTED: &str = "[REDACTED]";

/// Object keys whose values are secrets in any provider's payload, compared with case and
/// `_`/`-` ignored: `api_key`, `apiKey` and `API-KEY` are one key. A key that ends with a secret
/// suffix counts too (`api_password`, `client_secret`, `wireless_pin`). A
/// provider adds the account data its own payloads carry ([`Redactor::with_keys`]).
pub const REDACTED_KEYS: &[&str] = &["password", "pin", "secret", "apikey", "token"];
/// `passwd`/`pwd` and `private_key` too: what config dumps and SIP account records call them.
const SECRET_KEY_SUFFIXES: &[&str] = &[
    "password",
    "secret",
    "apikey",
    "token",
    "pin",
    "passwd",
    "pwd",
    "privatekey",
];

/// Query parameters whose values are redacted in URLs found in any string, compared with case
/// and `_`/`-` ignored; a name ending with a secret suffix counts too (`access_token`).
pub const SECRET_QUERY_PARAMS: &[&str] = &[
    "token",
    "key",
    "secret",
    "password",
    "pin",
    "sig",
    "signature",
    "auth",
];
const SECRET_PARAM_SUFFIXES: &[&str] = &["token", "secret", "password", "key", "signature"];

/// Configured values shorter than this are not searched for: replacing a 4-character token
/// wherever it occurs would rewrite timestamps and ids (and lose the event), while such a
/// value is guessable anyway. Real secrets are far longer.
pub const MIN_REDACTED_VALUE_CHARS: usize = 8;

/// Strings nested as JSON inside strings deeper than this are replaced whole: each level of
/// nesting is parsed again, so the depth bounds the work (and every level doubles escaping).
const MAX_NESTED_JSON: usize = 8;

/// A JSON text in a string that would take the tree's depth, counted through every text it is
/// inside, past this is replaced whole. The rules recurse once per level of that depth, so it
/// bounds their stack: the body's own reader stops at 128 too (serde_json), while 8 texts each
/// 126 deep took 414 KiB of stack in a release build, where a thread of musl's default 128 KiB
/// overflowed at one.
const MAX_SUMMED_DEPTH: usize = 128;

/// Where a value being redacted sits: inside how many JSON texts held in strings (`nesting`),
/// and at what depth counted through all of them (`depth`, 0 for the body).
#[derive(Clone, Copy)]
struct Level {
    nesting: usize,
    depth: usize,
}

impl Level {
    const BODY: Level = Level {
        nesting: 0,
        depth: 0,
    };

    /// A member or item of the value at this level.
    fn member(self) -> Level {
        Level {
            depth: self.depth + 1,
            ..self
        }
    }

    /// The value of a JSON text held in a string at this level, which takes that string's place.
    fn text_inside(self) -> Level {
        Level {
            nesting: self.nesting + 1,
            ..self
        }
    }

    /// How deeply `text`, held in a string at this level, nests arrays and objects, when that
    /// takes it past [`MAX_SUMMED_DEPTH`] in all; `None` when it fits. A text that is no JSON is
    /// judged by its brackets alone.
    fn depth_past_room(self, text: &str) -> Option<usize> {
        let room = MAX_SUMMED_DEPTH.saturating_sub(self.depth);
        // Each level of depth takes an opening bracket: a text with no more of them than the
        // room fits without the byte-by-byte scan of its strings (counted with memchr, this
        // took back the DID reseller's +6 k instructions a call, whose `data` text is always
        // longer than the room and holds a handful of brackets).
        let openings = memchr::memchr2_iter(b'[', b'{', text.as_bytes()).take(room + 1);
        if text.len() <= room || openings.count() <= room {
            return None;
        }
        Some(json_depth(text)).filter(|&depth| depth > room)
    }
}

/// The deepest nesting serde_json reads (its recursion limit refuses 128).
const READABLE_DEPTH: usize = 127;

/// How deeply arrays and objects nest in `json` (outside its strings): for a JSON text, the
/// depth its reader recurses to; for any text, at least the depth of the JSON it starts with.
fn json_depth(json: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for byte in json.bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Lower-case ASCII bytes without `_`, `-`, `.` or spaces: the one spelling keys and names
/// compare in (`wireless_pin`, `wirelessPin`, `WIRELESS-PIN`). Byte-wise so that no key of a
/// large payload costs an allocation; the vocabularies are ASCII.
fn squashed(name: &str) -> impl DoubleEndedIterator<Item = u8> + '_ {
    name.bytes()
        .filter(|b| !matches!(b, b'_' | b'-' | b'.' | b' '))
        .map(|b| b.to_ascii_lowercase())
}

/// Whether `name`, squashed, is one of `exact` or ends with one of `suffixes`.
fn named_like(name: &str, exact: &[&str], suffixes: &[&str]) -> bool {
    // A word can only be the name, or end it, if it ends with the name's last byte: one
    // comparison skips most words (callgrind: a fifth of a LimePhone call's redaction).
    let last = squashed(name).next_back();
    let ends_alike = |word: &&&str| word.bytes().next_back() == last;
    exact
        .iter()
        .filter(ends_alike)
        .any(|word| squashed(name).eq(word.bytes()))
        || suffixes.iter().filter(ends_alike).any(|suffix| {
            let mut tail = squashed(name).rev();
            suffix.bytes().rev().all(|b| tail.next() == Some(b))
        })
}

// Inlined into `redact_at`, which tests every key of every payload: called there, it cost a
// LimePhone or LisoLoo call ~0.2 k instructions more (callgrind).
#[inline(always)]
fn is_secret_key(key: &str, provider_keys: &[&str]) -> bool {
    // Every word of REDACTED_KEYS is also a suffix (a test checks it): the suffixes alone
    // decide, without comparing each key with the words first.
    named_like(key, &[], SECRET_KEY_SUFFIXES)
        || provider_keys
            .iter()
            .any(|word| squashed(key).eq(squashed(word)))
}

/// A query parameter named like a secret, or named as the receiver's `url_token_param` (a
/// token too short for the configured-value rule, under a name like `k`, is still a secret).
fn is_secret_param(name: &str, token_params: &[&str]) -> bool {
    let decoded = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
    named_like(&decoded, SECRET_QUERY_PARAMS, SECRET_PARAM_SUFFIXES)
        || token_params.iter().any(|param| *param == decoded)
}

/// The bytes the URL, query and nested-JSON rules need, as bits: a userinfo password needs
/// `:` (of `://`) and `@`, a query value `=`, JSON `{` or `[`. A text without them gets the
/// configured-value rule alone, and most payload strings (ids, numbers, statuses, times with
/// their `:`) return at once. A table, one load per byte, rather than comparisons (callgrind:
/// -0.8 k instructions of a LimePhone call), as this scan reads every string of every payload.
const COLON: u8 = 1;
const AT_SIGN: u8 = 2;
const EQUALS: u8 = 4;
const OPENS_JSON: u8 = 8;
// Indexed at compile time: an index out of bounds fails the build, never a request.
#[allow(clippy::indexing_slicing)]
const RULE_BYTES: [u8; 256] = {
    let mut table = [0; 256];
    table[b':' as usize] = COLON;
    table[b'@' as usize] = AT_SIGN;
    table[b'=' as usize] = EQUALS;
    table[b'{' as usize] = OPENS_JSON;
    table[b'[' as usize] = OPENS_JSON;
    table
};

/// Whether a rule besides the configured-value one can apply to `text`.
fn opens_a_rule(text: &str) -> bool {
    let seen = text.bytes().fold(0, |seen, byte| {
        seen | RULE_BYTES.get(usize::from(byte)).copied().unwrap_or(0)
    });
    seen & (EQUALS | OPENS_JSON) != 0 || seen & (COLON | AT_SIGN) == COLON | AT_SIGN
}

/// What the caller keeps of a nested JSON text the rules left unchanged: the text as sent
/// (a string of the body), or the tree read from it (the DID reseller's decoded `data`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keeps {
    Text,
    Tree,
}

/// What reading a text again as a JSON string, or as a string's inside, gave.
enum Reread {
    NotAString,
    /// It is one, and nothing it holds is secret.
    Unchanged,
    /// Its redacted form, written back as it came.
    Redacted(String),
}

impl Reread {
    /// Whether the text was read whole as a string: then it is not read again piece by piece.
    fn read_whole(&self) -> bool {
        !matches!(self, Reread::NotAString)
    }
}

/// What the nested-JSON rule made of a text that holds JSON.
enum Nested {
    /// Nothing in it is secret: the text stays as it is.
    Unchanged,
    /// Redacted: the JSON text of the redacted value.
    Redacted(String),
    /// It spells a configured value: the whole text is replaced.
    Whole,
}

/// The redaction rules with the receiver's own credential values (see [`crate::Credentials`]).
#[derive(Default)]
pub struct Redactor<'a> {
    /// Configured values as text (secrets that are not UTF-8 cannot appear in JSON text),
    /// borrowed from the credentials (no copy per request), or a receiver's [`PreparedValues`].
    values: Cow<'a, [Cow<'a, str>]>,
    /// The configured `url_token_param` names: their query values are secrets.
    token_params: Vec<&'a str>,
    /// Keys the provider's file declares sensitive, besides [`REDACTED_KEYS`].
    provider_keys: &'static [&'static str],
}

/// The configured values the rules search for, longest first: what [`Redactor::new`] builds
/// on every request, built once for a receiver whose credentials never change after (the
/// base64 of a Basic pair alone is ~2 k instructions, 6 % of a LisoLoo call).
pub(crate) struct PreparedValues(Vec<Cow<'static, str>>);

impl PreparedValues {
    #[cfg(feature = "binding-api")]
    pub(crate) fn new(credentials: &crate::Credentials) -> Self {
        PreparedValues(
            searched_values(credentials)
                .into_iter()
                .map(|value| Cow::Owned(value.into_owned()))
                .collect(),
        )
    }
}

/// Counts only: the values are secrets.
impl core::fmt::Debug for PreparedValues {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PreparedValues({} values)", self.0.len())
    }
}

fn searched_values(credentials: &crate::Credentials) -> Vec<Cow<'_, str>> {
    let mut values = credentials.redaction_values();
    values.retain(|v| v.chars().count() >= MIN_REDACTED_VALUE_CHARS);
    values.sort_by_key(|v| core::cmp::Reverse(v.len()));
    values.dedup();
    values
}

impl core::fmt::Debug for Redactor<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Redactor({} values)", self.values.len())
    }
}

impl<'a> Redactor<'a> {
    /// Key, URL and nested-JSON rules only (no credential values).
    pub fn without_credentials() -> Self {
        Self::default()
    }

    /// All the rules, with every value configured in `credentials` (every provider's) that is
    /// at least [`MIN_REDACTED_VALUE_CHARS`] long.
    pub fn new(credentials: &'a crate::Credentials) -> Self {
        Redactor {
            values: Cow::Owned(searched_values(credentials)),
            token_params: credentials.url_token_params(),
            provider_keys: &[],
        }
    }

    /// [`Redactor::new`] with the values `prepared` from the same `credentials` when a receiver
    /// was built.
    pub(crate) fn prepared(
        credentials: &'a crate::Credentials,
        prepared: &'a PreparedValues,
    ) -> Self {
        Redactor {
            values: Cow::Borrowed(&prepared.0),
            token_params: credentials.url_token_params(),
            provider_keys: &[],
        }
    }

    /// The same rules, plus the keys a provider declares sensitive (`account_number`).
    pub fn with_keys(self, provider_keys: &'static [&'static str]) -> Self {
        Redactor {
            provider_keys,
            ..self
        }
    }

    /// Redacts `value` in place; true when anything changed.
    pub fn redact(&self, value: &mut Value) -> bool {
        self.redact_at(value, Level::BODY)
    }

    /// [`Redactor::redact`] for a body whose `field` holds a JSON object as text (the DID
    /// reseller's `data`): `body[field]` becomes that object, redacted — exactly what redacting
    /// the text (the nested-JSON rule) and decoding the result
    /// gives, with one parse of the text instead of two (callgrind: ~16 k instructions of a
    /// ~160 k call). Any other value of `field` is redacted as usual and left as it is.
    pub fn redact_decoding(&self, body: &mut Value, field: &str) -> bool {
        let Some(Value::String(text)) = body.get_mut(field) else {
            return self.redact(body);
        };
        let Some(mut nested) = crate::json_read::from_str::<Value>(text)
            .ok()
            .filter(Value::is_object)
        else {
            return self.redact(body);
        };
        // The field holds "" while the rest of the body is redacted: no rule rewrites that.
        let text = core::mem::take(text);
        // The field's value, at depth 1, takes the text's place.
        let level = Level::BODY.member();
        let outcome = if level.depth_past_room(&text).is_some() {
            Nested::Whole
        } else {
            self.redact_nested(&text, &mut nested, level.text_inside(), Keeps::Tree)
        };
        let changed = self.redact_at(body, Level::BODY);
        let (value, nested_changed) = match outcome {
            Nested::Unchanged => (nested, false),
            Nested::Redacted(_) => (nested, true),
            Nested::Whole => (Value::String(String::from(REDACTED)), true),
        };
        if let Some(slot) = body.get_mut(field) {
            *slot = value;
        }
        changed | nested_changed
    }

    /// The nested-JSON rule on `text`, already decoded into `nested`: redacts `nested` at
    /// `nesting`. Escapes can spell a configured value out of part of it (a form feed before
    /// `z-token…` is `\fz-token…` in the text; found by the redaction fuzz target): a JSON text
    /// that holds a configured value after its own rules ran goes whole.
    fn redact_nested(&self, text: &str, nested: &mut Value, level: Level, keeps: Keeps) -> Nested {
        let spells_a_value = |json: &str| self.values.iter().any(|v| holds(json, v));
        if !self.redact_at(nested, level) {
            if spells_a_value(text) {
                return Nested::Whole;
            }
            // A repeated key shadows the earlier value in the tree the rules read, not in the
            // text (`{"password":"…","password":null}`, `{"u":"https://u:…@h/","u":1}`): a text
            // kept as sent that repeats one goes out as its tree instead.
            if keeps == Keeps::Tree || !crate::json_read::repeats_a_key(text, nested) {
                return Nested::Unchanged;
            }
        }
        let text = crate::json_text::to_text(nested);
        if spells_a_value(&text) {
            Nested::Whole
        } else {
            Nested::Redacted(text)
        }
    }

    fn redact_at(&self, value: &mut Value, level: Level) -> bool {
        match value {
            Value::Object(map) => {
                let mut changed = false;
                // A key can quote a secret too (`{"<token>": …}`): such keys are rewritten.
                if map
                    .keys()
                    .any(|key| self.redact_text(key, level.member()).is_some())
                {
                    let entries = core::mem::take(map);
                    for (key, item) in entries {
                        let key = self.redact_text(&key, level.member()).unwrap_or(key);
                        map.insert(key, item);
                    }
                    changed = true;
                }
                for (key, item) in map.iter_mut() {
                    if is_secret_key(key, self.provider_keys) && !item.is_null() {
                        if item.as_str() != Some(REDACTED) {
                            *item = Value::String(String::from(REDACTED));
                            changed = true;
                        }
                    } else {
                        changed |= self.redact_at(item, level.member());
                    }
                }
                changed
            }
            Value::Array(items) => items.iter_mut().fold(false, |changed, item| {
                self.redact_at(item, level.member()) | changed
            }),
            Value::String(text) => match self.redact_text(text, level) {
                Some(redacted) => {
                    *text = redacted;
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    /// `text` with every configured value in it replaced, and all of it replaced when one is
    /// there percent-encoded: for text shown outside a payload, such as the URL an error
    /// names (whose query values are already elided).
    pub(crate) fn without_configured_values(&self, text: &str) -> String {
        self.values_redacted(text, Marks::of(text))
            .unwrap_or_else(|| String::from(text))
    }

    /// The configured-value rule alone: `None` when no configured value is in `text`.
    fn values_redacted(&self, text: &str, marks: Marks) -> Option<String> {
        let mut out: Option<String> = None;
        for secret in self.values.iter() {
            let current = out.as_deref().unwrap_or(text);
            if holds(current, secret) {
                out = Some(current.replace(secret.as_ref(), REDACTED));
            }
        }
        // A value as a JSON string spells it: only a text with a backslash can hold that, so
        // the forms are made here, not with the redactor (built for every request: that cost
        // a LisoLoo call 0.3 k instructions).
        if marks.json && holds_byte(out.as_deref().unwrap_or(text), b'\\') {
            for form in self
                .values
                .iter()
                .flat_map(|secret| json_escaped_forms(secret))
            {
                let current = out.as_deref().unwrap_or(text);
                if holds(current, &form) {
                    out = Some(current.replace(&form, REDACTED));
                }
            }
        }
        // A value percent-encoded in a URL: the whole string goes, its encoding is not ours.
        let current = out.as_deref().unwrap_or(text);
        if marks.url && holds_byte(current, b'%') {
            let decoded = percent_encoding::percent_decode_str(current).decode_utf8_lossy();
            if self.values.iter().any(|secret| holds(&decoded, secret)) {
                return Some(String::from(REDACTED));
            }
        }
        out
    }

    /// The redacted form of `text`, or `None` when nothing in it is secret.
    fn redact_text(&self, text: &str, level: Level) -> Option<String> {
        // No configured value fits in a shorter text, nor in its percent-decoded form (decoding
        // never lengthens), and without the bytes of [`RULE_BYTES`] no other rule can apply.
        // `values` is sorted longest first, so the last is the shortest.
        let fits = self.values.last().is_some_and(|v| v.len() <= text.len());
        // A text long enough to hold a configured value goes through every rule unscanned: the
        // rules' own searches (`contains`, memchr) skip a long text far faster than this
        // byte-by-byte scan (a 64 KiB message: 77 -> 63 µs a call with it skipped).
        let other_rules = fits || opens_a_rule(text);
        if !other_rules {
            return None;
        }
        let trimmed = text.trim_start();
        // Whether the whole text was read again as a JSON string (or a string's inside): the
        // rules then ran on all it holds.
        let mut read_whole = false;
        if trimmed.starts_with(['{', '[']) {
            // Judged before the text is read: a reader recursing through it on top of the
            // rules' own recursion was the stack's worst case (143 KiB with objects, found by
            // review). A text the reader would take that nests too deep here goes whole; one it
            // would refuse anyway (past [`READABLE_DEPTH`]) is read by the text rules below, as
            // any text it refuses is.
            let depth = level.depth_past_room(text);
            if depth.is_some_and(|depth| depth <= READABLE_DEPTH) {
                return Some(String::from(REDACTED));
            }
            let read = if depth.is_none() {
                crate::json_read::from_str::<Value>(text).ok()
            } else {
                None
            };
            if let Some(mut nested) = read {
                if level.nesting >= MAX_NESTED_JSON {
                    return Some(String::from(REDACTED));
                }
                return match self.redact_nested(text, &mut nested, level.text_inside(), Keeps::Text)
                {
                    Nested::Unchanged => None,
                    Nested::Redacted(text) => Some(text),
                    Nested::Whole => Some(String::from(REDACTED)),
                };
            }
            // The text as it stands is judged first: a reading of it as an escaped string's
            // inside may corrupt it (`'…\\'` in a Python map becomes an escaped quote) and
            // find a configured value but no key (found by the fuzz target).
            if has_secret_named_key(text, self.provider_keys, false) {
                return Some(String::from(REDACTED));
            }
            // `{\"password\":…}`: JSON escaped once more than its string needs (copied out of
            // another JSON text's string). Read as that string's inside, it is JSON (or a map
            // text) again. Any escape, not only `\"`: a Python map escaped so has none, and its
            // `\'` read as `\\` and a quote ends its strings elsewhere (found by the fuzz target).
            if holds_byte(text, b'\\') {
                match self.redact_escaped(text, level) {
                    Reread::Redacted(redacted) => return Some(redacted),
                    reread => read_whole |= reread.read_whole(),
                }
            }
        }
        // `"{\"password\":…}"`: a JSON text encoded twice (a value serialized once too often)
        // is a JSON string holding JSON, redacted as its inside is.
        if trimmed.starts_with('"') {
            match self.redact_json_string(text, level) {
                Reread::Redacted(redacted) => return Some(redacted),
                reread => read_whole |= reread.read_whole(),
            }
        }
        // `\"{\\\"password\\\":…}\"`: both at once, a JSON text encoded twice and then
        // escaped once too many. Read as a string's inside, it is a JSON text encoded twice
        // (the rule above); its key went out as sent before (a review).
        if trimmed.starts_with("\\\"") {
            match self.redact_escaped(text, level) {
                Reread::Redacted(redacted) => return Some(redacted),
                reread => read_whole |= reread.read_whole(),
            }
        }
        // `Callback failed: {"api_key":…}`: a map quoted in prose (a text that opens with a
        // bracket was read as a map text above). Escaped once too many, or encoded twice
        // (`said "{\"token\":…}"`), its strings' quotes are letters to the map reading (a `}`
        // in one closed the group early: found by the fuzz target), so it is read again as a
        // string's inside. A map that opens the text and reads as no escaped string's inside
        // either (a Python map escaped so: `{\'password\': …} in a log`) is read once more,
        // its keys unescaped.
        let marks = Marks::of(text);
        if marks.json && holds_byte(text, b'{') {
            let opens_like_a_map = trimmed.starts_with(['{', '[']);
            if !opens_like_a_map && has_secret_named_key(text, self.provider_keys, true) {
                return Some(String::from(REDACTED));
            }
            // Not when the whole text read as a string already: each level of escaping would
            // be read twice, 2^8 times the work at the nesting limit (a review: 1 MiB of
            // `{\\\"` took 100 ms).
            if holds_byte(text, b'\\')
                && ((opens_like_a_map && has_secret_named_key(text, self.provider_keys, true))
                    || (!read_whole && self.escaped_maps_hold_a_secret(text, level)))
            {
                return Some(String::from(REDACTED));
            }
        }
        let mut out = if fits {
            self.values_redacted(text, marks)
        } else {
            None
        };
        // `REDACTED` holds none of the marks: a text without them gains none by the first rule.
        if out.as_deref() == Some(REDACTED) || !marks.url {
            return out;
        }
        if let Some(redacted) = redact_urls(out.as_deref().unwrap_or(text), &self.token_params) {
            out = Some(redacted);
        }
        out
    }
}

impl Redactor<'_> {
    /// `text` read as the inside of a JSON string (escapes and all: JSON escaped once more
    /// than its string needs), with the rules applied to the text it holds and escaped again
    /// as it was.
    fn redact_escaped(&self, text: &str, level: Level) -> Reread {
        let quoted = ["\"", text, "\""].concat();
        match self.redact_json_string(&quoted, level) {
            Reread::Redacted(redacted) => Reread::Redacted(
                redacted
                    .strip_prefix('"')
                    .and_then(|inside| inside.strip_suffix('"'))
                    .map_or_else(|| String::from(REDACTED), String::from),
            ),
            other => other,
        }
    }

    /// Whether a map escaped once too many, or encoded twice, in `text` keys a secret: from
    /// each `{` to the next quote no backslash escapes (the end of the string that held it) or
    /// the text's end, read as a JSON string's inside. The pieces do not overlap: linear.
    fn escaped_maps_hold_a_secret(&self, text: &str, level: Level) -> bool {
        let bytes = text.as_bytes();
        let mut from = 0;
        while let Some(open) = bytes
            .get(from..)
            .and_then(|rest| memchr::memchr(b'{', rest))
            .map(|at| from + at)
        {
            let end = string_end(bytes, open);
            let piece = text.get(open..end).unwrap_or_default();
            if holds_byte(piece, b'\\')
                && matches!(
                    self.redact_json_string(&["\"", piece, "\""].concat(), level),
                    Reread::Redacted(_)
                )
            {
                return true;
            }
            from = end + 1;
        }
        false
    }

    /// `text`, a JSON string literal, with the rules applied to the text it holds and written
    /// back as a JSON string (when it is no JSON string or nothing in it is secret, the outer
    /// text's own rules then apply).
    fn redact_json_string(&self, text: &str, level: Level) -> Reread {
        // Read as a `Value`, whose reader the module already holds (one for `String` is +0.6 KB).
        let Ok(Value::String(inside)) = crate::json_read::from_str::<Value>(text) else {
            return Reread::NotAString;
        };
        if level.nesting >= MAX_NESTED_JSON {
            return Reread::Redacted(String::from(REDACTED));
        }
        let Some(redacted) = self.redact_text(&inside, level.text_inside()) else {
            return Reread::Unchanged;
        };
        let written = crate::json_text::to_text(&Value::String(redacted));
        // An escape in the outer text could spell a configured value out of the redacted
        // inside, as in [`Redactor::redact_nested`].
        if self.values.iter().any(|v| holds(&written, v)) {
            return Reread::Redacted(String::from(REDACTED));
        }
        Reread::Redacted(written)
    }
}

/// How a configured value reads inside a JSON string that stays text (in prose, cut short, in a
/// map text no parser reads), when that differs from the value: escaped as JSON writes it, and
/// with `/` as `\/` (PHP's `json_encode` default). Empty for most values, which hold none of
/// the bytes JSON escapes.
fn json_escaped_forms(value: &str) -> Vec<String> {
    let escapes = |byte: u8| matches!(byte, b'/' | b'"' | b'\\') || byte < 0x20;
    if !value.bytes().any(escapes) {
        return Vec::new();
    }
    let quoted = crate::json_text::to_text(&Value::String(String::from(value)));
    let inside = quoted
        .strip_prefix('"')
        .and_then(|inside| inside.strip_suffix('"'))
        .unwrap_or_default();
    let mut forms = Vec::new();
    if inside.contains('/') {
        forms.push(inside.replace('/', "\\/"));
    }
    if !inside.is_empty() && inside != value {
        forms.push(String::from(inside));
    }
    forms
}

/// Where [`has_secret_named_key`] is in a map text: what a name met there would be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MapPlace {
    /// After `{`, `[`, `(`, `,` or `;`.
    Opening,
    /// After a `:` that opens a name (Ruby's `:name=>`, Clojure's `:name value`): the name is a key.
    Symbol,
    /// After a quoted string or a bare word (its bytes): a key if a separator follows.
    Name(usize, usize),
    /// After a key's `:`, `=>` or `=`: the next word or string is its value.
    Value,
    Other,
}

/// Whether `text`, which opens like JSON but is not (Python's `str(dict)`, Ruby's `inspect`,
/// Java's `toString`, Go's `%+v`, JSON with `NaN` or cut short), keys a value with a name
/// like a secret ([`is_secret_key`], as in JSON). Read forward once as words, strings (a `:`
/// or `]` in one is text) and punctuation; a key is the last word or string before `:`, `=>`
/// or `=`, unless it is the value of the key before (`{User:bob Password:…}`), or a word
/// after a `:` that opens it (`{:password=>…}`). Bracketed groups count, prose between them
/// does not: in `[12:30] Acme: your PIN: 4821` or `[Bank] Your PIN=1234` the group closes
/// before the prose, which is left alone. After the text's first group (its opening bracket, or
/// for a text that opens with prose its first `{`), each `{` group is read the same way:
/// `Callback failed: {"api_key":…}` quotes a map in prose (an upstream's answer in an error
/// text, a log line). Keys are read without the backslashes and quotes of a text escaped once
/// too many (`{\"password\":…}`), except, unless `unescaped_keys`, in the group that opens the
/// text (read again unescaped by `redact_escaped`, which redacts its values alone). Only a text
/// that is no JSON comes here. Linear: each group's scan starts where the last one closed, and a
/// quote that found no closing one stays a letter.
#[cold]
#[inline(never)]
fn has_secret_named_key(text: &str, provider_keys: &[&str], unescaped_keys: bool) -> bool {
    let bytes = text.as_bytes();
    let text_start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let opens_with_a_group = matches!(bytes.get(text_start), Some(b'{' | b'['));
    let mut from = if opens_with_a_group {
        Some(text_start)
    } else {
        memchr::memchr(b'{', bytes)
    };
    // A text that opens with a map escaped once too many is read again unescaped, where its
    // values alone are redacted (`redact_escaped`): unless `unescaped_keys`, that first map's
    // keys are read as they stand.
    let mut keys_escaped = unescaped_keys || !opens_with_a_group;
    let mut in_prose = !opens_with_a_group;
    let mut unclosed = [false; 2];
    while let Some(start) = from {
        // A group in prose that never closes is prose too (`Dear {customer_name, your PIN:
        // 4821`, `Sad :{ …`; a review), unless it opens as a map does, with a quoted or escaped
        // key or a symbol: a map cut short (`failed: {"password":"…`).
        let opens_as_a_map = bytes
            .get(start + 1..)
            .and_then(|rest| rest.iter().find(|b| !b.is_ascii_whitespace()))
            .is_some_and(|b| matches!(b, b'"' | b'\'' | b'\\' | b':'));
        let must_close = in_prose && !opens_as_a_map;
        let scan = group_keys_a_secret(
            text,
            start,
            Reading {
                keys_escaped,
                must_close,
            },
            &mut unclosed,
            provider_keys,
        );
        keys_escaped = true;
        in_prose = true;
        match scan {
            GroupScan::SecretKey => return true,
            GroupScan::ClosedAt(close) => {
                from = bytes
                    .get(close + 1..)
                    .and_then(|rest| memchr::memchr(b'{', rest))
                    .map(|at| close + 1 + at);
            }
            GroupScan::Unclosed => return false,
        }
    }
    false
}

/// How [`group_keys_a_secret`] reads a group: its keys without the quotes and backslashes of
/// a text escaped once too many, and whether a secret-named key counts only in a group that
/// closes.
#[derive(Clone, Copy)]
struct Reading {
    keys_escaped: bool,
    must_close: bool,
}

/// What [`group_keys_a_secret`] found in a bracketed group.
enum GroupScan {
    SecretKey,
    /// The group closes at this byte with no secret-named key in it.
    ClosedAt(usize),
    /// The text ends inside the group.
    Unclosed,
}

/// A key word as [`is_secret_key`] reads it: when `escaped`, without the quotes and
/// backslashes around it that a map escaped once more than its string needs keeps
/// (`{\"password\":…}` in prose).
fn key_word(text: &str, start: usize, end: usize, escaped: bool) -> &str {
    let word = text.get(start..end).unwrap_or_default();
    if escaped {
        word.trim_matches(['\\', '"', '\''])
    } else {
        word
    }
}

/// [`has_secret_named_key`] for the group opening at `text_start`: whether it keys a value
/// with a secret's name, or where it closes. `unclosed` records, across groups, the kinds of
/// quote that found no closing one.
fn group_keys_a_secret(
    text: &str,
    text_start: usize,
    reading: Reading,
    unclosed: &mut [bool; 2],
    provider_keys: &[&str],
) -> GroupScan {
    let bytes = text.as_bytes();
    let is_punctuation = |b: u8| {
        matches!(
            b,
            b'{' | b'[' | b'(' | b'}' | b']' | b')' | b',' | b';' | b':' | b'='
        )
    };
    let ends_a_word = |b: u8| b.is_ascii_whitespace() || is_punctuation(b);
    let names_a_secret = |start: usize, end: usize| {
        is_secret_key(
            key_word(text, start, end, reading.keys_escaped),
            provider_keys,
        )
    };
    let after_space = |at: usize| {
        at.checked_sub(1)
            .and_then(|before| bytes.get(before))
            .is_some_and(u8::is_ascii_whitespace)
    };
    let (opens, closes) = match bytes.get(text_start) {
        Some(b'[') => (b'[', b']'),
        _ => (b'{', b'}'),
    };
    // Once a quote finds no closing one, none of its kind can: each is then a letter, and no
    // byte is searched twice.
    let mut depth = 0usize;
    let mut found = false;
    let mut place = MapPlace::Other;
    let mut at = text_start;
    while let Some(&byte) = bytes.get(at) {
        let mut next = at + 1;
        if byte.is_ascii_whitespace() {
            at = next;
            continue;
        }
        let name = if is_punctuation(byte) {
            None
        } else if let (b'"' | b'\'', Some(false)) = (byte, unclosed.get(usize::from(byte == b'\'')))
        {
            match closing_quote(bytes, at) {
                Some(close) => {
                    next = close + 1;
                    Some((at + 1, close))
                }
                None => {
                    if let Some(flag) = unclosed.get_mut(usize::from(byte == b'\'')) {
                        *flag = true;
                    }
                    continue;
                }
            }
        } else {
            next = bytes
                .get(at..)
                .and_then(|rest| rest.iter().position(|&b| ends_a_word(b)))
                .map_or(bytes.len(), |length| at + length.max(1));
            Some((at, next))
        };
        place = match (name, byte) {
            (Some((start, end)), _) => match place {
                MapPlace::Symbol => {
                    found |= names_a_secret(start, end);
                    if found && !reading.must_close {
                        return GroupScan::SecretKey;
                    }
                    MapPlace::Value
                }
                // A word after a space and right before a separator is the next key, the
                // value before it empty: `{User: Password:…}`, logfmt's `user= password=…`.
                MapPlace::Value
                    if !(after_space(at) && matches!(bytes.get(next), Some(b':' | b'='))) =>
                {
                    MapPlace::Other
                }
                _ => MapPlace::Name(start, end),
            },
            (None, b':' | b'=') => {
                let arrow = byte == b'=' && bytes.get(at + 1) == Some(&b'>');
                if arrow {
                    next = at + 2;
                }
                // `{:name`, `, :name` or ` :name` (Clojure's pairs without commas); not the `:`
                // of `http://` or `12:30` in a value.
                let opens_a_name = byte == b':'
                    && (place == MapPlace::Opening
                        || (place == MapPlace::Other
                            && after_space(at)
                            && bytes.get(at + 1).is_some_and(|&b| !ends_a_word(b))));
                match place {
                    MapPlace::Name(start, end) => {
                        found |= names_a_secret(start, end);
                        if found && !reading.must_close {
                            return GroupScan::SecretKey;
                        }
                        MapPlace::Value
                    }
                    _ if opens_a_name => MapPlace::Symbol,
                    MapPlace::Opening if byte == b'=' => MapPlace::Value,
                    _ => MapPlace::Other,
                }
            }
            (None, _) => {
                if byte == opens {
                    depth += 1;
                } else if byte == closes {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return if found {
                            GroupScan::SecretKey
                        } else {
                            GroupScan::ClosedAt(at)
                        };
                    }
                }
                match (byte, place) {
                    (b'{' | b'[' | b'(' | b',' | b';', _) => MapPlace::Opening,
                    // PHP's `var_dump`: `{ ["password"]=> string(10) "…" }`, the key in brackets.
                    (b']', MapPlace::Name(start, end)) => MapPlace::Name(start, end),
                    _ => MapPlace::Other,
                }
            }
        };
        at = next;
    }
    GroupScan::Unclosed
}

/// Where a JSON string's inside that starts at `from` ends: at the first `"` no backslash
/// escapes, or the text's end.
fn string_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'"' => return at,
            b'\\' => at += 2,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// Where the string opened by the quote at `open` closes: the next same quote not escaped by a
/// backslash.
fn closing_quote(bytes: &[u8], open: usize) -> Option<usize> {
    let quote = *bytes.get(open)?;
    let mut at = open + 1;
    while let Some(&byte) = bytes.get(at) {
        if byte == quote {
            return Some(at);
        }
        at += if byte == b'\\' { 2 } else { 1 };
    }
    None
}

/// Texts from this length on are searched with memchr's SIMD searchers: a 64 KiB message is
/// scanned five times (each configured value, `%`, `://`, `=`), and `str::contains` walks it a
/// byte or a word at a time (perf: 17 % of a 64 KiB LimePhone call). Below it `str::contains`
/// stays: building memchr's substring searcher costs more than a short text's whole search
/// (a `memmem::Finder` per value and request measured +2-3.5 % on the small payloads).
const LONG_TEXT: usize = 1024;

/// Whether a text may hold a percent-encoding, a URL or a query (`%`, `:`, `=`), and whether
/// it may hold a map in prose or a JSON escape (`{`, `\\`). A long text is checked for each
/// kind in one pass (each rule would scan it again to find it has none: the prose and escaped
/// value rules' two scans cost a 64 KiB message +13 k instructions); a short one is left to the
/// rules' own searches.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Marks {
    url: bool,
    json: bool,
}

impl Marks {
    #[inline]
    fn of(text: &str) -> Marks {
        if text.len() < LONG_TEXT {
            return Marks {
                url: true,
                json: true,
            };
        }
        let bytes = text.as_bytes();
        Marks {
            url: memchr::memchr3(b'%', b':', b'=', bytes).is_some(),
            json: memchr::memchr2(b'{', b'\\', bytes).is_some(),
        }
    }
}

/// `text.contains(needle)`. Not memchr's substring search in wasm, which has no SIMD there:
/// the same speed as `str::contains` (Node, 64 KiB: 430-458 against 431-468 µs a call) for
/// 3.5 KB more of the receiver's module, gzipped.
#[inline]
fn holds(text: &str, needle: &str) -> bool {
    if text.len() < LONG_TEXT {
        may_hold(text.as_bytes(), needle.as_bytes()) && text.contains(needle)
    } else if cfg!(target_arch = "wasm32") {
        text.contains(needle)
    } else {
        memchr::memmem::find(text.as_bytes(), needle.as_bytes()).is_some()
    }
}

/// False when `text` cannot hold `needle`: nowhere in it do `needle`'s first and last bytes
/// stand `needle.len() - 1` apart. `str::contains` builds a Two-Way searcher for its needle
/// (the needle's critical factorization) before it looks, which on a body's short strings cost
/// more than the search (Node, LimePhone: 3 % of a call, against every configured value for
/// every string; bench/PROFILE.md, fifteenth session). One memchr pass and a byte compare at
/// each place the first byte is: linear in `text`, like the search it saves.
fn may_hold(text: &[u8], needle: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (needle.first(), needle.last()) else {
        return true;
    };
    let span = needle.len() - 1;
    let Some(starts) = text.len().checked_sub(span) else {
        return false;
    };
    memchr::memchr_iter(first, text.get(..starts).unwrap_or_default())
        .any(|at| text.get(at + span) == Some(&last))
}

/// `text.contains(byte as char)`, for an ASCII `byte`.
#[inline]
fn holds_byte(text: &str, byte: u8) -> bool {
    debug_assert!(byte.is_ascii());
    if text.len() < LONG_TEXT {
        text.contains(char::from(byte))
    } else {
        memchr::memchr(byte, text.as_bytes()).is_some()
    }
}

/// Userinfo passwords and secret-named query values, wherever a URL or a query string
/// (`a=1&token=…`) appears in `text`.
fn redact_urls(text: &str, token_params: &[&str]) -> Option<String> {
    match redact_userinfo(text) {
        Some(without_passwords) => {
            Some(redact_query_values(&without_passwords, token_params).unwrap_or(without_passwords))
        }
        None => redact_query_values(text, token_params),
    }
}

/// `scheme://user:password@host`: the password (up to the authority's last `@`) is replaced.
/// Also in a URL written inside a JSON string as PHP's `json_encode` and others write it by
/// default, `https:\/\/user:password@host` (a review: the password went out as sent); the
/// authority still ends at the escaped slash's `/`.
pub(crate) fn redact_userinfo(text: &str) -> Option<String> {
    let mut after_scheme = scheme_separator(text)?;
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut rest = text;
    loop {
        let (head, tail) = rest.split_at(after_scheme);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#' | '"') || c.is_whitespace())
            .unwrap_or(tail.len());
        let (authority, after) = tail.split_at(authority_end);
        match authority
            .rfind('@')
            .map(|at_sign| authority.split_at(at_sign))
            .and_then(|(userinfo, host)| Some((userinfo.split_once(':')?, host)))
        {
            Some(((user, _password), host)) => {
                out.push_str(user);
                out.push(':');
                out.push_str(REDACTED);
                out.push_str(host);
                changed = true;
            }
            None => out.push_str(authority),
        }
        rest = after;
        match scheme_separator(rest) {
            Some(end) => after_scheme = end,
            None => break,
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// Where the first `://` (or its JSON-escaped `:\/\/`) in `text` ends. One pass over the
/// colons, whichever spelling comes first.
fn scheme_separator(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b':', bytes).find_map(|colon| {
        let after = bytes.get(colon + 1..)?;
        if after.starts_with(b"//") {
            Some(colon + 3)
        } else if after.starts_with(br"\/\/") {
            Some(colon + 5)
        } else {
            None
        }
    })
}

/// `name=value` pairs that start the text or follow `?`, `&` or `;`: a secret name's value
/// (up to `&`, `#`, `;`, whitespace or a quote) is replaced.
fn redact_query_values(text: &str, token_params: &[&str]) -> Option<String> {
    if !holds_byte(text, b'=') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut pair_start = true;
    let mut chars = text.char_indices().peekable();
    let mut copied_to = 0;
    while let Some((i, c)) = chars.next() {
        if pair_start && c != '=' {
            // Read the name up to '=' or a separator.
            let name_end = text
                .get(i..)
                .and_then(|t| {
                    t.find(|c: char| matches!(c, '=' | '&' | '?' | '#' | ';') || c.is_whitespace())
                })
                .map_or(text.len(), |n| i + n);
            if text.get(name_end..name_end + 1) == Some("=") {
                let name = text.get(i..name_end).unwrap_or_default();
                let value_start = name_end + 1;
                let value_end = text
                    .get(value_start..)
                    .and_then(|t| {
                        t.find(|c: char| {
                            matches!(c, '&' | '#' | ';' | '"' | '\'') || c.is_whitespace()
                        })
                    })
                    .map_or(text.len(), |n| value_start + n);
                if value_end > value_start && is_secret_param(name, token_params) {
                    out.push_str(text.get(copied_to..value_start).unwrap_or_default());
                    out.push_str(REDACTED);
                    copied_to = value_end;
                    changed = true;
                }
                // Skip to the value's end; the next pair starts after a separator.
                while chars.peek().is_some_and(|(j, _)| *j < value_end) {
                    chars.next();
                }
                pair_start = false;
                continue;
            }
        }
        pair_start = matches!(c, '?' | '&' | ';');
    }
    if !changed {
        return None;
    }
    out.push_str(text.get(copied_to..).unwrap_or_default());
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use serde_json::json;

    /// `is_secret_key` reads the suffixes only: that is the same rule while every secret key
    /// name is also a suffix.
    #[test]
    fn every_secret_key_name_is_also_a_suffix() {
        for word in REDACTED_KEYS {
            assert!(SECRET_KEY_SUFFIXES.contains(word), "{word}");
            assert!(is_secret_key(word, &[]));
            assert!(is_secret_key(&word.to_uppercase(), &[]));
        }
        assert!(!is_secret_key("tokens", &[]));
    }

    #[test]
    fn config_dump_spellings_of_a_password_and_a_private_key_are_secret() {
        for key in [
            "sip_passwd",
            "ftpPwd",
            "PASSWD",
            "private_key",
            "PrivateKey",
            "ssh-private-key",
        ] {
            assert!(is_secret_key(key, &[]), "{key}");
        }
        for key in [
            "cwd",
            "key_id",
            "public_key",
            "private",
            "passwords_changed",
        ] {
            assert!(!is_secret_key(key, &[]), "{key}");
        }
    }

    fn redacted(value: Value, redactor: &Redactor) -> Value {
        let mut value = value;
        redactor.redact(&mut value);
        value
    }

    /// `redact_decoding` is `redact` followed by decoding the field when it is a JSON object's
    /// text: byte-identical events, one parse fewer.
    mod decoding_is_redacting_then_decoding {
        use super::*;
        use proptest::prelude::*;

        const SECRETS: [&str; 2] = ["fz-URL-token-5e2a", "fz-basic/pass+word"];

        fn piece() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-z:=/@?&{}\\[\\] ]{0,12}",
                (0..2usize).prop_map(|i| SECRETS[i].to_string()),
                (0..2usize).prop_map(|i| alloc::format!("https://u:{}@h.example/p", SECRETS[i])),
                (0..2usize).prop_map(|i| alloc::format!("a=1&token={}", SECRETS[i])),
                // A control character before the rest of a value: its JSON escape spells it.
                Just(String::from("\u{c}z-URL-token-5e2a")),
                Just(String::from("{\"token\":\"x\",\"n\":[1,2.5]}")),
            ]
        }

        fn data() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                piece().prop_map(Value::String),
                any::<i32>().prop_map(Value::from)
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    proptest::collection::btree_map(
                        "[a-zA-Z_-]{1,10}|token|api_key|account_number",
                        inner,
                        0..5
                    )
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn on_any_record(record in data(), other in piece(), raw_text in any::<bool>()) {
                let mut credentials = crate::Credentials::default();
                credentials.url_token = alloc::vec![crate::credentials::Secret::new(SECRETS[0])];
                credentials.basic = alloc::vec![crate::credentials::BasicCredential {
                    username: String::from("user"),
                    password: crate::credentials::Secret::new(SECRETS[1]),
                }];
                let redactor = Redactor::new(&credentials).with_keys(&["account_number"]);
                let text = if raw_text { other.clone() } else { record.to_string() };
                let body = json!({"type": "update", "schema": other, "data": text});

                let mut expected = body.clone();
                redactor.redact(&mut expected);
                let decoded = match expected.get("data") {
                    Some(Value::String(text)) => crate::json_read::from_str::<Value>(text).ok().filter(Value::is_object),
                    _ => None,
                };
                if let Some(decoded) = decoded {
                    expected["data"] = decoded;
                }
                let mut actual = body;
                redactor.redact_decoding(&mut actual, "data");
                prop_assert_eq!(actual, expected);
            }
        }
    }

    /// Long texts take memchr's searches and the one-pass check for `%`, `:` and `=`: the same
    /// answers as `str::contains`, at every length around the threshold.
    mod long_texts_search_as_short_ones {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn holds_is_contains(
                text in "[a-c%:=/ {\\\\]{0,40}",
                repeat in 0..80usize,
                needle in "[a-c%:=/]{1,4}",
            ) {
                let text = text.repeat(repeat);
                prop_assert_eq!(holds(&text, &needle), text.contains(needle.as_str()));
                let short = text.get(..text.len().min(40)).unwrap_or_default();
                prop_assert_eq!(holds(short, &needle), short.contains(needle.as_str()));
                for byte in [b'%', b':', b'=', b'a'] {
                    prop_assert_eq!(holds_byte(&text, byte), text.contains(char::from(byte)));
                }
                let marked = ['%', ':', '='].iter().any(|mark| text.contains(*mark));
                prop_assert!(Marks::of(&text).url || !marked);
                let json_marked = text.contains(['{', '\\']);
                prop_assert!(Marks::of(&text).json || !json_marked);
            }
        }

        #[test]
        fn every_rule_applies_in_a_long_message() {
            let mut credentials = crate::Credentials::default();
            credentials.bearer = alloc::vec![crate::credentials::Secret::new("lt-bearer-9f8e")];
            let redactor = Redactor::new(&credentials);
            let prose = "Hi, I'd like to move my appointment to the afternoon. ".repeat(40);
            assert!(prose.len() >= LONG_TEXT && !Marks::of(&prose).url && !Marks::of(&prose).json);
            let cases = [
                ("it is lt-bearer-9f8e ok", Some("it is [REDACTED] ok")),
                (
                    "see https://u:pass@h.example/p now",
                    Some("see https://u:[REDACTED]@h.example/p now"),
                ),
                (
                    "see https://h.example/p?x=1&token=abc now",
                    Some("see https://h.example/p?x=1&token=[REDACTED] now"),
                ),
                (
                    "see https://h.example/p?t=lt%2Dbearer%2D9f8e",
                    Some(REDACTED),
                ),
                ("nothing to hide: a=b, 100%", None),
            ];
            for (middle, expected) in cases {
                let text = alloc::format!("{prose}{middle}{prose}");
                let expected = expected.map(|e| {
                    if e == REDACTED {
                        String::from(REDACTED)
                    } else {
                        alloc::format!("{prose}{e}{prose}")
                    }
                });
                assert_eq!(
                    redactor.redact_text(&text, Level::BODY),
                    expected,
                    "{middle}"
                );
            }
            assert_eq!(redactor.redact_text(&prose, Level::BODY), None);
        }
    }

    #[test]
    fn urls_lose_userinfo_passwords_and_secret_query_values() {
        let r = Redactor::without_credentials();
        let cases = [
            (
                "https://hooks.example.com/did?token=abc123&x=1",
                "https://hooks.example.com/did?token=[REDACTED]&x=1",
            ),
            (
                "https://user:pa:ss@h.example/p",
                "https://user:[REDACTED]@h.example/p",
            ),
            (
                "see https://u:p@h/x?Api_Key=k#frag now",
                "see https://u:[REDACTED]@h/x?Api_Key=[REDACTED]#frag now",
            ),
            ("a=1&ACCESS-TOKEN=zz", "a=1&ACCESS-TOKEN=[REDACTED]"),
            ("sig=1", "sig=[REDACTED]"),
            ("https://h/x?page=2&kind=a", "https://h/x?page=2&kind=a"),
            ("https://user@h/x", "https://user@h/x"),
            ("e=mc2, x=y", "e=mc2, x=y"),
            // As PHP's `json_encode` writes a URL by default, in a text that stays text.
            (
                r"retry https:\/\/bob:s3cr%2Ft@hooks.example\/did?x=1 later",
                r"retry https:\/\/bob:[REDACTED]@hooks.example\/did?x=1 later",
            ),
            (
                r"url: https:\/\/u:p@h and https://v:q@h2/",
                r"url: https:\/\/u:[REDACTED]@h and https://v:[REDACTED]@h2/",
            ),
            (
                r"see https:\/\/h.example\/a:b@c",
                r"see https:\/\/h.example\/a:b@c",
            ),
            (r"a:\/ b:\/\/", r"a:\/ b:\/\/"),
        ];
        for (input, expected) in cases {
            assert_eq!(redacted(json!(input), &r), json!(expected), "{input}");
        }
    }

    #[test]
    fn a_configured_token_parameter_is_secret_whatever_its_name_and_the_token_s_length() {
        let mut credentials = crate::Credentials::default();
        credentials.url_token = alloc::vec![crate::credentials::Secret::new("k7Qp2")];
        credentials.url_token_param = Some("k".to_string());
        let r = Redactor::new(&credentials);
        let cases = [
            (
                "https://h.example/did?src=did&k=k7Qp2",
                "https://h.example/did?src=did&k=[REDACTED]",
            ),
            (
                "https://h.example/did?%6B=k7Qp2&v=2",
                "https://h.example/did?%6B=[REDACTED]&v=2",
            ),
            // Another parameter, and the short token elsewhere in prose, are left alone.
            (
                "https://h.example/did?kk=1&K=2",
                "https://h.example/did?kk=1&K=2",
            ),
            ("code k7Qp2", "code k7Qp2"),
        ];
        for (input, expected) in cases {
            assert_eq!(redacted(json!(input), &r), json!(expected), "{input}");
        }
        // Without the configured name, `k` is no secret's name.
        let plain = Redactor::without_credentials();
        let url = "https://h.example/did?src=did&k=k7Qp2";
        assert_eq!(redacted(json!(url), &plain), json!(url));
    }

    #[test]
    fn keys_match_whatever_their_case_and_style() {
        let r = Redactor::without_credentials();
        let value = json!({"wireless_pin": "1", "wirelessPin": 2, "WIRELESS-PIN": "3", "Inbox Pin": "4",
            "api_password": "5", "pinned": "keep", "pin": null, "nested": [{"Secret": {"a": 1}}]});
        assert_eq!(
            redacted(value, &r),
            json!({"wireless_pin": REDACTED, "wirelessPin": REDACTED, "WIRELESS-PIN": REDACTED,
                "Inbox Pin": REDACTED, "api_password": REDACTED, "pinned": "keep", "pin": null,
                "nested": [{"Secret": REDACTED}]})
        );
    }

    #[test]
    fn json_inside_strings_is_redacted_at_any_depth_and_untouched_otherwise() {
        let r = Redactor::without_credentials();
        let inner = json!({"url": "https://h/?token=t1", "pin": "9"}).to_string();
        let middle = json!({"data": inner, "keep": 1}).to_string();
        let out = redacted(json!({ "outer": middle }), &r);
        let middle: Value = serde_json::from_str(out["outer"].as_str().unwrap()).unwrap();
        let inner: Value = serde_json::from_str(middle["data"].as_str().unwrap()).unwrap();
        assert_eq!(
            inner,
            json!({"url": "https://h/?token=[REDACTED]", "pin": REDACTED})
        );
        // Nothing secret: the string stays byte for byte as it was.
        let plain = "{ \"a\" : 1 }";
        assert_eq!(redacted(json!(plain), &r), json!(plain));
    }

    /// A nested JSON text holding an escaped lone surrogate (a JavaScript or Python sender's
    /// `JSON.stringify`/`json.dumps` of a text cut mid-emoji) was not read as JSON, so its
    /// secret-named keys kept their values.
    #[test]
    fn json_inside_strings_with_a_lone_surrogate_escape_is_redacted_by_its_keys() {
        let r = Redactor::without_credentials();
        let out = redacted(
            json!({"meta": r#"{"password":"hunter2","x":"\ud83d"}"#}),
            &r,
        );
        assert_eq!(
            out,
            json!({"meta": "{\"password\":\"[REDACTED]\",\"x\":\"\u{fffd}\"}"})
        );
        let mut body = json!({"type": "update", "schema": "dids",
            "data": r#"{"wireless_pin":"1234","name":"Caf\u00e9 \udc00"}"#});
        Redactor::new(&crate::Credentials::default())
            .with_keys(&["wireless_pin"])
            .redact_decoding(&mut body, "data");
        assert_eq!(
            body["data"],
            json!({"wireless_pin": REDACTED, "name": "Caf\u{e9} \u{fffd}"})
        );
    }

    /// Maps written by something other than a JSON writer, and JSON no parser here reads: no
    /// key rule could apply to them, so one naming a secret goes whole (a consumer's own
    /// reader, `json.loads` of `NaN` or Python's `ast.literal_eval`, would show the value).
    #[test]
    fn json_encoded_twice_or_escaped_once_too_many_is_redacted_as_the_json_inside() {
        let mut credentials = crate::Credentials::default();
        credentials.bearer = alloc::vec![crate::credentials::Secret::new("lt-bearer-9f8e")];
        let r = Redactor::new(&credentials);
        let inner = json!({"password": "hunter2", "url": "https://h.example/x?token=abc&v=1",
            "note": "lt-bearer-9f8e", "city": "Denver"});
        let once = inner.to_string();
        let twice = serde_json::to_string(&once).unwrap();
        let thrice = serde_json::to_string(&twice).unwrap();
        let redacted_inner =
            json!({"password": REDACTED, "url": "https://h.example/x?token=[REDACTED]&v=1",
            "note": REDACTED, "city": "Denver"})
            .to_string();
        let redacted_twice = serde_json::to_string(&redacted_inner).unwrap();
        let escaped_inside = |text: &str| text[1..text.len() - 1].to_string();
        let cases = [
            // A string holding a JSON string that holds JSON (serialized twice).
            (twice.clone(), redacted_twice.clone()),
            // Three times.
            (
                thrice.clone(),
                serde_json::to_string(&redacted_twice).unwrap(),
            ),
            // The inside of such a string, escapes and all (escaped once too many): its keys are
            // judged as the text stands first, as a map's, so one named like a secret takes it whole.
            (escaped_inside(&twice), REDACTED.to_string()),
            // Encoded twice, then escaped once too many: the inside of a string holding the
            // text `twice` (a review found its key went out as sent).
            (
                escaped_inside(&thrice),
                escaped_inside(&serde_json::to_string(&redacted_twice).unwrap()),
            ),
            // A quoted query, a quoted URL.
            (
                r#""password=abc&x=1""#.to_string(),
                r#""password=[REDACTED]&x=1""#.to_string(),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(redacted(json!(input), &r), json!(expected), "{input}");
        }
        // A Python map escaped once too many holds no `\"`, and its `\'` then reads as `\\` and a
        // quote, which closes its strings elsewhere (found by the fuzz target).
        let python = r#"{'a\'b': None, 'password': 'hunter2'}"#;
        let python_escaped = escaped_inside(&serde_json::to_string(python).unwrap());
        assert!(!python_escaped.contains("\\\""), "{python_escaped}");
        assert_eq!(redacted(json!(python_escaped), &r), json!(REDACTED));
        // Read again as an escaped string's inside, a Python key ending in `\\` escapes its own
        // closing quote; the text as it stands is judged first (found by the fuzz target).
        let python_key = r#"{'k-lt-bearer-9f8e\\': {'password': 'hunter2'}}"#;
        let python_twice = serde_json::to_string(python_key).unwrap();
        assert_eq!(redacted(json!(python_twice), &r), json!("\"[REDACTED]\""));
        assert_eq!(
            redacted(json!(escaped_inside(&python_twice)), &r),
            json!(REDACTED)
        );
        // Quoted texts with nothing secret inside, and quotes that open no JSON string, stay.
        for kept in [
            r#""Your PIN: 1234""#,
            r#""{Acme} your PIN: 1234""#,
            r#""hello" she said, pin 12"#,
            r#""{\"city\":\"Denver\"}""#,
            r#"{\"city\":\"Denver\"}"#,
        ] {
            assert_eq!(redacted(json!(kept), &r), json!(kept), "{kept}");
        }
        // A text escaped once too many that keys a secret but no longer reads as JSON inside
        // still goes whole by the map rule.
        assert_eq!(
            redacted(json!(r#"{\"password\":\"x\", NaN}"#), &r),
            json!(REDACTED)
        );
    }

    #[test]
    fn maps_that_are_not_json_go_whole_when_a_key_names_a_secret() {
        let r = Redactor::without_credentials();
        for text in [
            r#"{"password":"hunter2","x":NaN}"#,
            r#"{"password":"hunter2","x":1e400}"#,
            r#"[{"a":1},{"api_key" : "hunter2"}, Infinity]"#,
            r#"{"user":"bob","password":"hunt"#,
            "{'user': 'bob', 'password': 'hunter2'}",
            "{'note': \"it's\", 'Wireless-PIN': '1234'}",
            r#"{"user"=>"bob", "password"=>"hunter2"}"#,
            "{user=bob, password=hunter2}",
            "{cfg={password=hunter2}}",
            "  [(token=hunter2)]",
            r#"{"a": "x\"", "password": 1, 'b}"#,
            // Ruby's symbol keys, before 3.4 and since; Node's util.inspect; .NET; PHP's `\/`.
            r#"{:user=>"bob", :password=>"hunter2"}"#,
            r#"{password: "hunter2"}"#,
            "{ user: 'bob', password: 'hunter2' }",
            "{ Password = hunter2 }",
            r#"{"api\/token": "x", "y": NaN}"#,
            "{note=it's fine, passWord=hunter2}",
            "{note=:), x-api-key=hunter2}",
            "{'user': 'bob', 'wirelessPin': '1234'",
            // Second review: Go's %+v, logfmt and pairs a line, `;` (Objective-C, Nix),
            // Clojure's keywords, names in one word (as JSON keys are read), an unclosed group.
            "{User:bob Password:hunter2}",
            "[{User:bob URL:http://h/x Password:hunter2}]",
            "[user=bob password=hunter2]",
            "{user: bob\npassword: hunter2}",
            "{\n    user = bob;\n    password = hunter2;\n}",
            r#"{:user "bob", :password "hunter2"}"#,
            r#"{:user "bob" :password "hunter2"}"#,
            "{'username': 'bob', 'newpassword': 'hunter2'}",
            "{'user':'bob','ACCESSTOKEN':'abc'}",
            "{'spin': 1, 'Chopin': 2}",
            "[Acme, PIN: 1234] Welcome",
            "[Bank Your PIN=1234",
            // Third review: an empty value before the key.
            "{User: Password:hunter2}",
            "[user= password=hunter2]",
            "{user:\npassword: hunter2}",
            "{ID:1 Note: Secret:abc}",
        ] {
            let out = redacted(json!({ "meta": text }), &r);
            assert_eq!(out, json!({ "meta": REDACTED }), "{text}");
        }
        for text in [
            "[Bank] Your PIN: 1234",
            "{Hi} your pin: 1234, token: ok",
            "{'user': 'bob', 'pinned': True}",
            r#"{"password" is "hunter2"}"#,
            "{a=1, b=2}",
            "[pin]",
            "{=password}",
            // Prose after a bracketed group, found in review: only the first group counts.
            "[Bank] Your PIN=1234",
            "[Bank] Your pin=1234. Do not share.",
            "[Bank] Your \"PIN\": 1234",
            "[Bank] Your 'PIN': 1234",
            "{name}, your PIN=1234",
            "[Acme](pin=1234)",
            "[1/2] Your reset password=Xy12ab",
            "[Acme] Spin=win! Reply YES",
            "[Acme] 'Hairpin': bend ahead",
            "[Acme] It's done. Your 'new PIN': 4321",
            "[12:30] Acme: your card is locked, PIN: 4821 unlocks it",
            "[09:41] Reminder (PIN: 4821)",
            "[Ref: 55123] Your card was blocked (PIN: 9911)",
            "[ALERT: Acme Bank] New login. Not you? Reset, password: Temp-8812",
            "[Acme: OTP] Use 482910 to log in (pin=482910). Do not share.",
            "[https://acme.example/r/abc] Your login code, PIN: 1234",
            "[14:02:33] Door code changed, pin=4455",
            "[Wifi: Guest] Network name Guest, password: Summer2024!",
            "{Name: Bob} your new pin, pin: 1234",
            "{{name}}, your token: abc",
            "[1/2] Your code is 1234, pin: 9",
        ] {
            let out = redacted(json!({ "meta": text }), &r);
            assert_eq!(out, json!({ "meta": text }), "{text}");
        }
        // A JSON text that reads keeps its own rules: the value alone.
        let out = redacted(json!({"meta": r#"{"password":"hunter2"}"#}), &r);
        assert_eq!(out, json!({"meta": "{\"password\":\"[REDACTED]\"}"}));
    }

    /// A map quoted in prose (an upstream's answer in an error text, a log line) keys a secret
    /// as a map text does: the text goes whole. Its `{` groups are read, the prose between
    /// them is not.
    #[test]
    fn maps_quoted_in_prose_go_whole_when_a_key_names_a_secret() {
        let r = Redactor::without_credentials();
        for text in [
            "saw {'password': 'hunter2'}",
            r#"Callback failed (401): {"error":"denied","api_key":"hunter2"}"#,
            r#"log: {"password":"hunter2"} trailing"#,
            // JSON encoded twice, or escaped once too many, with text around it.
            r#""{\"password\":\"hunter2\"}" and more"#,
            r#"prefix "{\"password\":\"hunter2\"}""#,
            r#"at 12:30 {\"token\":\"hunter2\"}"#,
            r#"{\'user\': \'bob\', \'password\': \'hunter2\'} in a log"#,
            r#"in a log: {\'user\': \'bob\', \'password\': \'hunter2\'}"#,
            // Encoded twice after prose that opens with a bracket, a `}` in a string (found by
            // the fuzz target).
            r#"[12:30] upstream said "{\"note\":\"a}b\",\"password\":\"hunter2\"}" (retrying)"#,
            r#"said "{\"a\":1}", then "{\"note\":\"a}b\",\"token\":\"hunter2\"}""#,
            // Escaped once too many, a `}` in a string (found by the fuzz target).
            r#"failed: {:note=>\"a}b\", :password=>\"hunter2\"} (retrying)"#,
            // After a first group that keys nothing, in a text opening with a bracket or not.
            r#"{ts} {"password":"hunter2"}"#,
            "[Bank] see {token=hunter2}",
            "Hi {name}, your config {cfg={password=hunter2}}",
            // The key `password\` (no JSON): read as escaped once too many, it names a secret.
            "{'password\\': 1",
            r#"{:user=>"bob"} then {:password=>"hunter2"}"#,
            // Cut short in prose: a group that opens as a map counts though it never closes.
            r#"failed: {"user":"bob","password":"hunter2"#,
            "failed: { 'password': 'hunt",
            // PHP's var_dump, its keys in brackets (a review).
            r#"PHP var_dump: object(stdClass)#1 (1) { ["password"]=> string(10) "hunter2xyz" }"#,
            r#"array(1) { ["password"]=> string(10) "hunter2xyz" }"#,
        ] {
            let out = redacted(json!({ "meta": text }), &r);
            assert_eq!(out, json!({ "meta": REDACTED }), "{text}");
        }
        for text in [
            "Hi {name}, your PIN: 1234",
            "Use {code} as your password: it expires",
            "{a} {b} {c} pin=1234",
            "[Acme] {Win: big}, your pin: 12",
            "password: hunter2",
            "text with an unclosed { 'password': 'x' quote",
            // A review: a `{` in a message that never closes is prose, not a map.
            "Dear {{customer_name}, your PIN: 4821",
            "Dear {customer_name, your PIN: 4821",
            "Hi {name), your PIN: 4821",
            "Sad :{ call me. Card PIN: 4821",
            "Miss you :-{ btw new wifi password: sunflower22",
            "}{ hugs! The door pin: 4821",
            "Hi! :) {hug Your PIN=4821",
            "msg {a} \\{b pin: 4821",
        ] {
            let out = redacted(json!({ "meta": text }), &r);
            let expected = if text.contains("unclosed") {
                REDACTED
            } else {
                text
            };
            assert_eq!(out, json!({ "meta": expected }), "{text}");
        }
    }

    /// The prose rule reads each byte a bounded number of times: many groups, and quotes that
    /// never close, take time linear in the text.
    #[test]
    fn maps_quoted_in_prose_are_read_in_linear_time() {
        let r = Redactor::without_credentials();
        for unit in [
            "{a} ",
            "{'a} ",
            "{\"a ",
            "{ x: '",
            "x {",
            "\"{\\\"a\\\":1}\" ",
            "{\\\" ",
        ] {
            let text = alloc::format!("note {}", unit.repeat(200_000));
            let out = redacted(json!({ "meta": text.clone() }), &r);
            assert_eq!(out, json!({ "meta": text }), "{unit}");
        }
    }

    /// A configured value quoted inside a JSON string that stays text spells `/` as `\/` (PHP)
    /// and `"` as `\"`: those forms are redacted too.
    #[test]
    fn a_configured_value_escaped_as_json_writes_it_is_redacted() {
        let mut credentials = crate::Credentials::default();
        credentials.url_token = alloc::vec![crate::credentials::Secret::new("s3cr/t-\"val\"-99")];
        let r = Redactor::new(&credentials);
        for text in [
            r#"x s3cr\/t-\"val\"-99 y"#,
            r#"x s3cr/t-\"val\"-99 y"#,
            "x s3cr/t-\"val\"-99 y",
        ] {
            let out = redacted(json!({ "meta": text }), &r);
            assert_eq!(out, json!({ "meta": "x [REDACTED] y" }), "{text}");
        }
    }

    /// JSON text keeps every repeated key; its parse keeps the last, and the rules read the
    /// parse. A secret under a shadowed key stayed in the text as sent (the first two cases
    /// found in review, the rest by a reviewer's variant of the redaction fuzz target).
    #[test]
    fn json_inside_strings_never_keeps_a_shadowed_secret() {
        let r = Redactor::without_credentials();
        for (text, expected) in [
            (
                r#"{"password":"hunter2","password":null}"#,
                r#"{"password":null}"#,
            ),
            (
                r#"{"a":[{"pin":"1234","pin":"[REDACTED]"}]}"#,
                r#"{"a":[{"pin":"[REDACTED]"}]}"#,
            ),
            (
                r#"{"cfg":{"password":"hunter2"},"cfg":{}}"#,
                r#"{"cfg":{}}"#,
            ),
            (
                r#"{"u":"https://bob:hunter2@h.example/","u":null}"#,
                r#"{"u":null}"#,
            ),
            (
                r#"{"url":"https://x.example/cb?token=S3cret","url":"ok"}"#,
                r#"{"url":"ok"}"#,
            ),
            (
                r#"{"note":"{\"password\":\"hunter2\"}","note":1}"#,
                r#"{"note":1}"#,
            ),
            (
                r#"{"":{"password":"hunter2"},"o":0,"":null}"#,
                r#"{"":null,"o":0}"#,
            ),
        ] {
            assert_eq!(
                redacted(json!({ "meta": text }), &r),
                json!({ "meta": expected }),
                "{text}"
            );
        }
        // No repeated key and nothing secret: kept byte for byte.
        let plain = r#"{"a": 1, "b": {"a": 2}, "c": [{"a": 3}, {"a": 4}]}"#;
        assert_eq!(
            redacted(json!({ "meta": plain }), &r),
            json!({ "meta": plain })
        );
    }

    /// Found by the `redaction` fuzz target: the value as a key of JSON nested in a string.
    #[test]
    fn re_encoded_json_never_spells_a_configured_value_out_of_an_escape() {
        let credentials = crate::Credentials::none().with_url_token("fz-URL-token-5e2a");
        let redactor = Redactor::new(&credentials);
        // A form feed before the token's tail: no configured value in the decoded text, but
        // re-encoding the changed JSON writes `\f` + `z-URL…`, which spells the token.
        let nested = "{\"password\":\"p\",\"\\u000cz-URL-token-5e2an\":1}";
        let out = redacted(Value::String(nested.into()), &redactor);
        let text = serde_json::to_string(&out).unwrap();
        assert!(!text.contains("fz-URL-token-5e2a"), "{text}");
        assert!(
            !out.as_str().unwrap().contains("fz-URL-token-5e2a"),
            "{out}"
        );
        // Nothing else to redact in it: the text as received spells the token all the same.
        let unchanged = "{\"a\":\"\\fz-URL-token-5e2an\"}";
        let out = redacted(Value::String(unchanged.into()), &redactor);
        assert_eq!(out, Value::String(REDACTED.into()));
    }

    #[test]
    fn keys_that_quote_a_configured_value_are_rewritten() {
        let credentials = crate::Credentials::none().with_url_token("fz-URL-token-5e2a");
        let r = Redactor::new(&credentials);
        let nested = r#"{"\u02fdfz-URL-token-5e2ag":"","k":{"https://u:p@h/":1}}"#;
        let out = redacted(json!({ "data": nested, "fz-URL-token-5e2a": 2 }), &r);
        let expected_data = "{\"k\":{\"https://u:[REDACTED]@h/\":1},\"\u{2fd}[REDACTED]g\":\"\"}";
        assert_eq!(out, json!({"data": expected_data, "[REDACTED]": 2}));
    }

    #[test]
    fn a_provider_s_declared_keys_are_redacted_in_any_style() {
        let body =
            json!({"account_number": "ACCT-1", "accountNumber": "ACCT-2", "wireless_pin": "4321"});
        let generic = redacted(body.clone(), &Redactor::without_credentials());
        assert_eq!(generic["account_number"], "ACCT-1");
        assert_eq!(generic["wireless_pin"], REDACTED);
        let declared = redacted(
            body,
            &Redactor::without_credentials().with_keys(&["account_number"]),
        );
        assert_eq!(
            declared,
            json!({"account_number": REDACTED, "accountNumber": REDACTED, "wireless_pin": REDACTED})
        );
    }

    #[test]
    fn configured_values_are_replaced_wherever_they_appear() {
        let credentials = crate::Credentials::none()
            .with_url_token("tok/en+1")
            .with_basic("hook", "pa ss-word");
        let r = Redactor::new(&credentials);
        assert_eq!(
            redacted(
                json!([
                    "x tok/en+1 y",
                    "tok%2Fen%2B1",
                    "pa ss-word!",
                    "aG9vazpwYSBzcy13b3Jk"
                ]),
                &r
            ),
            json!(["x [REDACTED] y", REDACTED, "[REDACTED]!", REDACTED])
        );
    }
}
