//! `exactly bench`: the command around [`super::bench`].

use crate::catalog::{self};
use crate::core::error::{code, usage, Failure};
use crate::engine::tlc::Tlc;
use crate::families::{self, Family};
use std::path::{Path, PathBuf};

/// `exactly bench`: Stateright against TLC on the bench model files of `families` (all by default).
pub fn bench(root: &Path, families: &[String], runs: usize, json_out: bool) -> Result<i32, Failure> {
    let chosen: Vec<&'static dyn Family> = if families.is_empty() {
        families::families()
    } else {
        families
            .iter()
            .map(|f| families::find(f).ok_or_else(|| usage(format!("unknown family {f} (families: {})", catalog::known_families()))))
            .collect::<Result<_, _>>()?
    };
    let paths: Vec<PathBuf> = chosen.iter().flat_map(|f| catalog::bench_files(root, *f)).collect();
    if paths.is_empty() {
        return Err(usage("no benchmark model files (models/<family>/bench-*.cfg) for these families"));
    }
    let jobs = paths.iter().map(|p| catalog::load_job(root, p, &[])).collect::<Result<Vec<_>, _>>()?;
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
