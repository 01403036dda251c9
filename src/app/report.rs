//! What commands print and how they end: the table, verdicts judged against expectations, exit codes.

use crate::catalog::Job;
use crate::core::error::code;
use crate::core::outcome::{Outcome, Stop};
use crate::core::vocab::{Kind, Verdict};
use crate::catalog::expect;
use serde_json::json;

pub fn outcome_json(o: &Outcome) -> serde_json::Value {
    let mut v = json!({
        "distinct_states": o.distinct_states,
        "generated_states": o.generated_states,
        "seconds": (o.seconds * 1000.0).round() / 1000.0,
        "properties": o.properties,
    });
    if let Some(stop) = o.stopped {
        v["stopped"] = json!(stop);
    }
    if o.distributed {
        v["distributed"] = json!(true);
    }
    v
}

/// The exit code of a command whose runs stopped as `stops` say, and whose results were all
/// right or not.
pub fn exit_code(stops: &[Stop], all_right: bool) -> i32 {
    if stops.contains(&Stop::Interrupted) {
        code::INTERRUPTED
    } else if !stops.is_empty() {
        code::LIMIT
    } else if all_right {
        code::OK
    } else {
        code::WRONG
    }
}

/// Verdict misses for one checker; without an expectation, any violated invariant or liveness
/// property counts as wrong (as TLC's exit code does).
pub fn judge(job: &Job, checker: &str, outcome: &Outcome) -> (Option<bool>, Vec<String>) {
    match &job.expectation {
        Some(e) => {
            let misses = expect::misses(e, checker, outcome);
            (Some(misses.is_empty()), misses)
        }
        None => {
            let violated: Vec<String> = job
                .props
                .iter()
                .filter(|p| p.kind != Kind::Sometimes && outcome.properties.get(p.name) == Some(&Verdict::Violated))
                .map(|p| format!("{checker}: {} violated", p.name))
                .collect();
            (None, violated)
        }
    }
}

pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table { rows: vec![header.iter().map(|s| s.to_string()).collect()] }
    }
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
    pub fn print(&self) {
        let n = self.rows[0].len();
        let widths: Vec<usize> = (0..n).map(|i| self.rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
        for r in &self.rows {
            let line: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            println!("{}", line.join("  ").trim_end());
        }
    }
}

pub fn yes(b: bool) -> String {
    if b { "yes" } else { "NO" }.to_string()
}

pub fn expected_cell(e: Option<bool>) -> String {
    match e {
        Some(b) => yes(b),
        None => "-".to_string(),
    }
}

pub fn expected_verdict(job: &Job, prop: &str) -> String {
    job.expectation
        .as_ref()
        .and_then(|e| e.properties.get(prop))
        .map_or("-".to_string(), |v| v.to_string())
}
