//! Reading a verified payload's fields without ever refusing it for their shape.
//!
//! Authenticity is the only gate: once a request is verified, a field of an unexpected type,
//! a documented-optional field that is missing or a new event type with a new shape must not
//! make telhook refuse the event — a refusal makes the provider retry and then drop a real
//! event (Lisoloo drops it on the first 4xx). So every provider reads its payload through a
//! [`Fields`] reader instead of a strict typed deserialization: a field that is absent or
//! `null` reads as `None`; a field that is present but cannot be read into its typed place
//! (a string where an object belongs, an unparseable time, an address that is no address)
//! reads as `None` *and* is listed in the event's `unread_fields`, while `raw` keeps it.

use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde_json::{Map, Value};

use crate::phone;

/// A reader over one payload that remembers which present fields it could not read.
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    root: &'a Value,
    /// Where paths start: the root, or the object that [`Fields::within`] is reading.
    base: &'a Value,
    /// The path of `base` from the root (empty at the root): unread fields are always named
    /// from the root.
    prefix: &'static str,
    /// In the order met (the event lists them so), repeats included: they are dropped once,
    /// by [`Fields::into_unread`]. Searching the list at each mark made a body of many
    /// unreadable fields quadratic (a review: a Telnyx `to` of 8,000 numbers, 64 KiB, 4.7 s).
    unread: Vec<String>,
    /// The keys of `base`, where every lookup starts.
    base_keys: KeyIndex<'a>,
}

/// The keys of a small object, each held as its length and first 8 bytes, so a lookup is a
/// scan of machine words instead of `BTreeMap::get`'s chain of libc `memcmp` calls: those
/// lookups were 10.8 % of a LimePhone call's wall-clock time (perf, bench/PROFILE.md's
/// twenty-seventh session). Built without allocating; an object of more than
/// [`KeyIndex::CAPACITY`] keys is not indexed, and its lookups go to the map.
#[derive(Debug)]
struct KeyIndex<'a> {
    len: usize,
    keys: [IndexedKey<'a>; KeyIndex::CAPACITY],
}

#[derive(Debug, Clone, Copy)]
struct IndexedKey<'a> {
    head: u64,
    name: &'a str,
    value: &'a Value,
}

impl<'a> KeyIndex<'a> {
    const CAPACITY: usize = 12;

    fn of(value: &'a Value) -> Self {
        let unused = IndexedKey {
            head: 0,
            name: "",
            value: &Value::Null,
        };
        let mut index = KeyIndex {
            len: 0,
            keys: [unused; KeyIndex::CAPACITY],
        };
        if let Value::Object(map) = value {
            if map.len() <= KeyIndex::CAPACITY {
                for (slot, (name, value)) in index.keys.iter_mut().zip(map) {
                    *slot = IndexedKey {
                        head: head(name.as_bytes()),
                        name,
                        value,
                    };
                }
                index.len = map.len();
            }
        }
        index
    }

    /// `None` when the object is not indexed; `Some(None)` when it has no such key.
    fn get(&self, key: &str) -> Option<Option<&'a Value>> {
        if self.len == 0 {
            return None;
        }
        let (wanted, len) = (head(key.as_bytes()), key.len());
        let found = self.keys.iter().take(self.len).find(|entry| {
            entry.head == wanted && entry.name.len() == len && (len <= 8 || entry.name == key)
        });
        Some(found.map(|entry| entry.value))
    }
}

/// Where the first `.` of a path is, 8 bytes at a time: a byte-at-a-time search's exit
/// branch, mispredicted on every key, was a fifth of [`Fields::value`]'s time (perf).
fn first_dot(path: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const DOTS: u64 = u64::from_le_bytes([b'.'; 8]);
    let mut searched = 0;
    for chunk in path.chunks(8) {
        // A zero byte where the word had a dot; padding (0) never becomes zero. The lowest
        // flagged byte is exact (borrows only flag bytes above a true zero).
        let word = head(chunk) ^ DOTS;
        let flagged = word.wrapping_sub(ONES) & !word & HIGHS;
        if flagged != 0 {
            return Some(searched + (flagged.trailing_zeros() / 8) as usize);
        }
        searched += 8;
    }
    None
}

/// The first 8 bytes of `bytes` (fewer, zero-padded, for a shorter slice) as one
/// little-endian word, read as at most two overlapping loads: a byte loop, or a copy into a
/// zeroed array (a `memcpy` call read back at once, a store-forwarding stall), cost more than
/// the lookup it serves (perf, callgrind).
fn head(bytes: &[u8]) -> u64 {
    if let Some(first) = bytes.first_chunk::<8>() {
        return u64::from_le_bytes(*first);
    }
    if let (Some(low), Some(high)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        // 4 to 7 bytes: the two loads overlap, and the bytes they share agree.
        let high = u64::from(u32::from_le_bytes(*high)) << ((bytes.len() - 4) * 8);
        return u64::from(u32::from_le_bytes(*low)) | high;
    }
    match *bytes {
        [a] => u64::from(a),
        [a, b] => u64::from(a) | (u64::from(b) << 8),
        [a, b, c] => u64::from(a) | (u64::from(b) << 8) | (u64::from(c) << 16),
        _ => 0,
    }
}

impl<'a> Fields<'a> {
    pub fn new(root: &'a Value) -> Self {
        Fields {
            root,
            base: root,
            prefix: "",
            unread: Vec::new(),
            base_keys: KeyIndex::of(root),
        }
    }

    /// Runs `read` with paths relative to the object at `path` (from the root), so a provider
    /// that reads several fields of one nested object walks to it once, not once a field
    /// (callgrind: ~100 instructions a level). Read as the full paths would be: an absent or
    /// `null` object makes every field `None`; one that is no object is listed as unread.
    pub fn within<T>(&mut self, path: &'static str, read: impl FnOnce(&mut Self) -> T) -> T {
        let base = self.object_at(path).unwrap_or(&Value::Null);
        self.enter(base, path, read)
    }

    /// [`Fields::within`] when `path` holds an object; `None` (and nothing read) when not.
    pub fn within_object<T>(
        &mut self,
        path: &'static str,
        read: impl FnOnce(&mut Self) -> T,
    ) -> Option<T> {
        let base = self.object_at(path)?;
        Some(self.enter(base, path, read))
    }

    /// Runs `read` with paths from the root again, inside [`Fields::within`].
    pub fn outside<T>(&mut self, read: impl FnOnce(&mut Self) -> T) -> T {
        self.enter(self.root, "", read)
    }

    fn object_at(&mut self, path: &'static str) -> Option<&'a Value> {
        debug_assert!(
            self.prefix.is_empty(),
            "nested objects are read from the root"
        );
        self.read(path, |value| value.is_object().then_some(value))
    }

    fn enter<T>(
        &mut self,
        base: &'a Value,
        path: &'static str,
        read: impl FnOnce(&mut Self) -> T,
    ) -> T {
        let outer = (
            core::mem::replace(&mut self.base, base),
            core::mem::replace(&mut self.prefix, path),
            core::mem::replace(&mut self.base_keys, KeyIndex::of(base)),
        );
        let read = read(self);
        (self.base, self.prefix, self.base_keys) = outer;
        read
    }

    /// The value at a dotted path (`data.error_code`, `payload.to.0.status`: a number indexes
    /// an array); `None` when it or a parent is absent or `null`. A parent that is present but
    /// neither an object nor (for a number) an array is listed as unread.
    pub fn value(&mut self, path: &str) -> Option<&'a Value> {
        // Most reads name one key of `base`: answered from its index, without the walk.
        if first_dot(path.as_bytes()).is_none() {
            if let Some(found) = self.base_keys.get(path) {
                return found.filter(|value| !value.is_null());
            }
        }
        let mut current = self.base;
        let mut walked = 0;
        let mut rest = Some(path);
        // Split by words, not `str::split`: its char searcher cost ~100 instructions a
        // segment, more than the lookup (callgrind, GatewayAPI's dotted paths).
        while let Some(remaining) = rest {
            let (key, tail) = match first_dot(remaining.as_bytes()) {
                Some(dot) => {
                    let (key, tail) = remaining.split_at(dot);
                    (key, tail.get(1..))
                }
                None => (remaining, None),
            };
            rest = tail;
            let index = match current {
                Value::Array(items) => key.parse::<usize>().ok().map(|i| items.get(i)),
                _ => None,
            };
            if let Some(item) = index {
                current = item?;
                walked += key.len() + 1;
                continue;
            }
            let map = match current {
                Value::Object(map) => map,
                Value::Null => return None,
                _ => {
                    let parent = path.get(..walked.max(1) - 1).unwrap_or(path);
                    if !parent.is_empty() {
                        self.mark_unread(parent);
                    }
                    return None;
                }
            };
            let indexed = if core::ptr::eq(current, self.base) {
                self.base_keys.get(key)
            } else {
                None
            };
            current = match indexed {
                Some(found) => found?,
                None => map.get(key)?,
            };
            walked += key.len() + 1;
        }
        (!current.is_null()).then_some(current)
    }

    /// True when the path holds a value (not `null`), whatever its type.
    pub fn has(&mut self, path: &str) -> bool {
        self.value(path).is_some()
    }

    /// Lists `path` as present but unreadable.
    pub fn mark_unread(&mut self, path: &str) {
        let named = if self.prefix.is_empty() {
            String::from(path)
        } else {
            alloc::format!("{}.{path}", self.prefix)
        };
        // Marked again right away (a field read twice in a row): not kept twice.
        if self.unread.last() != Some(&named) {
            self.unread.push(named);
        }
    }

    /// Reads `path` with `read`; a present value that `read` rejects is listed as unread.
    fn read<T>(&mut self, path: &str, read: impl FnOnce(&'a Value) -> Option<T>) -> Option<T> {
        let value = self.value(path)?;
        let read = read(value);
        if read.is_none() {
            self.mark_unread(path);
        }
        read
    }

    /// A string.
    pub fn text(&mut self, path: &str) -> Option<&'a str> {
        self.read(path, Value::as_str)
    }

    /// An object.
    pub fn object(&mut self, path: &str) -> Option<&'a Map<String, Value>> {
        self.read(path, Value::as_object)
    }

    /// An array.
    pub fn array(&mut self, path: &str) -> Option<&'a Vec<Value>> {
        self.read(path, Value::as_array)
    }

    /// An identifier or code that providers send as a string or as an integer (GatewayAPI's
    /// `id`, Lisoloo's `error_code`): its text. A whole-number float reads as the integer.
    pub fn id(&mut self, path: &str) -> Option<String> {
        self.read(path, |value| match value {
            Value::String(text) if !text.is_empty() => Some(text.clone()),
            Value::Number(_) => whole_number(value).map(|n| n.to_string()),
            _ => None,
        })
    }

    /// A non-negative whole number (a count, a duration in seconds), sent as a JSON number or
    /// as its decimal text: form bodies carry only text (Twilio's `NumMedia` and `CallDuration`,
    /// TeXML's), and Vonage's Voice API sends `duration` as a string. Empty text is absent, not
    /// unread: a form parameter with no value (`FromCity=`).
    pub fn count(&mut self, path: &str) -> Option<u64> {
        let value = self.value(path)?;
        let count = match value {
            Value::String(text) if text.trim().is_empty() => return None,
            Value::String(text) => text.trim().parse::<u64>().ok(),
            _ => whole_number(value).and_then(|n| u64::try_from(n).ok()),
        };
        if count.is_none() {
            self.mark_unread(path);
        }
        count
    }

    /// A timestamp in any form [`crate::time::parse_value`] reads, as RFC 3339 UTC.
    pub fn time(&mut self, path: &'static str) -> Option<String> {
        self.read(path, |value| {
            crate::time::parse_value(value, path).ok().flatten()
        })
    }

    /// A phone number (text, or digits sent as a JSON integer) in E.164.
    pub fn phone(&mut self, path: &str) -> Option<String> {
        self.read(path, |value| phone::to_e164(&address_text(value)?, None))
    }

    /// A message address: a phone number in E.164, else a short code or an alphanumeric
    /// sender as sent ([`phone::message_address`]).
    pub fn message_address(&mut self, path: &str) -> Option<String> {
        self.read(path, |value| phone::message_address(&address_text(value)?))
    }

    /// A call's party: a phone number in E.164, else `None` (marked unread). A withheld caller
    /// (`anonymous`, `restricted`, Vonage's `unknown`), a SIP URI or an app user's name is no
    /// number, and no sender ID either (those are a message's): every provider's call gives
    /// `null` there, as Twilio's does (a review: Telnyx and Vonage gave `"anonymous"`). A SIP
    /// URI's user part is only read on a provider's own SIP domain ([`phone::call_party`]).
    pub fn call_party(&mut self, path: &str) -> Option<String> {
        self.read(path, |value| phone::call_party(&address_text(value)?, None))
    }

    /// The paths that were present but could not be read, each once, in the order first met.
    pub fn into_unread(self) -> Vec<String> {
        let mut unread = self.unread;
        if unread.len() < 2 {
            return unread;
        }
        // Sorted by name then by when met, a repeat follows its first mark: n log n.
        let mut repeat = alloc::vec![false; unread.len()];
        for pair in sorted_names(unread.iter().map(String::as_str)).windows(2) {
            if let [(name, _), (again, later)] = *pair {
                if name == again {
                    if let Some(flag) = repeat.get_mut(later) {
                        *flag = true;
                    }
                }
            }
        }
        let mut index = 0;
        unread.retain(|_| {
            let keep = !repeat.get(index).copied().unwrap_or(false);
            index += 1;
            keep
        });
        unread
    }
}

/// `names` with their positions, sorted by name, then position: the one sort every check for
/// repeated names shares. Each sort of another element type or order is another copy of the
/// sort's code in the wasm module (four of them made it 19.7 KB larger gzipped).
pub(crate) fn sorted_names<'n>(names: impl Iterator<Item = &'n str>) -> Vec<(&'n str, usize)> {
    let mut sorted: Vec<(&str, usize)> = names.enumerate().map(|(i, name)| (name, i)).collect();
    sorted.sort_unstable();
    sorted
}

/// A JSON integer, or a float with a whole value (`1616404260.0`), as `i64`.
pub(crate) fn whole_number(value: &Value) -> Option<i64> {
    crate::event::whole_number(value.as_number()?)
}

/// An address as text: a string (borrowed), or the digits of a non-negative JSON integer.
fn address_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(text) => Some(Cow::Borrowed(text)),
        Value::Number(_) => u64::try_from(whole_number(value)?)
            .ok()
            .map(|n| Cow::Owned(n.to_string())),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn present_but_unreadable_fields_are_listed_once_absent_and_null_ones_never() {
        let body: Value = serde_json::from_str(
            r#"{"a":"x","n":12,"f":1616404260.0,"o":{"k":1},"s":"str","z":null,"neg":-1}"#,
        )
        .unwrap();
        let mut fields = Fields::new(&body);
        assert_eq!(fields.text("a"), Some("x"));
        assert_eq!(fields.text("n"), None);
        assert_eq!(fields.id("n").as_deref(), Some("12"));
        assert_eq!(fields.id("f").as_deref(), Some("1616404260"));
        assert_eq!(fields.count("neg"), None);
        assert_eq!(fields.text("missing"), None);
        assert_eq!(fields.text("z"), None);
        assert_eq!(fields.text("o.k"), None);
        assert_eq!(fields.id("o.k").as_deref(), Some("1"));
        assert_eq!(fields.text("s.k"), None);
        assert_eq!(fields.text("s.k"), None);
        assert_eq!(fields.time("f").as_deref(), Some("2021-03-22T09:11:00Z"));
        assert_eq!(fields.into_unread(), ["n", "neg", "o.k", "s"]);
        let body: Value =
            serde_json::from_str(r#"{"to":[{"n":"+1"},7],"o":{"0":"zero"}}"#).unwrap();
        let mut fields = Fields::new(&body);
        assert_eq!(fields.text("to.0.n"), Some("+1"));
        assert_eq!(fields.text("to.2.n"), None);
        assert_eq!(fields.text("to.1.n"), None);
        assert_eq!(fields.text("to.x"), None);
        assert_eq!(fields.text("o.0"), Some("zero"));
        assert_eq!(fields.array("o"), None);
        assert_eq!(fields.into_unread(), ["to.1", "to", "o"]);
    }

    #[test]
    #[allow(clippy::indexing_slicing)] // a test: a panic is its failure report
    fn the_first_dot_is_found_as_a_byte_search_finds_it() {
        let paths = [
            "",
            ".",
            "a",
            "a.",
            ".a",
            "event",
            "event.content",
            "abcdefg.h",
            "abcdefgh.i",
            "abcdefghijklmnop.q",
            "abcdefghijklmnopq",
            "a.b.c",
            "é.x",
            "x\u{2e}",
            "/.0",
        ];
        for path in paths {
            assert_eq!(
                first_dot(path.as_bytes()),
                path.bytes().position(|b| b == b'.'),
                "{path}"
            );
        }
        for length in 0..40 {
            for dot in 0..length {
                let mut path = alloc::vec![b'-'; length];
                path[dot] = b'.';
                assert_eq!(first_dot(&path), Some(dot));
                path[dot] = b'/';
                assert_eq!(first_dot(&path), None);
            }
        }
    }

    #[test]
    fn an_indexed_object_answers_as_its_map_does() {
        let body: Value = serde_json::from_str(
            r#"{"event":1,"events":2,"call_id":3,"call_ids":4,"caller_number":5,"callee_number":6,"":7,"a.b":8,"sender_number":9}"#,
        )
        .unwrap();
        let map = body.as_object().unwrap();
        let index = KeyIndex::of(&body);
        for key in [
            "event",
            "events",
            "even",
            "call_id",
            "call_ids",
            "call_i",
            "caller_number",
            "callee_number",
            "callef_number",
            "",
            "a.b",
            "a",
            "sender_number",
            "sender_numbe",
            "x",
        ] {
            assert_eq!(index.get(key), Some(map.get(key)), "{key}");
        }
        let big: Value = serde_json::Value::Object(
            (0..=KeyIndex::CAPACITY)
                .map(|n| (alloc::format!("k{n}"), Value::from(n)))
                .collect(),
        );
        assert_eq!(
            KeyIndex::of(&big).get("k1"),
            None,
            "too many keys: not indexed"
        );
        let mut fields = Fields::new(&big);
        assert_eq!(fields.count("k1"), Some(1));
    }

    #[test]
    fn reading_within_an_object_answers_as_the_dotted_paths_do() {
        let bodies = [
            r#"{"event":{"a":"x","n":12,"o":{"k":"v"},"s":"str","t":"2021-03-22T09:11:00Z"},"top":1}"#,
            r#"{"event":{"a":5,"o":7,"t":"never","s":{"k":1}},"top":"x"}"#,
            r#"{"event":"a string","top":1}"#,
            r#"{"event":[{"a":"x"}],"top":1}"#,
            r#"{"event":null,"top":1}"#,
            r#"{"top":1}"#,
        ];
        for body in bodies {
            let body: Value = serde_json::from_str(body).unwrap();
            type Read<'a> = (
                Option<&'a str>,
                Option<String>,
                Option<&'a str>,
                Option<&'a str>,
                Option<String>,
                Option<&'a str>,
            );
            fn read<'a>(fields: &mut Fields<'a>, relative: bool) -> Read<'a> {
                let path = |p: &'static str| if relative { &p[6..] } else { p };
                (
                    fields.text(path("event.a")),
                    fields.id(path("event.n")),
                    fields.text(path("event.o.k")),
                    fields.text(path("event.s.k")),
                    fields.time(if relative { "t" } else { "event.t" }),
                    fields.text(path("event.a")),
                )
            }
            let mut dotted = Fields::new(&body);
            let expected = (read(&mut dotted, false), dotted.text("top"));
            let mut within = Fields::new(&body);
            let got = within.within("event", |envelope| {
                (
                    read(envelope, true),
                    envelope.outside(|root| root.text("top")),
                )
            });
            assert_eq!(got, expected, "{body}");
            assert_eq!(within.into_unread(), dotted.into_unread(), "{body}");
            // Present as an object or not at all: the same reads, or none.
            let mut dotted = Fields::new(&body);
            let expected = dotted
                .object("event")
                .is_some()
                .then(|| read(&mut dotted, false));
            let mut within = Fields::new(&body);
            let got = within.within_object("event", |envelope| read(envelope, true));
            assert_eq!(got, expected, "{body}");
            assert_eq!(within.into_unread(), dotted.into_unread(), "{body}");
        }
        // A dotted path to the object, through a parent that is no object.
        for body in [
            r#"{"r":{"c":{"n":"x","t":5}}}"#,
            r#"{"r":{"c":"x"}}"#,
            r#"{"r":3}"#,
        ] {
            let body: Value = serde_json::from_str(body).unwrap();
            let mut dotted = Fields::new(&body);
            let expected = (dotted.text("r.c.n"), dotted.text("r.c.t"));
            let mut within = Fields::new(&body);
            let got = within.within("r.c", |c| (c.text("n"), c.text("t")));
            assert_eq!(got, expected, "{body}");
            assert_eq!(within.into_unread(), dotted.into_unread(), "{body}");
        }
    }
}
