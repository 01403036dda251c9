//! Checking a model file's properties with TLC.
//!
//! TLC has no reachability check, names only the first invariant violated in a state, and
//! cannot name a violated temporal property when several are checked. So a model file takes:
//! - one `-continue` run checking every invariant and non-vacuity check `P` (as `~P`, "violated"
//!   = reached) through one invariant that fails only the first time each of them does (TLC
//!   registers remember which did): it explores everything, so its counts are complete, and
//!   prints one trace per discovered property, not one per violating state;
//! - `Termination` (the one temporal property) joins that run; when it is violated TLC stops
//!   there (it checks liveness part-way too), and the run is repeated without it. Several
//!   temporal properties would take a run each: a temporal violation never names its property.
//!
//! Every run reports into one [`Sink`]; the runs share the engine's worker pool.

use super::replay::{declare_model_values, replay_checks, replayed_in_run, REPLAY_START, REPLAY_STEP};
use super::run::{Late, Run};
use super::tool::RunEnd;
use super::{Spec, Tlc, TlcError};
use crate::core::cfg::ModelFile;
use crate::core::outcome::{Limits, Outcome, Stop};
use crate::core::tla;
use crate::core::vocab::{Kind, PropertyDef, Verdict};
use crate::engine::pool;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

/// What TLC found for a model file.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    pub outcome: Outcome,
    /// The output reporting each discovered property (its violation and trace), for
    /// [`super::parse_trace_states`].
    pub reports: BTreeMap<String, String>,
    /// For each behaviour given to [`Tlc::check`]: whether the complete checking run found it to
    /// be a behaviour of the spec.
    pub replayed: Vec<bool>,
}

/// Everything the runs of one check report, in one place.
#[derive(Default)]
struct Sink {
    verdicts: BTreeMap<String, Verdict>,
    steps: BTreeMap<String, usize>,
    reports: BTreeMap<String, String>,
    /// The counts of a complete run.
    counts: Option<(u64, u64)>,
    /// The largest partial counts of a stopped run, and why it stopped.
    partial: Option<(Stop, u64, u64)>,
    replayed: Vec<bool>,
}

impl Sink {
    /// A run ended: keep its counts.
    fn ended(&mut self, end: &RunEnd) {
        match end {
            RunEnd::Complete { distinct, generated } => {
                self.counts.get_or_insert((*distinct, *generated));
            }
            RunEnd::Stopped { stop, distinct, generated } => {
                let worse = match self.partial {
                    None => true,
                    Some((s, d, _)) => (*stop == Stop::Interrupted && s != Stop::Interrupted) || *distinct > d,
                };
                if worse {
                    self.partial = Some((*stop, *distinct, *generated));
                }
            }
            _ => {}
        }
    }

    /// A run that checked temporal property `p` ended.
    fn temporal(&mut self, p: &PropertyDef, end: &RunEnd) -> Result<(), TlcError> {
        let verdict = match end {
            RunEnd::Complete { .. } => Verdict::Holds,
            RunEnd::Stopped { .. } => Verdict::Unknown,
            RunEnd::TemporalViolated { trace_len } => {
                self.steps.insert(p.name.to_string(), trace_len.saturating_sub(1));
                Verdict::Violated
            }
            other => return Err(TlcError(format!("unexpected end of the run for {}: {other:?}", p.name))),
        };
        self.verdicts.insert(p.name.to_string(), verdict);
        Ok(())
    }

    /// The checking run of the safety properties ended (`complete` or not) and printed `output`.
    fn safety(&mut self, safety: &[&PropertyDef], output: &str, complete: bool) {
        let found = first_failures(output);
        for p in safety {
            let verdict = match found.get(p.name) {
                Some((len, text)) => {
                    self.steps.insert(p.name.to_string(), len.saturating_sub(1));
                    self.reports.insert(p.name.to_string(), text.clone());
                    Verdict::of(p.kind, true)
                }
                None if !complete => Verdict::Unknown,
                None => Verdict::of(p.kind, false),
            };
            self.verdicts.insert(p.name.to_string(), verdict);
        }
    }
}

impl Tlc {
    /// Checks a model file's properties, and replays `behaviours` (states of the spec's
    /// variables, e.g. Stateright's counterexamples) in the checking run ([`replay_checks`]):
    /// for each, whether the complete run found it to be a behaviour of the spec. `false` does
    /// not say why (nor whether it is not one, on a run that stopped or with symmetry reduction,
    /// where replays are not made): [`Tlc::validate`] tells.
    pub fn check(&self, spec: &Spec, mf: &ModelFile, props: &[PropertyDef], limits: &Limits, behaviours: &[Vec<tla::State>]) -> Result<Checked, TlcError> {
        let start = Instant::now();
        let behaviours: Vec<&[tla::State]> = behaviours.iter().map(|b| b.as_slice()).collect();
        // With symmetry reduction TLC explores representatives only, not the behaviours' states.
        let replaying = !behaviours.is_empty() && behaviours.iter().all(|b| !b.is_empty()) && mf.symmetry.is_none();
        let sink = Mutex::new(Sink { replayed: vec![false; behaviours.len()], ..Sink::default() });
        let base = |model: &ModelFile| {
            let mut run = Run::new(spec, model);
            run.workers = self.workers;
            run.max_states = limits.max_states;
            run.deadline = limits.timeout.map(|t| start + t);
            run
        };

        let safety: Vec<&PropertyDef> = props.iter().filter(|p| p.kind != Kind::Liveness).collect();
        let temporal: Vec<&PropertyDef> = props.iter().filter(|p| p.kind == Kind::Liveness).collect();
        // One temporal property (`Termination`) joins the checking run: TLC checks it on the
        // whole graph at the end. If it is violated, TLC stops where it found that out (it also
        // checks part-way, at times of its own): the run is repeated without it.
        let joined: Option<&PropertyDef> = match temporal.as_slice() {
            [one] => Some(*one),
            _ => None,
        };
        let main = || -> Result<(), TlcError> {
            let mut model = mf.clone();
            let mut late = Late::default();
            let mut invariants = Vec::new();
            let mut defs = String::new();
            if !safety.is_empty() {
                defs = first_failures_defs(&safety);
                invariants.push(CHECKS.to_string());
            }
            if replaying {
                let (replay_defs, model_values) = replay_checks(&behaviours);
                declare_model_values(&mut model, &model_values);
                invariants.push(REPLAY_START.to_string());
                late = Late { defs: replay_defs, cfg: format!("ACTION_CONSTRAINT {REPLAY_STEP}\n") };
            }
            let mut run = base(&model);
            run.defs = defs;
            run.late = late;
            run.invariants = invariants;
            run.continue_ = !safety.is_empty();
            let mut with = joined;
            let ran = loop {
                run.properties = with.iter().map(|p| p.name.to_string()).collect();
                let ran = self.execute(&run)?;
                match with {
                    Some(p) => {
                        sink.lock().unwrap().temporal(p, &ran.end)?;
                        if matches!(ran.end, RunEnd::TemporalViolated { .. }) {
                            with = None;
                            continue;
                        }
                        break ran;
                    }
                    None => break ran,
                }
            };
            let mut sink = sink.lock().unwrap();
            sink.ended(&ran.end);
            let complete = match ran.end {
                RunEnd::Complete { .. } => true,
                RunEnd::Stopped { .. } => false,
                other => return Err(TlcError(format!("unexpected end of the checking run: {other:?}"))),
            };
            if replaying && complete {
                sink.replayed = replayed_in_run(&ran.output, &behaviours);
            }
            sink.safety(&safety, &ran.output, complete);
            Ok(())
        };
        // Several temporal properties: one run each (a temporal violation never names its property).
        let temporal_run = |p: &PropertyDef| -> Result<(), TlcError> {
            let mut run = base(mf);
            run.properties = vec![p.name.to_string()];
            let ran = self.execute(&run)?;
            let mut sink = sink.lock().unwrap();
            sink.ended(&ran.end);
            sink.temporal(p, &ran.end)
        };
        let separate: Vec<&PropertyDef> = if joined.is_some() { Vec::new() } else { temporal.clone() };
        let results = pool::run(1 + separate.len(), 2, |k| if k == 0 { main() } else { temporal_run(separate[k - 1]) });
        for (_, r) in results {
            r?;
        }
        let sink = sink.into_inner().unwrap();
        let stopped = sink.partial.map(|(s, _, _)| s);
        let (distinct, generated) = match (sink.counts, sink.partial) {
            (Some(c), _) => c,
            (None, Some((_, d, g))) => (d, g),
            (None, None) => return Err(TlcError("no TLC run reported its state counts".into())),
        };
        let outcome = Outcome {
            properties: sink.verdicts,
            counterexample_steps: sink.steps,
            distinct_states: distinct,
            generated_states: generated,
            seconds: start.elapsed().as_secs_f64(),
            stopped,
            distributed: false,
        };
        Ok(Checked { outcome, reports: sink.reports, replayed: sink.replayed })
    }
}

/// The invariant of the checking run.
pub(super) const CHECKS: &str = "Exactly_Checks";
/// What `Exactly_Checks` prints before it reports a property.
const FIRST_MARK: &str = "<<\"exactly-first\", \"";

/// MC definitions that check invariants and non-vacuity checks in one run: `Exactly_Checks` is
/// violated the first time each of them fails (a non-vacuity check `P` "fails" where `P` holds)
/// and prints the names of those failing there for the first time; later failures of the same
/// property pass (TLC registers remember), so that `-continue` prints one trace per property
/// instead of one per violating state. Every property is evaluated in every state (a set
/// enumeration, not a conjunction, which TLC would cut short).
pub(super) fn first_failures_defs(props: &[&PropertyDef]) -> String {
    let registers: Vec<String> = (1..=props.len()).map(|k| format!("TLCSet({k}, 0)")).collect();
    let checks: Vec<String> = props
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let ok = if p.kind == Kind::Sometimes { format!("~{}", p.name) } else { p.name.to_string() };
            format!("Exactly_First({}, \"{}\", {ok})", i + 1, p.name)
        })
        .collect();
    format!(
        "ASSUME {}\n\
         Exactly_First(k, name, ok) == ok \\/ IF TLCGet(k) = 1 THEN TRUE ELSE PrintT(<<\"exactly-first\", name>>) /\\ ~TLCSet(k, 1)\n\
         {CHECKS} == FALSE \\notin {{{}}}\n",
        registers.join(" /\\ "),
        checks.join(", ")
    )
}

/// The properties a `-continue` run of [`first_failures_defs`] reported, each with the number of
/// states of its trace and the output of its report (the violation and its trace). With several
/// workers a property can be reported more than once: the shortest trace is kept.
pub(super) fn first_failures(output: &str) -> BTreeMap<String, (usize, String)> {
    let mut starts: Vec<usize> = ["@!@!@STARTMSG 2110:", "@!@!@STARTMSG 2107:"]
        .iter()
        .flat_map(|m| output.match_indices(m).map(|(i, _)| i))
        .collect();
    starts.sort_unstable();
    let marks: Vec<(usize, &str)> = output
        .match_indices(FIRST_MARK)
        .filter_map(|(i, _)| {
            let rest = &output[i + FIRST_MARK.len()..];
            rest.find('"').map(|end| (i, &rest[..end]))
        })
        .collect();
    let mut found = BTreeMap::new();
    let mut previous = 0;
    for (j, &s) in starts.iter().enumerate() {
        let end = starts.get(j + 1).copied().unwrap_or(output.len());
        let report = &output[s..end];
        let len = report.matches("@!@!@STARTMSG 2217:").count().max(1);
        // A property's names are printed just before its report.
        for (_, name) in marks.iter().filter(|(i, _)| (previous..s).contains(i)) {
            let shorter = found.get(*name).is_none_or(|(l, _): &(usize, String)| len < *l);
            if shorter {
                found.insert(name.to_string(), (len, report.to_string()));
            }
        }
        previous = s;
    }
    found
}

