//! What a checker found for one model file, and the limits that may stop it early.

use super::vocab::Verdict;
use serde::Serialize;
use std::collections::BTreeMap;

/// Where a run may stop before it has explored everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// Stop once about this many states have been found.
    pub max_states: Option<u64>,
    /// Stop after this long.
    pub timeout: Option<std::time::Duration>,
}

/// Why a run stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    StateLimit,
    TimeLimit,
    Interrupted,
    /// Explored everything, but left some properties undecided: TLC's distributed mode checks
    /// no temporal property.
    Undecided,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stop::StateLimit => "stopped at the state limit (--max-states)",
            Stop::TimeLimit => "stopped at the time limit (--timeout)",
            Stop::Interrupted => "interrupted",
            Stop::Undecided => "left its temporal properties unknown (TLC's distributed mode checks none)",
        })
    }
}

/// What one checker found for one model file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    pub properties: BTreeMap<String, Verdict>,
    pub distinct_states: u64,
    pub generated_states: u64,
    pub seconds: f64,
    /// Set when the run stopped before exploring everything; undecided properties are then
    /// `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Stop>,
    /// The length in steps of the counterexample (or witness) each discovered property got,
    /// where the checker reports one.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub counterexample_steps: BTreeMap<String, usize>,
    /// A run of TLC's distributed mode: its distinct count is exact, its generated count is
    /// its own (it varies from run to run, and is not a single process's).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub distributed: bool,
}

