//! Counterexamples from both checkers, each replayed in the other.

use crate::catalog::Job;
use crate::core::cancel::interrupted;
use crate::core::error::{progress, Failure};
use crate::core::outcome::Outcome;
use crate::core::vocab::{Kind, PropertyDef, Verdict};
use crate::engine::tlc::Tlc;
use serde_json::json;
use std::collections::BTreeMap;

/// The shortest counterexample of a violated invariant from each checker, and (for a lockstep
/// twin) whether each replays in the other checker.
pub struct Counterexample {
    pub property: &'static str,
    pub tlc_length: Option<usize>,
    pub stateright_length: Option<usize>,
    pub tlc_in_stateright: Option<bool>,
    pub stateright_in_tlc: Option<bool>,
    /// Why a replay failed, for the log.
    pub why: Vec<String>,
}

impl Counterexample {
    /// Both checkers found one, of the same length, and (lockstep) each replays in the other.
    pub fn agree(&self, lockstep: bool) -> bool {
        self.tlc_length.is_some()
            && self.tlc_length == self.stateright_length
            && (!lockstep || (self.tlc_in_stateright == Some(true) && self.stateright_in_tlc == Some(true)))
    }

    pub fn to_json(&self, lockstep: bool) -> serde_json::Value {
        let mut replayed = json!({"tlc_in_stateright": self.tlc_in_stateright, "stateright_in_tlc": self.stateright_in_tlc});
        if !lockstep {
            replayed["not_applicable"] = json!("not a lockstep twin: its states do not map one to one onto the TLA+ spec's");
        }
        if !self.why.is_empty() {
            replayed["why"] = json!(self.why);
        }
        json!({
            "property": self.property,
            "tlc_length": self.tlc_length,
            "stateright_length": self.stateright_length,
            "replayed": replayed,
        })
    }
}

/// Stateright's counterexample of an invariant as states of the TLA+ spec, and whether TLC's
/// checking run replayed it.
pub type SrTrace = (&'static str, Vec<crate::core::tla::State>, bool);

/// For each invariant either checker found violated: both shortest counterexamples (one worker,
/// breadth-first) and, for a lockstep twin, each replayed in the other checker. TLC's come from
/// its checking run where it printed them (else from a run of their own); Stateright's are those
/// `computed` before that run, which replayed them where it could (else computed here), and the
/// ones it did not replay are replayed in TLC together, in one run of their own.
pub fn counterexamples(
    job: &Job,
    lockstep: bool,
    tl: &Outcome,
    reports: &BTreeMap<String, String>,
    sr: &Outcome,
    tlc: &Tlc,
    mut computed: Vec<SrTrace>,
) -> Result<Vec<Counterexample>, Failure> {
    let violated = |p: &PropertyDef| {
        [tl, sr].iter().any(|o| o.properties.get(p.name) == Some(&Verdict::Violated))
    };
    let props: Vec<&PropertyDef> = job.props.iter().filter(|p| p.kind == Kind::Invariant && violated(p)).collect();
    let mut found = Vec::new();
    let mut sr_traces = Vec::new();
    for p in &props {
        if interrupted() {
            break;
        }
        progress(&format!("  {}: {} counterexamples", job.name, p.name));
        let (sr_states, replayed) = match computed.iter().position(|(name, _, _)| *name == p.name) {
            Some(k) => {
                let (_, states, replayed) = computed.swap_remove(k);
                (Some(states), replayed)
            }
            None => (job.family.tla_trace(&job.consts, p), false),
        };
        let printed = reports.get(p.name).and_then(|out| crate::engine::tlc::parse_trace_states(out, &job.name, p).ok());
        let tlc_trace = match printed {
            Some(t) => Some(t),
            None => tlc.trace(&job.spec, &job.model, p, &job.name)?,
        };
        let mut c = Counterexample {
            property: p.name,
            tlc_length: tlc_trace.as_ref().map(|(t, _)| t.len()),
            stateright_length: sr_states.as_ref().map(|s| s.len().saturating_sub(1)),
            tlc_in_stateright: None,
            stateright_in_tlc: None,
            why: Vec::new(),
        };
        if lockstep {
            if let Some((_, states)) = &tlc_trace {
                let r = job.family.replay(&job.consts, states);
                c.tlc_in_stateright = Some(r.is_ok());
                if let Err(e) = r {
                    c.why.push(format!("TLC's trace in Stateright: {e}"));
                }
            }
            if replayed {
                c.stateright_in_tlc = Some(true);
            } else if let Some(states) = sr_states {
                sr_traces.push((found.len(), states));
            }
        }
        found.push(c);
    }
    if !sr_traces.is_empty() && !interrupted() {
        let states: Vec<Vec<crate::core::tla::State>> = sr_traces.iter().map(|(_, s)| s.clone()).collect();
        let replays = tlc.validate(&job.spec, &job.model, &states)?;
        for ((i, _), r) in sr_traces.iter().zip(replays) {
            found[*i].stateright_in_tlc = Some(r.is_ok());
            if let Err(e) = r {
                found[*i].why.push(format!("Stateright's trace in TLC: {e}"));
            }
        }
    }
    for c in &found {
        for w in &c.why {
            progress(&format!("  {}: {}: {w}", job.name, c.property));
        }
    }
    Ok(found)
}
