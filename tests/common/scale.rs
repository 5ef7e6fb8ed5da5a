//! The one knob that scales the simulation suites: `WALDB_SIM_SCALE`.
//!
//! - unset or `quick` (a plain `cargo test`): a slice of every suite;
//! - `ci` (what `.ci/run` runs): the figures of `docs/TESTING.md` §3;
//! - `long` (by hand): about ten times further.
//!
//! Any other value is `quick`. `CONTRIBUTING.md` lists what each suite does
//! at each scale.

/// How far a suite goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Quick,
    Ci,
    Long,
}

/// The scale `WALDB_SIM_SCALE` asks for.
pub fn scale() -> Scale {
    match std::env::var("WALDB_SIM_SCALE").as_deref() {
        Ok("ci") => Scale::Ci,
        Ok("long") => Scale::Long,
        _ => Scale::Quick,
    }
}

/// The value for the current scale.
pub fn pick<T>(quick: T, ci: T, long: T) -> T {
    match scale() {
        Scale::Quick => quick,
        Scale::Ci => ci,
        Scale::Long => long,
    }
}
