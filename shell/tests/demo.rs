//! `waldb demo crash`: a few rounds in both modes lose nothing.

use std::process::Command;

fn demo(extra: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_waldb"))
        .args(["demo", "crash", "--rounds", "3", "--seed", "42"])
        .args(extra)
        .output()
        .expect("run waldb demo crash");
    (o.status.code(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn sigkill_rounds_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    let (code, out) = demo(&[db.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("lost: 0") && out.contains("round   3/3"), "{out}");
    assert!(out.contains("SIGKILL"), "{out}");
}

#[test]
fn power_loss_rounds_lose_nothing() {
    let (code, out) = demo(&["--power-loss"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("lost: 0") && out.contains("power loss ("), "{out}");
}

#[test]
fn without_a_file_it_uses_a_temporary_one() {
    let (code, out) = demo(&["--threads", "2"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("lost: 0"), "{out}");
}
