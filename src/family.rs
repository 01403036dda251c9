//! What every family declares (constants, variants, properties), and the catalog of families.

use crate::cfg::{ModelFile, Value};
use crate::check::{Outcome, RunOptions};
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

/// A family of the catalog: one TLA+ module, one Stateright model, its model files.
pub trait Family: Sync {
    /// The kebab-case id naming `specs/<id>/`, `models/<id>/` and the CLI target.
    fn id(&self) -> &'static str;
    /// The TLA+ module (the id in CamelCase).
    fn module(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    /// The variants; the first is the correct one.
    fn variants(&self) -> &'static [&'static str];
    fn constants(&self) -> &'static [ConstDef];
    fn properties(&self) -> &'static [PropertyDef];
    /// Checks the Stateright twin with the given properties (all of them known to the family).
    fn check(&self, consts: &Consts, properties: &[PropertyDef], opts: &RunOptions) -> Outcome;
    /// The shortest Stateright path to a violation (or witness) of `prop`, if there is one.
    fn trace(&self, consts: &Consts, prop: &PropertyDef) -> Option<Vec<crate::trace::Step>>;
    /// For a lockstep twin: the shortest Stateright path to a violation (or witness) of `prop` as
    /// states of the TLA+ twin's variables. None if there is none.
    fn tla_trace(&self, consts: &Consts, prop: &PropertyDef) -> Option<Vec<crate::tla::State>>;
    /// For a lockstep twin: replays states of the TLA+ twin (TLC's trace) in the Stateright
    /// model: the first must be an initial state, and each next one the result of an enabled
    /// action. Err says which step could not be replayed.
    fn replay(&self, consts: &Consts, states: &[crate::tla::State]) -> Result<(), String>;
    /// Serves Stateright's Explorer on `addr` (blocks).
    fn explore(&self, consts: &Consts, properties: &[PropertyDef], addr: std::net::SocketAddr);
    /// Handlers are interchangeable in every state and property: model files may select
    /// `SYMMETRY HandlerPerms` (see `src/actors/symmetry.rs`).
    fn symmetric(&self) -> bool {
        false
    }
}

/// The catalog, in the order of `../shared/CATALOG.md`.
pub fn families() -> Vec<&'static dyn Family> {
    vec![
        &crate::families::handler::HANDLER,
        &crate::families::idempotent_set::IDEMPOTENT_SET,
        &crate::families::message_id::MESSAGE_ID,
        &crate::families::outbox::OUTBOX,
        &crate::families::state_based::STATE_BASED,
        &crate::families::inbox::INBOX,
        &crate::families::outbox_out_of_document::OUTBOX_OUT_OF_DOCUMENT,
        &crate::families::token::TOKEN,
        &crate::families::side_effects::SIDE_EFFECTS,
        &crate::families::sync_async::SYNC_ASYNC,
        &crate::families::http::HTTP,
        &crate::families::idempotency_key::IDEMPOTENCY_KEY,
        &crate::families::outbox_relay::OUTBOX_RELAY,
        // `exactly new` registers families above this line.
    ]
}

pub fn find(id: &str) -> Option<&'static dyn Family> {
    families().into_iter().find(|f| f.id() == id)
}

/// Checks a model file's constants and property names against the family's declarations.
pub fn validate(family: &dyn Family, mf: &ModelFile) -> Result<(Consts, Vec<PropertyDef>), String> {
    let known_consts = || family.constants().iter().map(|c| c.name).collect::<Vec<_>>().join(", ");
    let mut consts = BTreeMap::new();
    for (name, value) in &mf.constants {
        let Some(def) = family.constants().iter().find(|c| c.name == name) else {
            return Err(format!("unknown constant {name} for family {} (known: {})", family.id(), known_consts()));
        };
        check_value(family, def, value)?;
        consts.insert(name.clone(), value.clone());
    }
    for def in family.constants() {
        if !consts.contains_key(def.name) {
            return Err(format!("constant {} is not assigned (family {} needs: {})", def.name, family.id(), known_consts()));
        }
    }
    if let Some(spec) = &mf.specification {
        if spec != "Spec" {
            return Err(format!("SPECIFICATION {spec}: model files check the family's Spec (write SPECIFICATION Spec)"));
        }
    } else {
        return Err("the model file has no SPECIFICATION line (write SPECIFICATION Spec)".into());
    }
    let known_props = |kind: Kind| {
        family.properties().iter().filter(|p| p.kind == kind).map(|p| p.name).collect::<Vec<_>>().join(", ")
    };
    let mut props = Vec::new();
    for (names, kind, place) in [
        (&mf.invariants, Kind::Invariant, "INVARIANT"),
        (&mf.properties, Kind::Liveness, "PROPERTY"),
        (&mf.sometimes, Kind::Sometimes, "SOMETIMES"),
    ] {
        for name in names {
            match family.properties().iter().find(|p| p.name == name) {
                Some(def) if def.kind == kind => props.push(*def),
                Some(def) => {
                    return Err(format!("{name} is {} and cannot be listed under {place}", kind_phrase(def.kind)))
                }
                None => {
                    return Err(format!(
                        "unknown {place} {name} for family {} (known: {})",
                        family.id(),
                        known_props(kind)
                    ))
                }
            }
        }
    }
    if props.is_empty() {
        return Err("the model file names no property to check".into());
    }
    if mf.symmetry.is_some() && !family.symmetric() {
        return Err(format!(
            "family {} does not support SYMMETRY: it does not declare its handlers interchangeable (WorldFamily::SYMMETRIC; fresh ids, for one, name handlers); remove the SYMMETRY line",
            family.id()
        ));
    }
    Ok((Consts(consts, mf.symmetry.is_some()), props))
}

fn kind_phrase(kind: Kind) -> &'static str {
    match kind {
        Kind::Invariant => "an invariant (INVARIANT)",
        Kind::Liveness => "a liveness property (PROPERTY)",
        Kind::Sometimes => "a non-vacuity check (\\* SOMETIMES)",
    }
}

fn check_value(family: &dyn Family, def: &ConstDef, value: &Value) -> Result<(), String> {
    let name = def.name;
    match (def.ty, value) {
        (ConstType::Int { min, max }, Value::Int(i)) => {
            if *i < min || *i > max {
                return Err(format!("{name} = {i} is out of range: {name} takes {min} to {max}"));
            }
        }
        (ConstType::ModelValues { max }, Value::Set(items)) => {
            if items.is_empty() || items.len() > max {
                return Err(format!("{name} takes 1 to {max} model values, found {}", items.len()));
            }
            if let Some(bad) = items.iter().find(|v| !matches!(v, Value::ModelValue(_))) {
                return Err(format!("{name} takes model values such as {{h1, h2}}, found {bad}"));
            }
        }
        (ConstType::Variant, Value::Str(s)) => {
            if !family.variants().contains(&s.as_str()) {
                return Err(format!(
                    "unknown variant \"{s}\" for family {} (known: {})",
                    family.id(),
                    family.variants().join(", ")
                ));
            }
        }
        (ConstType::Variant, Value::ModelValue(s)) => {
            return Err(format!("{name} is a string: write {name} = \"{s}\""));
        }
        (ty, v) => {
            let want = match ty {
                ConstType::Int { .. } => "an integer",
                ConstType::ModelValues { .. } => "a set of model values",
                ConstType::Variant => "a string",
            };
            return Err(format!("{name} takes {want}, found {} ({v})", v.kind()));
        }
    }
    Ok(())
}
