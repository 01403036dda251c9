//! The words every layer shares: kinds of property, verdicts, property and constant
//! declarations, and a model file's validated constants.

use super::cfg::Value;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The three kinds of property a model file names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// `INVARIANT`: holds in every reachable state.
    Invariant,
    /// `PROPERTY Termination`: every run reaches quiescence with the input consumed.
    Liveness,
    /// `\* SOMETIMES`: some reachable state satisfies it (non-vacuity).
    Sometimes,
}

/// A verdict, as in the expectations files and the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Holds,
    Violated,
    Reached,
    Unreached,
    /// The run stopped (a limit, an interruption) before it could decide.
    Unknown,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Holds => "holds",
            Verdict::Violated => "violated",
            Verdict::Reached => "reached",
            Verdict::Unreached => "unreached",
            Verdict::Unknown => "unknown",
        })
    }
}

impl Verdict {
    /// The verdict of a property of kind `kind` that was (or was not) discovered: a violation for
    /// invariants and liveness, a witness for non-vacuity checks.
    pub fn of(kind: Kind, discovered: bool) -> Verdict {
        match (kind, discovered) {
            (Kind::Sometimes, true) => Verdict::Reached,
            (Kind::Sometimes, false) => Verdict::Unreached,
            (_, true) => Verdict::Violated,
            (_, false) => Verdict::Holds,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct PropertyDef {
    pub name: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
}

/// The type and range of a constant.
#[derive(Clone, Copy, Debug)]
pub enum ConstType {
    Int { min: i64, max: i64 },
    /// A non-empty set of model values, at most `max` of them.
    ModelValues { max: usize },
    /// The variant: a string naming one of the family's variants.
    Variant,
}

#[derive(Clone, Copy, Debug)]
pub struct ConstDef {
    pub name: &'static str,
    pub ty: ConstType,
    pub doc: &'static str,
}

/// A model file's constants, checked against the family's declarations; the second field is
/// true when the file selects symmetry reduction over the handlers (`SYMMETRY HandlerPerms`).
#[derive(Clone, Debug, PartialEq)]
pub struct Consts(pub BTreeMap<String, Value>, pub bool);

impl Consts {
    /// The model file selects symmetry reduction over the handlers.
    pub fn symmetric(&self) -> bool {
        self.1
    }
    pub fn int(&self, name: &str) -> i64 {
        match self.0.get(name) {
            Some(Value::Int(i)) => *i,
            other => panic!("constant {name} was validated as an integer, found {other:?}"),
        }
    }
    pub fn set_len(&self, name: &str) -> usize {
        match self.0.get(name) {
            Some(Value::Set(items)) => items.len(),
            other => panic!("constant {name} was validated as a set, found {other:?}"),
        }
    }
    pub fn string(&self, name: &str) -> &str {
        match self.0.get(name) {
            Some(Value::Str(s)) => s,
            other => panic!("constant {name} was validated as a string, found {other:?}"),
        }
    }
}

