#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Every vocabulary is defined once, in the core. The TypeScript unions (npm/types/index.d.ts),
//! the Python `Literal`s and per-provider credentials (python/telhook/types.py) are generated
//! from it between `<generated: …>` markers, and the JSON Schema's enums and id pattern
//! (schema/normalized-event.v1.json) in place.
//!
//! `make vocabularies` (TELHOOK_BLESS=1) rewrites the generated blocks; without it this test
//! only compares, so `make test` fails when someone changes the core and forgets — and a check
//! never rewrites a tracked file.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use telhook_core::event::{ContactKind, Direction, RecordAction};
use telhook_core::receive::answer_code;
use telhook_core::{DeliveryStatus, ErrorCode, ErrorKind, EventType, Outcome, Provider};

fn names<T: Serialize>(values: &[T]) -> Vec<String> {
    values
        .iter()
        .map(|value| {
            serde_json::to_value(value)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// (type name, values) in the order they are written out.
fn vocabularies() -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("ProviderName", names(&Provider::ALL)),
        ("EventTypeName", names(&EventType::ALL)),
        ("DeliveryStatus", names(&DeliveryStatus::ALL)),
        ("Direction", names(&Direction::ALL)),
        ("ContactKind", names(&ContactKind::ALL)),
        ("RecordAction", names(&RecordAction::ALL)),
        (
            "ErrorCode",
            ErrorCode::ALL
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
        ),
        ("ErrorKind", names(&ErrorKind::ALL)),
        (
            "AnswerCode",
            answer_code::ALL.iter().map(|c| (*c).to_owned()).collect(),
        ),
        ("Outcome", names(&Outcome::ALL)),
        ("AuthScheme", names(&telhook_core::sign::Scheme::ALL)),
        ("InboxState", names(&telhook_core::inbox::InboxState::ALL)),
    ]
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn quoted(values: &[String]) -> Vec<String> {
    values.iter().map(|v| format!("\"{v}\"")).collect()
}

fn typescript_block() -> String {
    let mut out =
        String::from("// Generated from telhook-core by `make vocabularies`; do not edit.\n");
    for (name, values) in vocabularies() {
        out.push_str(&format!("export type {name} =\n"));
        for value in quoted(&values) {
            out.push_str(&format!("  | {value}\n"));
        }
        out.pop();
        out.push_str(";\n");
    }
    out
}

fn python_block() -> String {
    let mut out =
        String::from("# Generated from telhook-core by `make vocabularies`; do not edit.\n");
    for (name, values) in vocabularies() {
        out.push_str(&format!("{name} = Literal[\n"));
        for value in quoted(&values) {
            out.push_str(&format!("    {value},\n"));
        }
        out.push_str("]\n");
    }
    out
}

/// Compares (or, blessed, rewrites) the text between the markers of `path`.
fn check_block(path: &str, open: &str, close: &str, expected: &str) -> Result<(), String> {
    let file = repo(path);
    let text = fs::read_to_string(&file).unwrap();
    let start = text
        .find(open)
        .ok_or(format!("{path}: no {open:?} marker"))?
        + open.len()
        + 1;
    let end = start
        + text[start..]
            .find(close)
            .ok_or(format!("{path}: no {close:?} marker"))?;
    if text[start..end] == *expected {
        return Ok(());
    }
    if std::env::var_os("TELHOOK_BLESS").is_some() {
        fs::write(
            &file,
            format!("{}{expected}{}", &text[..start], &text[end..]),
        )
        .unwrap();
        return Ok(());
    }
    Err(format!(
        "{path}: generated vocabularies are stale; run `make vocabularies`"
    ))
}

#[test]
fn typescript_unions_are_generated_from_the_core() {
    let block = typescript_block();
    check_block(
        "npm/types/index.d.ts",
        "// <generated: vocabularies>",
        "// </generated>",
        &block,
    )
    .unwrap();
}

/// Python has no mapped types: the per-provider credentials `TypedDict` names every provider.
fn python_credentials_block() -> String {
    let mut out = String::from(
        "# Generated from telhook-core by `make vocabularies`; do not edit.\n\
         class PerProviderCredentials(TypedDict, total=False):\n    \
         \"\"\"Each provider's own credentials; required when the provider is detected per request.\"\"\"\n\n",
    );
    for provider in Provider::ALL {
        out.push_str(&format!("    {}: ProviderCredentials\n", provider.name()));
    }
    out
}

#[test]
fn python_per_provider_credentials_are_generated_from_the_core() {
    check_block(
        "python/telhook/types.py",
        "# <generated: per-provider credentials>",
        "# </generated>",
        &python_credentials_block(),
    )
    .unwrap();
}

#[test]
fn python_literals_are_generated_from_the_core() {
    let block = python_block();
    check_block(
        "python/telhook/types.py",
        "# <generated: vocabularies>",
        "# </generated>",
        &block,
    )
    .unwrap();
}

/// `text` with the list inside the first `"enum": [...]` after `"<key>": {` replaced by
/// `values`, wrapped at 110 columns with continuation lines aligned under the first value.
fn with_enum(text: &str, key: &str, values: &[String]) -> Result<String, String> {
    let owner = text
        .find(&format!("\"{key}\": {{"))
        .ok_or(format!("schema: no {key:?} object"))?;
    let open = owner
        + text[owner..]
            .find("\"enum\": [")
            .ok_or(format!("schema: no enum in {key:?}"))?
        + "\"enum\": [".len();
    let close = open + text[open..].find(']').ok_or("schema: unclosed enum")?;
    let column = open - text[..open].rfind('\n').map_or(0, |at| at + 1);
    let mut list = String::new();
    let mut line_length = column;
    for (i, value) in values.iter().enumerate() {
        let item = if i + 1 == values.len() {
            value.clone()
        } else {
            format!("{value},")
        };
        if i > 0 && line_length + 1 + item.len() > 110 {
            list.push('\n');
            list.push_str(&" ".repeat(column));
            line_length = column;
        } else if i > 0 {
            list.push(' ');
            line_length += 1;
        }
        list.push_str(&item);
        line_length += item.len();
    }
    Ok(format!("{}{list}{}", &text[..open], &text[close..]))
}

/// The schema's text with every vocabulary's enum, and the provider names in the id pattern,
/// generated from the core.
fn generated_schema(text: &str) -> Result<String, String> {
    let vocab = vocabularies();
    let quoted_values = |name: &str| -> Vec<String> {
        vocab
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1
            .iter()
            .map(|v| format!("{v:?}"))
            .collect()
    };
    let mut text = text.to_string();
    for (key, vocabulary) in [
        ("provider", "ProviderName"),
        ("type", "EventTypeName"),
        ("value", "DeliveryStatus"),
        ("contact_kind", "ContactKind"),
        ("action", "RecordAction"),
    ] {
        text = with_enum(&text, key, &quoted_values(vocabulary))?;
    }
    let mut directions = quoted_values("Direction");
    directions.push("null".into());
    text = with_enum(&text, "direction_or_null", &directions)?;
    let id = text.find("\"id\": {").ok_or("schema: no id")?;
    let pattern = id
        + text[id..]
            .find("\"pattern\": \"^(")
            .ok_or("schema: no id pattern")?
        + "\"pattern\": \"^(".len();
    let end = pattern
        + text[pattern..]
            .find(')')
            .ok_or("schema: unclosed id pattern")?;
    let names = vocab
        .iter()
        .find(|(n, _)| *n == "ProviderName")
        .unwrap()
        .1
        .join("|");
    Ok(format!("{}{names}{}", &text[..pattern], &text[end..]))
}

#[test]
fn json_schema_vocabularies_are_generated_from_the_core() {
    let file = repo("schema/normalized-event.v1.json");
    let text = fs::read_to_string(&file).unwrap();
    let expected = generated_schema(&text).unwrap();
    if text == expected {
        return;
    }
    if std::env::var_os("TELHOOK_BLESS").is_some() {
        fs::write(&file, expected).unwrap();
        return;
    }
    panic!("schema/normalized-event.v1.json: generated vocabularies are stale; run `make vocabularies`");
}

#[test]
fn json_schema_enums_equal_the_core() {
    let schema: Value =
        serde_json::from_slice(&fs::read(repo("schema/normalized-event.v1.json")).unwrap())
            .unwrap();
    let vocab = vocabularies();
    let wanted = |name: &str| -> Vec<Value> {
        vocab
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1
            .iter()
            .map(|v| Value::from(v.as_str()))
            .collect()
    };
    let expected: Vec<(&str, Vec<Value>)> = vec![
        ("provider", wanted("ProviderName")),
        ("type", wanted("EventTypeName")),
        ("value", wanted("DeliveryStatus")),
        ("contact_kind", wanted("ContactKind")),
        ("action", wanted("RecordAction")),
        (
            "direction_or_null",
            wanted("Direction")
                .into_iter()
                .chain([Value::Null])
                .collect(),
        ),
    ];
    let mut found = Vec::new();
    let mut stack = vec![&schema];
    while let Some(node) = stack.pop() {
        match node {
            Value::Object(map) => {
                for (key, child) in map {
                    if let Some(values) = child.get("enum").and_then(Value::as_array) {
                        let (_, want) =
                            expected.iter().find(|(k, _)| k == key).unwrap_or_else(|| {
                                panic!("schema enum {key:?} is not a core vocabulary")
                            });
                        assert_eq!(values, want, "schema enum {key:?}");
                        found.push(key.clone());
                    }
                    stack.push(child);
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    for (key, _) in &expected {
        assert!(found.iter().any(|k| k == key), "schema has no enum {key:?}");
    }
}

#[test]
fn codes_are_unique_and_round_trip() {
    let errors: std::collections::BTreeSet<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(errors.len(), ErrorCode::ALL.len());
    for code in ErrorCode::ALL {
        assert_eq!(ErrorCode::from_name(code.as_str()), Some(*code));
    }
    assert!(answer_code::ALL.iter().all(|code| !errors.contains(code)));
}
