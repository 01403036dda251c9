//! `exactly trace`: counterexamples as data, from each checker.

use crate::catalog::results::save_json;
use crate::catalog::{self, Job};
use crate::core::error::{code, progress, usage, Failure};
use crate::core::vocab::{Kind, PropertyDef};
use crate::engine::tlc::Tlc;
use serde_json::json;
use std::path::Path;

/// Which checker's counterexamples to print.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Tlc,
    Stateright,
    Both,
}

/// `exactly trace`: the shortest counterexample of each violated property (or, named, the
/// shortest path to a non-vacuity check's witness) from each checker.
pub fn trace(root: &Path, model: &Path, property: Option<&str>, which: Which, consts: &[String], json_out: bool) -> Result<i32, Failure> {
    let overrides = catalog::parse_overrides(consts)?;
    let job = catalog::load_job(root, model, &overrides)?;
    let props: Vec<PropertyDef> = match property {
        Some(name) => match job.props.iter().find(|p| p.name == name) {
            Some(p) => vec![*p],
            None => {
                let known: Vec<_> = job.props.iter().map(|p| p.name).collect();
                return Err(usage(format!("--property {name}: {} does not check it (it checks: {})", job.name, known.join(", "))));
            }
        },
        None => job.props.iter().filter(|p| p.kind != Kind::Sometimes).copied().collect(),
    };
    let tlc = if which != Which::Stateright { Some(Tlc::locate(root, 1)?) } else { None };
    let mut traces = Vec::new();
    let mut without = Vec::new();
    for p in &props {
        if which != Which::Tlc {
            progress(&format!("{}: {} with Stateright", job.name, p.name));
            match job.family.trace(&job.consts, p) {
                Some(steps) => traces.push(crate::core::trace::Trace {
                    model: job.name.clone(),
                    property: p.name.to_string(),
                    checker: "stateright".into(),
                    kind: if p.kind == Kind::Sometimes { "witness" } else { "violation" }.into(),
                    loops_to: (p.kind == Kind::Liveness).then(|| steps.len().saturating_sub(1)),
                    steps,
                }),
                None => without.push(format!("stateright: {}", p.name)),
            }
        }
        if let Some(tlc) = &tlc {
            progress(&format!("{}: {} with TLC", job.name, p.name));
            match tlc.trace(&job.spec, &job.model, p, &job.name)? {
                Some((t, _)) => traces.push(t),
                None => without.push(format!("tlc: {}", p.name)),
            }
        }
    }
    if property.is_none() && overrides.is_empty() {
        save_traces(root, &job, which, &traces);
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&json!({"traces": traces})).unwrap());
    } else {
        for t in &traces {
            println!("{}", crate::core::trace::render(t));
        }
        for w in &without {
            println!("no counterexample ({w} {})", if property.is_some_and(|_| props[0].kind == Kind::Sometimes) { "is unreached" } else { "holds" });
        }
    }
    Ok(code::OK)
}

/// Saves each checker's traces of a model file (every violated property, none when all hold) as
/// `.exactly/traces/<family>/<model>.<checker>.json`, for `exactly serve`.
fn save_traces(root: &Path, job: &Job, which: Which, traces: &[crate::core::trace::Trace]) {
    for checker in ["stateright", "tlc"] {
        if (checker == "tlc" && which == Which::Stateright) || (checker == "stateright" && which == Which::Tlc) {
            continue;
        }
        let mine: Vec<serde_json::Value> = traces
            .iter()
            .filter(|t| t.checker == checker)
            .map(|t| {
                let mut v = json!(t);
                if let Some(p) = t.explorer_path() {
                    v["explorer_path"] = json!(p);
                }
                v
            })
            .collect();
        let saved = json!({"model": job.name, "family": job.family.id(), "variant": catalog::variant(job), "checker": checker, "traces": mine});
        save_json(root, "traces", job, checker, &saved);
    }
}
