//! Expectations: beside each model file `x.cfg`, the file `x.expect.json` holds the verdict every
//! property should get (written by hand from the catalog's claims, before any run) and the state
//! counts of a complete exploration by each checker.

use crate::core::outcome::Outcome;
use crate::core::vocab::Verdict;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub distinct_states: u64,
    pub generated_states: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// Property name to verdict.
    pub properties: BTreeMap<String, Verdict>,
    /// The twins explore the same graph: equal counts from both checkers.
    pub lockstep: bool,
    /// Properties the correct variant violates by design (the catalog says which), each with
    /// the reason, e.g. "ids pile up in the document".
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fails_by_design: BTreeMap<String, String>,
    /// The model file selects symmetry reduction (`SYMMETRY HandlerPerms`): each checker keeps
    /// one state per class of renamings of the handlers its own way, so each checker's counts
    /// are compared with its own expectation only, never with the other's (even when lockstep).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub symmetry: bool,
    /// Why the twins are not lockstep, where they are not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_lockstep_because: Option<String>,
    /// TLC's counts; absent only from a claim file that `make deep` has not run yet: TLC's counts
    /// are then unknown, and a TLC run of it misses its expectation until they are written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlc: Option<Counts>,
    pub stateright: Counts,
}

/// The expectations file of a model file.
pub fn path_for(model: &Path) -> PathBuf {
    model.with_extension("expect.json")
}

/// Reads the expectations of a model file; `Ok(None)` if it has none.
pub fn load(model: &Path) -> Result<Option<Expectation>, String> {
    let p = path_for(model);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", p.display())),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| format!("{}: {e}", p.display()))
}

/// The counts `expected` gives for `checker` ("tlc" or "stateright"), if it gives them.
pub fn counts_of<'a>(expected: &'a Expectation, checker: &str) -> Option<&'a Counts> {
    if checker == "tlc" { expected.tlc.as_ref() } else { Some(&expected.stateright) }
}

/// Whether `outcome`'s counts are those `expected` gives for `checker` (None if it gives none).
/// TLC's distributed mode counts generated states its own way: only its distinct count is
/// compared.
pub fn counts_met(expected: &Expectation, checker: &str, outcome: &Outcome) -> Option<bool> {
    counts_of(expected, checker).map(|c| {
        outcome.distinct_states == c.distinct_states && (outcome.distributed || outcome.generated_states == c.generated_states)
    })
}

/// Every way `outcome` misses `expected`, as sentences; empty if it meets it.
pub fn misses(expected: &Expectation, checker: &str, outcome: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    for (name, verdict) in &outcome.properties {
        match expected.properties.get(name) {
            Some(want) if want == verdict => {}
            Some(want) => out.push(format!("{checker}: {name} {verdict}, expected {want}")),
            None => out.push(format!("{checker}: {name} has no expected verdict")),
        }
    }
    match counts_of(expected, checker) {
        _ if counts_met(expected, checker, outcome) == Some(true) => {}
        Some(counts) if outcome.distributed => out.push(format!(
            "{checker}: {} distinct states (distributed), expected {}",
            outcome.distinct_states, counts.distinct_states
        )),
        Some(counts) => out.push(format!(
            "{checker}: {} distinct / {} generated states, expected {} / {}",
            outcome.distinct_states, outcome.generated_states, counts.distinct_states, counts.generated_states
        )),
        None => out.push(format!(
            "{checker}: {} distinct / {} generated states, and no expected counts yet (a claim file's TLC counts are written from `make deep`)",
            outcome.distinct_states, outcome.generated_states
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_file_without_tlc_counts_misses_only_for_tlc() {
        let text = r#"{"properties": {"P": "holds"}, "lockstep": true, "stateright": {"distinct_states": 5, "generated_states": 9}}"#;
        let e: Expectation = serde_json::from_str(text).unwrap();
        assert_eq!(e.tlc, None);
        let run = Outcome { properties: [("P".to_string(), Verdict::Holds)].into(), distinct_states: 5, generated_states: 9, ..Outcome::default() };
        assert!(misses(&e, "stateright", &run).is_empty());
        let tlc = misses(&e, "tlc", &run);
        assert_eq!(tlc.len(), 1);
        assert!(tlc[0].contains("no expected counts yet"), "{tlc:?}");
    }
}
