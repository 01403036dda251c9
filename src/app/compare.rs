//! `exactly compare`: both checkers on each model file, compared with each other and with the
//! expectations, and each counterexample replayed in the other checker.

use super::counterexamples::{counterexamples, Counterexample, SrTrace};
use super::report::{exit_code, expected_cell, expected_verdict, judge, outcome_json, yes, Table};
use super::single::small_model_tlc;
use crate::catalog::results::save_result;
use crate::catalog::{variant, Job};
use crate::core::cancel::interrupted;
use crate::core::error::{progress, Failure};
use crate::core::outcome::{Outcome, Stop};
use crate::core::vocab::{Kind, Verdict};
use crate::engine::pool;
use crate::engine::stateright::RunOptions;
use crate::engine::tlc::Tlc;
use serde_json::json;
use std::path::Path;

/// The order in which compare takes model files: the largest first (by the expected number of
/// states TLC generates), so that the two at a time finish together rather than one long run
/// last; files without an expectation keep their place after them.
fn largest_first(jobs: &[Job]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].expectation.as_ref().map_or(0, |e| e.tlc.as_ref().unwrap_or(&e.stateright).generated_states)));
    order
}

/// What `compare` found for one model file.
struct Compared {
    rows: Vec<Vec<String>>,
    result: serde_json::Value,
    /// Whether the checkers agree: None where a run stopped or a verdict is `unknown`, and
    /// nothing seen disagrees (undecided is never agreement).
    agree: Option<bool>,
    expected: bool,
    stops: Vec<Stop>,
}

/// `exactly compare`: each model file with both checkers, two files at a time (a file's TLC
/// run has one worker, so that its traces are the shortest, and a small run is mostly Java
/// starting up, on one core).
pub fn compare(root: &Path, jobs: &[Job], opts: &RunOptions, tlc: &Tlc, json_out: bool) -> Result<i32, Failure> {
    let order = largest_first(jobs);
    let done = pool::run(order.len(), 2, |k| compare_one(root, &jobs[order[k]], (k + 1, jobs.len()), opts, tlc));
    // Back in the files' own order.
    let mut done: Vec<(usize, Result<Compared, Failure>)> = done.into_iter().map(|(k, r)| (order[k], r)).collect();
    done.sort_by_key(|(i, _)| *i);
    let (mut all_agree, mut all_expected) = (Some(true), true);
    let mut results = Vec::new();
    let mut table = Table::new(&["model", "property", "TLC", "Stateright", "agree", "expected"]);
    let mut stops = Vec::new();
    for (_, r) in done {
        let c = r?;
        all_agree = both(all_agree, c.agree);
        all_expected &= c.expected;
        for row in c.rows {
            table.row(row);
        }
        stops.extend(c.stops);
        results.push(c.result);
    }
    if interrupted() && !stops.contains(&Stop::Interrupted) {
        stops.push(Stop::Interrupted);
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&json!({"agree": all_agree, "expected": all_expected, "results": results})).unwrap());
    } else {
        table.print();
        if !stops.is_empty() {
            println!("\nSome runs {}: `unknown` verdicts are undecided, and their counts partial.", stops[0]);
        }
        println!(
            "\n{} model files: the checkers {}; expectations {}.",
            jobs.len(),
            match all_agree {
                Some(true) => "agree on every one",
                Some(false) => "DISAGREE",
                None => "agree wherever both decided, but some verdicts are undecided (unknown)",
            },
            if jobs.iter().all(|j| j.expectation.is_none()) {
                "not applied (constants overridden)"
            } else if all_expected {
                "met"
            } else {
                "MISSED"
            }
        );
    }
    Ok(exit_code(&stops, all_agree != Some(false) && all_expected))
}

/// Agreement of two parts: false if either disagrees, else undecided (None) if either is.
fn both(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

/// Both checkers on one model file (the `at`-th of `of`).
fn compare_one(root: &Path, job: &Job, (at, of): (usize, usize), opts: &RunOptions, tlc: &Tlc) -> Result<Compared, Failure> {
    let tlc = &small_model_tlc(tlc, job);
    progress(&format!("[{at}/{of}] {}: Stateright", job.name));
    let sr = job.family.check(&job.consts, &job.props, opts);
    let lockstep = job.expectation.as_ref().is_none_or(|e| e.lockstep);
    let sr_traces = stateright_counterexamples(job, lockstep, &sr);
    let (tl, reports, in_run) = if sr.stopped == Some(Stop::Interrupted) || interrupted() {
        (Outcome { stopped: Some(Stop::Interrupted), ..Outcome::default() }, Default::default(), Vec::new())
    } else {
        progress(&format!("[{at}/{of}] {}: TLC", job.name));
        let behaviours: Vec<_> = sr_traces.iter().map(|(_, s)| s.clone()).collect();
        let checked = tlc.check(&job.spec, &job.model, &job.props, &opts.limits, &behaviours)?;
        (checked.outcome, checked.reports, checked.replayed)
    };
    let sr_traces: Vec<SrTrace> =
        sr_traces.into_iter().zip(in_run.into_iter().chain(std::iter::repeat(false))).map(|((p, s), r)| (p, s, r)).collect();
    let mut stops = Vec::new();
    for (who, o) in [("Stateright", &sr), ("TLC", &tl)] {
        if let Some(stop) = o.stopped {
            progress(&format!("  {}: {who} {stop} after {} distinct / {} generated states", job.name, o.distinct_states, o.generated_states));
            stops.push(stop);
        }
    }
    let stopped = !stops.is_empty();
    // Symmetry reduction: each checker keeps its own representatives, so each one's counts meet
    // its own expectation only.
    let symmetric = job.consts.symmetric();
    // A stopped run decides nothing about counts, nor about the properties it left unknown.
    let counts_agree =
        stopped || !lockstep || symmetric || (sr.distinct_states == tl.distinct_states && sr.generated_states == tl.generated_states);
    let verdicts_agree = sr.properties.iter().all(|(name, v)| {
        let t = tl.properties.get(name);
        *v == Verdict::Unknown || t == Some(&Verdict::Unknown) || t == Some(v)
    });
    let undecided = stopped
        || sr.properties.values().chain(tl.properties.values()).any(|v| *v == Verdict::Unknown)
        || sr.properties.keys().any(|name| !tl.properties.contains_key(name));
    let agree = if !(counts_agree && verdicts_agree) {
        Some(false)
    } else if undecided {
        None
    } else {
        Some(true)
    };
    let (e_tlc, m_tlc) = judge(job, "tlc", &tl);
    let (e_sr, m_sr) = judge(job, "stateright", &sr);
    let expected = match (e_tlc, e_sr) {
        (Some(a), Some(b)) => Some(a && b),
        _ => None,
    };
    if job.expectation.is_some() && !stopped {
        for m in m_tlc.iter().chain(&m_sr) {
            progress(&format!("  {}: {m}", job.name));
        }
    }
    let mut rows = verdict_rows(job, &tl, &sr);
    rows.push(counts_row(job, &tl, &sr, lockstep, counts_agree));
    let counterexamples = if stopped { Vec::new() } else { counterexamples(job, lockstep, &tl, &reports, &sr, tlc, sr_traces)? };
    let mut all_agree = agree;
    for c in &counterexamples {
        let ok = c.agree(lockstep);
        all_agree = both(all_agree, Some(ok));
        rows.push(counterexample_row(job, c, ok));
    }
    let result = json!({
        "model": job.name,
        "family": job.family.id(),
        "variant": variant(job),
        "lockstep": lockstep,
        "symmetry": symmetric,
        "counterexamples": counterexamples.iter().map(|c| c.to_json(lockstep)).collect::<Vec<_>>(),
        "tlc": outcome_json(&tl),
        "stateright": outcome_json(&sr),
        "agree": agree,
        "expected": expected,
    });
    save_result(root, job, "compare", &result);
    Ok(Compared { rows, result, agree: all_agree, expected: expected.unwrap_or(true), stops })
}

/// Stateright's shortest counterexample of each invariant it found violated, as states of the
/// TLA+ twin, for TLC's checking run to replay (a lockstep twin, a complete run).
fn stateright_counterexamples(job: &Job, lockstep: bool, sr: &Outcome) -> Vec<(&'static str, Vec<crate::core::tla::State>)> {
    let mut traces = Vec::new();
    if lockstep && sr.stopped.is_none() {
        for p in job.props.iter().filter(|p| p.kind == Kind::Invariant) {
            if sr.properties.get(p.name) == Some(&Verdict::Violated) && !interrupted() {
                if let Some(states) = job.family.tla_trace(&job.consts, p) {
                    traces.push((p.name, states));
                }
            }
        }
    }
    traces
}

/// One row per property: each checker's verdict, whether they agree, whether both meet the
/// expectation.
fn verdict_rows(job: &Job, tl: &Outcome, sr: &Outcome) -> Vec<Vec<String>> {
    job.props
        .iter()
        .map(|p| {
            let t = tl.properties.get(p.name).map_or("-".into(), |v| v.to_string());
            let s = sr.properties.get(p.name).map_or("-".into(), |v| v.to_string());
            let want = expected_verdict(job, p.name);
            let exp = if job.expectation.is_none() { "-".to_string() } else { yes(want == t && want == s) };
            let agree_cell = if t == "unknown" || s == "unknown" { "-".to_string() } else { yes(t == s) };
            vec![job.name.clone(), p.name.to_string(), t, s, agree_cell, exp]
        })
        .collect()
}

/// The row of state counts.
fn counts_row(job: &Job, tl: &Outcome, sr: &Outcome, lockstep: bool, counts_agree: bool) -> Vec<String> {
    let exp_counts = job.expectation.as_ref().map(|e| {
        e.tlc.as_ref().is_some_and(|c| c.distinct_states == tl.distinct_states && c.generated_states == tl.generated_states)
            && e.stateright.distinct_states == sr.distinct_states
            && e.stateright.generated_states == sr.generated_states
    });
    let label = if job.consts.symmetric() {
        "states distinct/generated (symmetry)"
    } else if lockstep {
        "states distinct/generated"
    } else {
        "states distinct/generated (not lockstep)"
    };
    vec![
        job.name.clone(),
        label.into(),
        format!("{}/{}", tl.distinct_states, tl.generated_states),
        format!("{}/{}", sr.distinct_states, sr.generated_states),
        yes(counts_agree),
        expected_cell(exp_counts),
    ]
}

/// The row of one counterexample: each checker's length, and whether it replayed in the other.
fn counterexample_row(job: &Job, c: &Counterexample, ok: bool) -> Vec<String> {
    let replay = |r: Option<bool>| r.map_or("", |b| if b { ", replayed" } else { ", NOT replayed" });
    vec![
        job.name.clone(),
        format!("counterexample {}", c.property),
        c.tlc_length.map_or("-".into(), |n| format!("{n} steps{}", replay(c.tlc_in_stateright))),
        c.stateright_length.map_or("-".into(), |n| format!("{n} steps{}", replay(c.stateright_in_tlc))),
        yes(ok),
        "-".into(),
    ]
}
