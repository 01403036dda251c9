//! `exactly check` and `exactly tlc`: one checker over model files.

use super::report::{exit_code, expected_verdict, judge, outcome_json, yes, Table};
use crate::catalog::results::save_result;
use crate::catalog::Job;
use crate::core::cancel::interrupted;
use crate::core::outcome::Limits;
use crate::engine::stateright::RunOptions;
use crate::core::error::{listen, progress, usage, Failure};
use crate::core::outcome::Outcome;
use crate::core::vocab::{Kind, Verdict};
use crate::engine::tlc::{Cluster, Tlc};
use serde_json::json;
use std::path::Path;

/// `exactly check`: Stateright on each model file.
pub fn check(root: &Path, jobs: &[Job], opts: &RunOptions, json_out: bool) -> Result<i32, Failure> {
    run_one(root, jobs, "stateright", json_out, |job| Ok(job.family.check(&job.consts, &job.props, opts)))
}

/// `exactly tlc`: TLC on each model file.
pub fn tlc(root: &Path, jobs: &[Job], tlc: &Tlc, limits: &Limits, json_out: bool) -> Result<i32, Failure> {
    run_one(root, jobs, "tlc", json_out, |job| Ok(small_model_tlc(tlc, job).check(&job.spec, &job.model, &job.props, limits, &[])?.outcome))
}

/// `exactly tlc --distributed`: TLC's distributed mode on each model file (its invariants and
/// non-vacuity checks; temporal properties stay unknown).
pub fn tlc_distributed(root: &Path, jobs: &[Job], tlc: &Tlc, cluster: &Cluster, limits: &Limits, json_out: bool) -> Result<i32, Failure> {
    // The port, checked free (one in use is bad input, said before TLC would fail on it) or, for
    // 0, chosen now: one for every run and model file, so that workers started elsewhere follow.
    let bound = listen(&cluster.host, cluster.port)?.local_addr();
    let port = bound.map_err(|e| usage(format!("cannot listen on {}:{}: {e}", cluster.host, cluster.port)))?.port();
    let cluster = &Cluster { port, ..cluster.clone() };
    run_one(root, jobs, "tlc", json_out, |job| Ok(tlc.check_distributed(&job.spec, &job.model, &job.props, limits, cluster)?.outcome))
}

/// One checker over model files.
fn run_one(root: &Path, jobs: &[Job], checker: &str, json_out: bool, mut run: impl FnMut(&Job) -> Result<Outcome, Failure>) -> Result<i32, Failure> {
    let mut all_ok = true;
    let mut results = Vec::new();
    let mut table = Table::new(&["model", "property", "verdict", "expected", "ok"]);
    let mut traces = Vec::new();
    let mut stops = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        if interrupted() {
            break;
        }
        progress(&format!("[{}/{}] {} with {checker}", i + 1, jobs.len(), job.name));
        let outcome = run(job)?;
        if let Some(stop) = outcome.stopped {
            progress(&format!(
                "  {}: {stop} after {} distinct / {} generated states",
                job.name, outcome.distinct_states, outcome.generated_states
            ));
            stops.push(stop);
        }
        let (expected, misses) = judge(job, checker, &outcome);
        all_ok &= misses.is_empty();
        if outcome.stopped.is_none() {
            for m in &misses {
                progress(&format!("  {}: {m}", job.name));
            }
        }
        for p in &job.props {
            let v = outcome.properties.get(p.name).map_or("-".into(), |v| v.to_string());
            let want = expected_verdict(job, p.name);
            let ok = match want.as_str() {
                "-" => "-".to_string(),
                _ if v == "unknown" => "unknown".to_string(),
                _ => yes(want == v),
            };
            table.row(vec![job.name.clone(), p.name.to_string(), v, want, ok]);
        }
        if checker == "tlc" && !json_out {
            for p in job.props.iter().filter(|p| p.kind != Kind::Sometimes) {
                if let Some(n) = outcome.counterexample_steps.get(p.name) {
                    traces.push(format!("{}: {} is violated after {n} steps (TLC's error trace)", job.name, p.name));
                }
            }
        }
        if checker == "stateright" && !json_out && outcome.stopped.is_none() {
            for p in job.props.iter().filter(|p| p.kind != Kind::Sometimes) {
                if outcome.properties.get(p.name) == Some(&Verdict::Violated) {
                    if let Some(steps) = job.family.trace(&job.consts, p) {
                        let actions: Vec<&str> = steps.iter().skip(1).map(|s| s.action.as_str()).collect();
                        traces.push(format!("{}: {} is violated after {} steps:\n  {}", job.name, p.name, actions.len(), actions.join("\n  ")));
                    }
                }
            }
        }
        let counts = format!("{}/{}{}", outcome.distinct_states, outcome.generated_states, if outcome.distributed { " (distributed)" } else { "" });
        let want = job.expectation.as_ref().map_or("-".to_string(), |e| {
            crate::catalog::expect::counts_of(e, checker).map_or("unknown".to_string(), |c| format!("{}/{}", c.distinct_states, c.generated_states))
        });
        let ok = match &job.expectation {
            Some(e) => yes(crate::catalog::expect::counts_met(e, checker, &outcome) == Some(true)),
            None => "-".to_string(),
        };
        table.row(vec![job.name.clone(), "states distinct/generated".into(), counts, want, ok]);
        let result = json!({
            "model": job.name,
            "family": job.family.id(),
            "variant": crate::catalog::variant(job),
            checker: outcome_json(&outcome),
            "expected": expected,
        });
        save_result(root, job, checker, &result);
        results.push(result);
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&json!({"ok": all_ok, "results": results})).unwrap());
    } else {
        table.print();
        if !traces.is_empty() {
            println!("\nShortest counterexamples ({}, breadth-first):", if checker == "tlc" { "TLC" } else { "Stateright" });
            for t in traces {
                println!("{t}");
            }
        }
    }
    Ok(exit_code(&stops, all_ok))
}

/// TLC for one model file: committed files known to be small start Java's quick compiler only.
/// Measured on the committed files: the quick compiler spends less CPU up to about 20,000
/// distinct states, and about as much at 20,000; at 36,000 its run takes a third longer, at
/// 52,000 half as long again.
pub fn small_model_tlc(tlc: &Tlc, job: &Job) -> Tlc {
    let small = job.expectation.as_ref().and_then(|e| e.tlc.as_ref()).is_some_and(|c| c.distinct_states < 30_000);
    Tlc { quick_start: small, ..tlc.clone() }
}
