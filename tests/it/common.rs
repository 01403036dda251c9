//! Helpers shared by the tests: the catalog root, every committed model file as a job, and the
//! `exactly` binary run with a scratch folder for what it saves (never the checkout's
//! `.exactly/`).
#![allow(dead_code)]

use exactly::catalog::{self, Job};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty scratch folder of this test process (removed first if it exists).
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("exactly-test-{}-{}-{name}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `exactly` binary on the catalog at `root`, saving results into `data` (`EXACTLY_DATA`).
pub fn command(root: &Path, data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_exactly"));
    cmd.current_dir(root).env("EXACTLY_ROOT", root).env("EXACTLY_DATA", data);
    cmd
}

/// Runs `exactly args` on the committed catalog, with a scratch folder of its own for results.
pub fn exactly(args: &[&str]) -> Output {
    command(&root(), &scratch("data")).args(args).output().expect("the binary runs")
}

/// `exactly args`, running, saving its results into `data`, its output piped.
pub fn spawn(args: &[&str], data: &Path) -> std::process::Child {
    command(&root(), data).args(args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
}

/// TLC processes started by the `exactly` process `pid` (their scratch folders carry its pid).
pub fn tlc_processes_of(pid: u32) -> String {
    let out = Command::new("pgrep").args(["-af", &format!("exactly-tlc-{pid}-")]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every committed model file, as a job with its expectation.
pub fn all_jobs() -> Vec<Job> {
    let root = root();
    let mut jobs = Vec::new();
    for f in exactly::families::families() {
        let files = catalog::model_files(&root, f);
        assert!(!files.is_empty(), "family {} has no model files", f.id());
        for p in files {
            let job = catalog::load_job(&root, &p, &[]).unwrap_or_else(|e| panic!("{}: {}", p.display(), e.message));
            assert!(job.expectation.is_some(), "{} has no expectations file", job.name);
            // Only a claim file (not among these) may lack TLC's counts, until `make deep` runs it.
            assert!(job.expectation.as_ref().unwrap().tlc.is_some(), "{}: no expected TLC counts", job.name);
            jobs.push(job);
        }
    }
    jobs
}

/// The TCP sockets listening in the TLC processes of the `exactly` process `pid`, each as the
/// Java process's pid and its local address in `/proc/net/tcp{,6}`'s hex form, and whether that
/// address is a loopback one (127.x.x.x, ::1, or ::ffff:127.x.x.x).
pub fn tlc_listening_of(pid: u32) -> Vec<(u32, String, bool)> {
    let mut found = Vec::new();
    for line in tlc_processes_of(pid).lines() {
        let Some(java) = line.split_whitespace().next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{java}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .filter_map(|l| l.to_string_lossy().strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')).map(str::to_string))
            .collect();
        for table in ["tcp", "tcp6"] {
            let text = std::fs::read_to_string(format!("/proc/{java}/net/{table}")).unwrap_or_default();
            for row in text.lines().skip(1) {
                let cols: Vec<&str> = row.split_whitespace().collect();
                if cols.len() > 9 && cols[3] == "0A" && inodes.iter().any(|i| i == cols[9]) {
                    let address = cols[1].split(':').next().unwrap_or_default().to_string();
                    let loopback = (address.len() == 8 && address.ends_with("7F"))
                        || address == "00000000000000000000000001000000"
                        || (address.len() == 32 && address.starts_with("0000000000000000FFFF0000") && address.ends_with("7F"));
                    found.push((java, address, loopback));
                }
            }
        }
    }
    found
}
