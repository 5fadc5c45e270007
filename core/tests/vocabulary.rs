#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
//! The error and answer codes are defined once, in the core; the TypeScript union and the
//! Python `Literal` that repeat them for type checkers must list exactly the same codes.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use telhook_core::receive::answer_code;
use telhook_core::ErrorCode;

fn quoted_between(path: &str, start: &str, end: &str) -> BTreeSet<String> {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)).unwrap();
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in {path}"))
        + start.len();
    let block = &text[from..from + text[from..].find(end).unwrap()];
    block
        .split('"')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect()
}

fn core_error_codes() -> BTreeSet<String> {
    ErrorCode::ALL
        .iter()
        .map(|code| code.as_str().to_owned())
        .collect()
}

fn core_answer_codes() -> BTreeSet<String> {
    answer_code::ALL
        .iter()
        .map(|code| (*code).to_owned())
        .collect()
}

#[test]
fn typescript_lists_every_code_and_no_other() {
    let path = "npm/types/index.d.ts";
    assert_eq!(
        quoted_between(path, "export type ErrorCode =", ";"),
        core_error_codes()
    );
    assert_eq!(
        quoted_between(path, "export type AnswerCode =", ";"),
        core_answer_codes()
    );
}

#[test]
fn python_lists_every_code_and_no_other() {
    let path = "python/telhook/types.py";
    assert_eq!(
        quoted_between(path, "ErrorCode = Literal[", "]"),
        core_error_codes()
    );
    assert_eq!(
        quoted_between(path, "AnswerCode = Literal[", "]"),
        core_answer_codes()
    );
}

#[test]
fn codes_are_unique_and_round_trip() {
    assert_eq!(core_error_codes().len(), ErrorCode::ALL.len());
    for code in ErrorCode::ALL {
        assert_eq!(ErrorCode::from_name(code.as_str()), Some(*code));
    }
    assert!(core_error_codes().is_disjoint(&core_answer_codes()));
}
