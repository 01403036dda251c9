//! Helpers shared by the integration tests.
#![allow(dead_code)]

use exactly::cli::{self, Job};
use exactly::family;
use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every committed model file, as a job with its expectation.
pub fn all_jobs() -> Vec<Job> {
    let root = root();
    let mut jobs = Vec::new();
    for f in family::families() {
        let files = cli::model_files(&root, f);
        assert!(!files.is_empty(), "family {} has no model files", f.id());
        for p in files {
            let job = cli::load_job(&root, &p, &[]).unwrap_or_else(|e| panic!("{}: {}", p.display(), e.message));
            assert!(job.expectation.is_some(), "{} has no expectations file", job.name);
            jobs.push(job);
        }
    }
    jobs
}
