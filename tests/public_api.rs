//! Guards the public API of the default build: a layer module of the crate
//! root is public only behind `#[cfg(feature = "unstable")]`, the root
//! re-exports only the application's types, and the engine is reachable
//! only with the feature (issue 13 item 8: no unlogged page writes from safe
//! code).
//!
//! The shell (crate `waldb-shell`) is built on the default features, so it
//! uses the public API and nothing else (issue 18 item 4).
//!
//! A `compile_fail` doctest cannot do this job: the workspace's tests enable
//! `unstable` through the self dev-dependency, and cargo unifies that into
//! the build the doctests link against. So this reads the source.

use std::fs;
use std::path::Path;

/// Modules public in the default build.
const PUBLIC_MODULES: &[&str] = &["inspect", "vfs"];

/// Names the crate root may re-export in the default build.
const PUBLIC_ROOT: &[&str] = &[
    "Database",
    "FromSql",
    "Options",
    "Params",
    "Row",
    "RowIndex",
    "Rows",
    "Statement",
    "ToSql",
    "Transaction",
    "quote_identifier",
    "PoolStats",
    "ConstraintKind",
    "Error",
    "Result",
    "Lsn",
    "PageId",
    "TxnId",
    "IntegrityReport",
    "CheckpointReport",
    "EngineStats",
    "RecoveryReport",
    "Value",
    "Durability",
    "TornTail",
    "WalStats",
];

fn src(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Problems in the crate root's text: a public module or re-export that is
/// neither allowed nor gated behind `unstable`.
fn root_problems(lib: &str) -> Vec<String> {
    let lines: Vec<&str> = lib.lines().collect();
    let mut problems = Vec::new();
    let gated = |i: usize| i > 0 && lines[i - 1].trim() == "#[cfg(feature = \"unstable\")]";
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_start();
        // Only items of the crate root (no indentation) count.
        if lines[i].starts_with(' ') {
            i += 1;
            continue;
        }
        if let Some(rest) = line.strip_prefix("pub mod ") {
            let name = rest.trim_end_matches([';', '{', ' ']);
            if !PUBLIC_MODULES.contains(&name) && !gated(i) {
                problems.push(format!("line {}: `pub mod {name}` is public without the unstable feature", i + 1));
            }
        } else if line.starts_with("pub use ") {
            // Gather the whole statement (it may span lines).
            let mut stmt = String::new();
            let start = i;
            while i < lines.len() {
                stmt.push_str(lines[i]);
                if lines[i].trim_end().ends_with(';') {
                    break;
                }
                i += 1;
            }
            if !gated(start) {
                let names = stmt.rsplit("::").next().unwrap_or("");
                for n in names.split([',', '{', '}', ';', ' ']).filter(|n| !n.is_empty()) {
                    let n = n.rsplit(" as ").next().unwrap_or(n);
                    if !PUBLIC_ROOT.contains(&n) {
                        problems.push(format!(
                            "line {}: the root re-exports `{n}` without the unstable feature",
                            start + 1
                        ));
                    }
                }
            }
        } else if line.starts_with("pub ") && !line.starts_with("pub mod") {
            let gated_item = gated(i);
            if !gated_item
                && (line.starts_with("pub fn") || line.starts_with("pub static") || line.starts_with("pub const"))
            {
                problems.push(format!("line {}: a public item at the root: {line}", i + 1));
            }
        }
        i += 1;
    }
    problems
}

#[test]
fn only_the_application_api_is_public_by_default() {
    let problems = root_problems(&src("src/lib.rs"));
    assert!(problems.is_empty(), "src/lib.rs:\n{}", problems.join("\n"));
}

#[test]
fn the_guard_catches_an_internal_module_made_public() {
    let lib = src("src/lib.rs");
    // The layer modules are declared by `layer_modules!`, whose arms make
    // them `pub` only with the feature.
    let gated = "        #[cfg(feature = \"unstable\")]\n        pub mod $name;\n        #[cfg(not(feature = \"unstable\"))]\n        mod $name;";
    assert!(lib.contains(gated), "layer_modules! no longer gates `pub mod` behind the unstable feature");
    let call = lib.lines().find(|l| l.starts_with("layer_modules!(")).expect("layer_modules! invocation");
    for m in ["storage", "btree", "buffer", "wal", "txn", "sql", "io", "ids", "api"] {
        let listed = call.trim_start_matches("layer_modules!(").trim_end_matches(");");
        assert!(listed.split(',').any(|n| n.trim() == m), "{m} is no longer declared by layer_modules!");
        let leaked = format!("{lib}\npub mod {m};\n");
        assert!(!root_problems(&leaked).is_empty(), "making {m} public went unnoticed");
    }
    let leaked = lib.replace("pub use value::Value;", "pub use value::Value;\npub use storage::PageStore;");
    assert!(root_problems(&leaked).iter().any(|p| p.contains("PageStore")));
}

#[test]
fn the_engine_is_reachable_only_with_the_feature() {
    let db = src("src/api/database.rs");
    for sig in ["pub fn engine(&self)", "pub fn open_on_engine(", "pub fn engine_options("] {
        let at = db.find(sig).unwrap_or_else(|| panic!("{sig} not found"));
        let before: Vec<&str> = db[..at].lines().rev().skip(1).take(1).collect();
        assert_eq!(before, ["    #[cfg(feature = \"unstable\")]"], "{sig} must be gated behind the unstable feature");
    }
}

/// The lines of a Cargo manifest that enable the `unstable` feature of
/// waldb (in any dependency table).
fn unstable_lines(manifest: &str) -> Vec<String> {
    manifest
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter(|l| l.contains("\"unstable\""))
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn the_shell_builds_on_the_public_api_only() {
    let lines = unstable_lines(&src("shell/Cargo.toml"));
    assert!(lines.is_empty(), "shell/Cargo.toml enables waldb's unstable feature: {lines:?}");
    let leaked = src("shell/Cargo.toml")
        .replace("waldb = { path = \"..\" }", "waldb = { path = \"..\", features = [\"unstable\"] }");
    assert_eq!(unstable_lines(&leaked).len(), 1, "the guard must notice the feature being turned on");
}
