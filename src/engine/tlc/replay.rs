//! Replaying behaviours (states of the spec's variables, such as Stateright's counterexamples)
//! in TLC. One way, with a fallback:
//!
//! - **in the checking run** ([`replay_checks`]): an invariant and an action constraint that
//!   always hold print each behaviour's start and steps that the run reaches and generates, so a
//!   complete run tells which behaviours are behaviours of the spec at no extra run;
//! - **trace validation** ([`Tlc::validate`]), for what the checking run could not tell (a run
//!   that stopped, symmetry reduction): a run of the spec constrained to follow each behaviour,
//!   which says where one stops.

use super::run::Run;
use super::tool::{messages, RunEnd};
use super::{Spec, Tlc, TlcError};
use crate::core::cfg::{ModelFile, Value as CfgValue};
use crate::core::tla;
use std::collections::BTreeSet;

impl Tlc {
    /// Trace validation: replays each behaviour in a run of the spec constrained to follow it step
    /// by step (as TLA+ trace validation does): Ok(()) when TLC reaches its last state, Err(why)
    /// when it cannot. The behaviours go into one run (the replay spec starts in the first state
    /// of any of them, and `-continue` reports each one whose last state TLC reaches); one that TLC
    /// cannot follow is replayed again alone, to say where it stops.
    pub fn validate(&self, spec: &Spec, mf: &ModelFile, traces: &[Vec<tla::State>]) -> Result<Vec<Result<(), String>>, TlcError> {
        // A behaviour of one state ends in an initial state, reported without a trace.
        let batch: Vec<usize> = (0..traces.len()).filter(|&i| traces[i].len() > 1).collect();
        let mut reached = BTreeSet::new();
        if !batch.is_empty() {
            let behaviours: Vec<&[tla::State]> = batch.iter().map(|&i| traces[i].as_slice()).collect();
            let mut run = replay_run(spec, mf, &behaviours);
            run.continue_ = true;
            let ran = self.execute(&run)?;
            if !matches!(ran.end, RunEnd::Complete { .. }) {
                return Err(TlcError(format!("the replay run ended unexpectedly: {:?}", ran.end)));
            }
            // Each report ends in the last state of a behaviour: its `replayTrace` says which.
            let msgs = messages(&ran.output);
            for (k, m) in msgs.iter().enumerate() {
                if m.code != 2110 {
                    continue;
                }
                let last = msgs[k + 1..].iter().take_while(|m| m.code != 2110).filter(|m| m.code == 2217).last();
                let t = last.and_then(|m| tla::parse_trace_state(&m.text).ok()).and_then(|t| {
                    t.state.iter().find(|(n, _)| n == "replayTrace").and_then(|(_, v)| match v {
                        tla::Value::Int(i) => usize::try_from(*i).ok(),
                        _ => None,
                    })
                });
                if let Some(t) = t.filter(|t| (1..=batch.len()).contains(t)) {
                    // By construction a behaviour's last state is reached after all its steps.
                    reached.insert(batch[t - 1]);
                }
            }
        }
        (0..traces.len()).map(|i| if reached.contains(&i) { Ok(Ok(())) } else { self.validate_one(spec, mf, &traces[i]) }).collect()
    }

    /// Trace validation of one behaviour, saying where TLC stops following it.
    fn validate_one(&self, spec: &Spec, mf: &ModelFile, states: &[tla::State]) -> Result<Result<(), String>, TlcError> {
        if states.is_empty() {
            return Ok(Err("the trace has no state".into()));
        }
        let ran = self.execute(&replay_run(spec, mf, &[states]))?;
        Ok(match ran.end {
            RunEnd::InvariantViolated { trace_len, .. } if trace_len == states.len() => Ok(()),
            // Violated in an initial state: TLC reports it without a trace.
            RunEnd::InvariantViolated { trace_len: 0, .. } if states.len() == 1 => Ok(()),
            RunEnd::InvariantViolated { trace_len, .. } => Err(format!("TLC replayed it in {trace_len} states, not {}", states.len())),
            RunEnd::Complete { .. } => {
                // The deepest state reached tells how far the behaviour could be followed.
                let depth = messages(&ran.output).iter().find(|m| m.code == 2194).map(|m| m.text.clone()).unwrap_or_default();
                Err(format!("TLC cannot follow the trace to its end ({})", depth.trim()))
            }
            other => Err(format!("the replay run ended unexpectedly: {other:?}")),
        })
    }
}

/// The run of the trace-constrained spec replaying `behaviours`, failing `ReplayIncomplete` in
/// each one's last state.
fn replay_run<'a>(spec: &'a Spec, mf: &ModelFile, behaviours: &[&[tla::State]]) -> Run<'a> {
    let (defs, replay_mf) = replay_spec(mf, behaviours);
    let mut run = Run::new(spec, &replay_mf);
    run.defs = defs;
    run.invariants = vec!["ReplayIncomplete".into()];
    run
}

/// The trace-constrained spec replaying `behaviours` (states of the spec's variables): it starts
/// in the first state of any of them (`replayTrace` says which) and follows that one step by
/// step (`replayStep`); `ReplayIncomplete` fails in each one's last state.
fn replay_spec(mf: &ModelFile, behaviours: &[&[tla::State]]) -> (String, ModelFile) {
    let (vars, mut defs, model_values) = behaviours_defs("ReplayTraces", behaviours);
    defs.push_str("VARIABLES replayTrace, replayStep\n");
    let at = |step: &str, prime: &str| {
        vars.iter().map(|v| format!("{v}{prime} = ReplayTraces[replayTrace][{step}].{v}")).collect::<Vec<_>>().join(" /\\ ")
    };
    defs.push_str(&format!("ReplayInit == Init /\\ replayTrace \\in 1..Len(ReplayTraces) /\\ replayStep = 1 /\\ {}\n", at("1", "")));
    defs.push_str(&format!(
        "ReplayNext == replayStep < Len(ReplayTraces[replayTrace]) /\\ Next /\\ UNCHANGED replayTrace /\\ replayStep' = replayStep + 1 /\\ {}\n",
        at("replayStep + 1", "'")
    ));
    defs.push_str("ReplaySpec == ReplayInit /\\ [][ReplayNext]_<<vars, replayTrace, replayStep>>\n");
    defs.push_str("ReplayIncomplete == replayStep < Len(ReplayTraces[replayTrace])\n");
    let mut replay_mf = mf.clone();
    replay_mf.specification = Some("ReplaySpec".into());
    // The trace pins every state: no symmetry reduction to follow it.
    replay_mf.symmetry = None;
    declare_model_values(&mut replay_mf, &model_values);
    (defs, replay_mf)
}

/// `name == << <<state, ...>>, ... >>`, the behaviours as a sequence of sequences of records
/// (preceded by the declaration of the model values they name), the spec's variables, and those
/// model values.
pub(super) fn behaviours_defs<'a>(name: &str, behaviours: &[&'a [tla::State]]) -> (Vec<&'a str>, String, BTreeSet<String>) {
    let vars: Vec<&str> = behaviours.first().and_then(|b| b.first()).map_or(Vec::new(), |s| s.iter().map(|(n, _)| n.as_str()).collect());
    let mut model_values = BTreeSet::new();
    for s in behaviours.iter().flat_map(|b| b.iter()) {
        for (_, v) in s {
            collect_model_values(v, &mut model_values);
        }
    }
    let mut defs = String::new();
    if !model_values.is_empty() {
        defs.push_str(&format!("CONSTANTS {}\n", model_values.iter().cloned().collect::<Vec<_>>().join(", ")));
    }
    defs.push_str(&format!("{name} == <<\n"));
    for (j, b) in behaviours.iter().enumerate() {
        defs.push_str(&format!("  {}<<\n", if j == 0 { "" } else { ", " }));
        for (k, s) in b.iter().enumerate() {
            let fields: Vec<String> = s.iter().map(|(n, v)| format!("{n} |-> {v}")).collect();
            defs.push_str(&format!("    {}[{}]\n", if k == 0 { "" } else { ", " }, fields.join(", ")));
        }
        defs.push_str("  >>\n");
    }
    defs.push_str(">>\n");
    (vars, defs, model_values)
}

/// The model values a run's definitions name, given to TLC as themselves (`h1 = h1`).
pub(super) fn declare_model_values(mf: &mut ModelFile, model_values: &BTreeSet<String>) {
    for m in model_values {
        if mf.constant(m).is_none() {
            mf.constants.push((m.clone(), CfgValue::ModelValue(m.clone())));
        }
    }
}

/// The invariant and the action constraint with which a checking run replays behaviours.
pub(super) const REPLAY_START: &str = "Exactly_ReplayStart";
pub(super) const REPLAY_STEP: &str = "Exactly_ReplayStep";

/// Definitions (read after the spec's modules: [`Late`]) with which a checking run that explores
/// every reachable state also replays `behaviours` (states of the spec's variables), instead of
/// a run of its own per model file ([`Tlc::validate`]): the invariant `Exactly_ReplayStart` prints each behaviour whose first
/// state the run reaches and satisfies `Init` (then it is an initial state), and the action
/// constraint `Exactly_ReplayStep` prints each step of a behaviour that the run generates as a
/// transition (a step of `Next` from a reachable state). Both always hold: they change neither
/// what TLC explores nor its counts. A behaviour whose start and every step are printed is a
/// behaviour of the spec ([`replayed_in_run`]).
pub(super) fn replay_checks(behaviours: &[&[tla::State]]) -> (String, BTreeSet<String>) {
    let (vars, mut defs, model_values) = behaviours_defs("Exactly_Replays", behaviours);
    let record = |prime: &str| vars.iter().map(|v| format!("{v} |-> {v}{prime}")).collect::<Vec<_>>().join(", ");
    defs.push_str(&format!("Exactly_Now == [{}]\nExactly_Later == [{}]\n", record(""), record("'")));
    defs.push_str(
        "Exactly_Firsts == {Exactly_Replays[b][1] : b \\in DOMAIN Exactly_Replays}\n\
         Exactly_Froms == UNION {{Exactly_Replays[b][i] : i \\in 1..Len(Exactly_Replays[b]) - 1} : b \\in DOMAIN Exactly_Replays}\n",
    );
    defs.push_str(&format!(
        "{REPLAY_START} == Exactly_Now \\in Exactly_Firsts /\\ Init =>\n  \
         \\A b \\in DOMAIN Exactly_Replays : Exactly_Replays[b][1] = Exactly_Now => PrintT(<<\"exactly-start\", b>>)\n\
         {REPLAY_STEP} == Exactly_Now \\in Exactly_Froms =>\n  \
         \\A b \\in DOMAIN Exactly_Replays : \\A i \\in 1..Len(Exactly_Replays[b]) - 1 :\n    \
         Exactly_Replays[b][i] = Exactly_Now /\\ Exactly_Replays[b][i + 1] = Exactly_Later => PrintT(<<\"exactly-step\", b, i>>)\n"
    ));
    (defs, model_values)
}

/// Which behaviours of [`replay_checks`] a complete run replayed: those whose start and every
/// step it printed.
pub(super) fn replayed_in_run(output: &str, behaviours: &[&[tla::State]]) -> Vec<bool> {
    let printed = |mark: &str| -> BTreeSet<Vec<usize>> {
        let mark = format!("<<\"{mark}\", ");
        output
            .match_indices(&mark)
            .filter_map(|(i, _)| {
                let rest = &output[i + mark.len()..];
                let numbers = &rest[..rest.find(">>")?];
                numbers.split(',').map(|n| n.trim().parse().ok()).collect()
            })
            .collect()
    };
    let (starts, steps) = (printed("exactly-start"), printed("exactly-step"));
    (1..=behaviours.len())
        .map(|b| starts.contains(&vec![b]) && (1..behaviours[b - 1].len()).all(|i| steps.contains(&vec![b, i])))
        .collect()
}

fn collect_model_values(v: &tla::Value, out: &mut BTreeSet<String>) {
    match v {
        tla::Value::ModelValue(m) => {
            out.insert(m.clone());
        }
        tla::Value::Seq(items) | tla::Value::Set(items) => items.iter().for_each(|x| collect_model_values(x, out)),
        tla::Value::Record(fields) => fields.iter().for_each(|(_, x)| collect_model_values(x, out)),
        tla::Value::Function(pairs) => pairs.iter().for_each(|(k, x)| {
            collect_model_values(k, out);
            collect_model_values(x, out)
        }),
        _ => {}
    }
}

