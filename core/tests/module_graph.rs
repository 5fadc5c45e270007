#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! No import cycle between the core's modules (issue 16): each top-level module of
//! `core/src` may depend on another only if that one does not depend back, directly or not.
//! `event.rs` ↔ `providers/` was the cycle; `Provider` now lives in the leaf `provider.rs`.
//!
//! A small reader of `crate::` paths rather than a tool (cargo-modules needs rust-analyzer's
//! whole toolchain and a network install; this runs offline in `cargo test`): it takes every
//! `crate::module` path and `use crate::{…}` group outside `#[cfg(test)]` code, resolves names
//! re-exported at the root through `lib.rs`'s `pub use`, and searches the graph for a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`providers/gatewayapi.rs` → `providers`).
fn module_of(path: &Path) -> String {
    let relative = path.strip_prefix(SRC).unwrap();
    let first = relative
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_str()
        .unwrap();
    first.trim_end_matches(".rs").to_string()
}

/// The code without its `#[cfg(test)]` items (tests may reach anywhere) and without comments
/// (a doc link is not a dependency).
fn code_of(text: &str) -> String {
    let code = text.find("#[cfg(test)]").map_or(text, |at| &text[..at]);
    code.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers right under `crate::`, including each entry of a `use crate::{a::X, B}` group.
fn crate_references(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            let mut at_top = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if depth == 1 && c == ',' {
                    at_top = true;
                    if !item.is_empty() {
                        out.push(std::mem::take(&mut item));
                    }
                } else if at_top && (c.is_alphanumeric() || c == '_') {
                    item.push(c);
                } else if at_top && !item.is_empty() {
                    at_top = false;
                    out.push(std::mem::take(&mut item));
                }
            }
            if !item.is_empty() {
                out.push(item);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    // Root re-exports (`pub use event::{NormalizedEvent, …}`) name the module that defines them.
    let lib = fs::read_to_string(Path::new(SRC).join("lib.rs")).unwrap();
    let mut reexported = BTreeMap::new();
    for line in lib.lines().filter(|l| l.starts_with("pub use ")) {
        let path = line.trim_start_matches("pub use ").trim_end_matches(';');
        let (module, names) = path.split_once("::").unwrap();
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            reexported.insert(name.trim().to_string(), module.to_string());
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(file);
        let text = fs::read_to_string(file).unwrap();
        let mut code = code_of(&text);
        if from == "lib" {
            // Declaring and re-exporting a module is not depending on it.
            code = code
                .lines()
                .filter(|l| {
                    !l.starts_with("pub use ")
                        && !l.starts_with("pub mod ")
                        && !l.starts_with("mod ")
                })
                .collect::<Vec<_>>()
                .join("\n");
        }
        for name in crate_references(&code) {
            let to = if modules.contains(&name) {
                name
            } else if let Some(module) = reexported.get(&name) {
                module.clone()
            } else {
                "lib".to_string()
            };
            if to != from {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_core_has_no_import_cycle() {
    let graph = graph();
    // The cycle first, so that a reintroduced one is reported as such.
    assert_eq!(find_cycle(&graph), None, "{graph:#?}");
    // The reader must see the real dependencies, or the check proves nothing.
    assert!(graph["providers"].contains("event"), "{graph:?}");
    assert!(graph["providers"].contains("provider"), "{graph:?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut graph = graph();
    graph
        .get_mut("event")
        .unwrap()
        .insert("providers".to_string());
    let cycle = find_cycle(&graph).expect("event -> providers -> event");
    assert!(cycle.contains(&"event".to_string()) && cycle.contains(&"providers".to_string()));
}
