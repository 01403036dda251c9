//! The results store: every run's result (and `exactly trace`'s traces) as JSON under
//! `.exactly/` (or `$EXACTLY_DATA`, [`data_dir`]), each file written whole (a temporary file, renamed).

use super::Job;
use crate::core::error::progress;
use std::path::{Path, PathBuf};

/// Where runs save what they found: `$EXACTLY_DATA` if set (the tests give each test a scratch
/// folder), else `.exactly/` under the catalog root.
pub fn data_dir(root: &Path) -> PathBuf {
    match std::env::var_os("EXACTLY_DATA") {
        Some(d) => PathBuf::from(d),
        None => root.join(".exactly"),
    }
}

/// Saves a result as `.exactly/results/<family>/<model>.<kind>.json`, kind being `stateright`,
/// `tlc` or `compare` (written to a temporary file, then renamed, so that
/// a crash or an interruption never leaves a half-written file).
pub fn save_result(root: &Path, job: &Job, kind: &str, result: &serde_json::Value) {
    save_json(root, "results", job, kind, result)
}

/// Saves `.exactly/<folder>/<family>/<model>.<kind>.json` atomically (a temporary file, renamed).
pub fn save_json(root: &Path, folder: &str, job: &Job, kind: &str, result: &serde_json::Value) {
    let stem = job.path.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    let dir = data_dir(root).join(folder).join(job.family.id());
    let path = dir.join(format!("{stem}.{kind}.json"));
    let tmp = dir.join(format!(".{stem}.{kind}.json.{}.tmp", std::process::id()));
    let text = serde_json::to_string_pretty(result).unwrap_or_default();
    let written = std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(&tmp, text))
        .and_then(|_| std::fs::rename(&tmp, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        progress(&format!("  (could not save the result in {}: {e})", path.display()));
    }
}
