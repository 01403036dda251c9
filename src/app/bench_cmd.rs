//! `exactly bench`: the command around [`super::bench`].

use crate::catalog::{self, Job};
use crate::core::vocab::Verdict;
use crate::core::error::{code, usage, Failure};
use crate::engine::tlc::Tlc;
use crate::families::{self, Family};
use std::path::{Path, PathBuf};

/// The scratch folder of the claim files' benchmark copies; removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A claim file as a benchmark: the same constants with the invariants it expects to hold only
/// (no temporal property, no non-vacuity check, none that fails by design, which would stop TLC),
/// written to a copy in `scratch`, in a folder named after its family (so both checkers read it).
fn invariants_that_hold(root: &Path, scratch: &Scratch, job: &Job) -> Result<Job, Failure> {
    let holds = |name: &String| job.expectation.as_ref().and_then(|e| e.properties.get(name)).is_some_and(|v| *v == Verdict::Holds);
    let invariants: Vec<String> = job.model.invariants.iter().filter(|i| holds(i)).cloned().collect();
    let dir = scratch.0.join(job.family.id());
    let file = dir.join(job.path.file_name().unwrap_or_default());
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(&file, job.model.to_tlc_cfg(&invariants, &[])))
        .map_err(|e| Failure::env(format!("cannot write {}: {e}", file.display())))?;
    let mut bench = catalog::load_job(root, &file, &[])?;
    bench.name = format!("{} (invariants)", job.name);
    Ok(bench)
}

/// `exactly bench`: Stateright against TLC on the bench model files of `families` (all by
/// default), or, with `claims`, on each family's largest claim file.
pub fn bench(root: &Path, families: &[String], runs: usize, claims: bool, json_out: bool) -> Result<i32, Failure> {
    let chosen: Vec<&'static dyn Family> = if families.is_empty() {
        families::families()
    } else {
        families
            .iter()
            .map(|f| families::find(f).ok_or_else(|| usage(format!("unknown family {f} (families: {})", catalog::known_families()))))
            .collect::<Result<_, _>>()?
    };
    let scratch = Scratch(std::env::temp_dir().join(format!("exactly-bench-{}", std::process::id())));
    let jobs = if claims {
        let mut jobs = Vec::new();
        for f in &chosen {
            let files = catalog::claim_files(root, *f).iter().map(|p| catalog::load_job(root, p, &[])).collect::<Result<Vec<_>, _>>()?;
            // The largest, by the distinct states Stateright found.
            let size = |j: &crate::catalog::Job| j.expectation.as_ref().map_or(0, |e| e.stateright.distinct_states);
            if let Some(job) = files.into_iter().max_by_key(size) {
                jobs.push(invariants_that_hold(root, &scratch, &job)?);
            }
        }
        jobs
    } else {
        let paths: Vec<PathBuf> = chosen.iter().flat_map(|f| catalog::bench_files(root, *f)).collect();
        paths.iter().map(|p| catalog::load_job(root, p, &[])).collect::<Result<Vec<_>, _>>()?
    };
    if jobs.is_empty() {
        let what = if claims { "claim files (models/<family>/claim-*.cfg)" } else { "benchmark model files (models/<family>/bench-*.cfg)" };
        return Err(usage(format!("no {what} for these families")));
    }
    let tlc = Tlc::locate(root, 2)?;
    let dir = root.join("bench");
    let mut write_error = None;
    // Each model file's row is merged into the results as soon as it is measured.
    let rows = super::bench::run(&jobs, &tlc, runs, |row| {
        let file = dir.join("results.json");
        let earlier = std::fs::read_to_string(&file).ok().and_then(|t| serde_json::from_str(&t).ok());
        let merged = super::bench::merge(earlier, super::bench::to_json(std::slice::from_ref(row), runs));
        let written = std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::write(&file, serde_json::to_string_pretty(&merged).unwrap() + "\n"))
            .and_then(|_| std::fs::write(dir.join("chart.svg"), super::bench::chart(&merged)));
        if let Err(e) = written {
            write_error.get_or_insert(format!("cannot write the results into {}: {e}", dir.display()));
        }
    })?;
    if let Some(e) = write_error {
        return Err(Failure::env(e));
    }
    let new = super::bench::to_json(&rows, runs);
    if json_out {
        println!("{}", serde_json::to_string_pretty(&new).unwrap());
    } else {
        print!("{}", super::bench::table(&rows));
        println!("\nMedians of {runs} run(s) each; written to bench/results.json and bench/chart.svg.");
    }
    Ok(code::OK)
}
