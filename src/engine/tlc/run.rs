//! One TLC run, described by one value ([`Run`]): a scratch folder with copies of the spec's
//! modules and a generated `MC.tla`/`MC.cfg`, TLC's Java process watched for Ctrl-C and the
//! deadline, and how it ended.

use super::tool::{last_progress, read_run, RunEnd};
use super::{Spec, Tlc, TlcError};
use crate::core::cfg::ModelFile;
use crate::core::outcome::Stop;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// One TLC run: the spec, the model file (its constants, and the lines `MC.cfg` takes from it),
/// what to check, and how.
#[derive(Clone, Debug)]
pub(super) struct Run<'a> {
    pub spec: &'a Spec,
    pub model: ModelFile,
    /// Definitions for `MC.tla`.
    pub defs: String,
    /// Definitions read after every module of the spec, and more configuration lines.
    pub late: Late,
    pub invariants: Vec<String>,
    pub properties: Vec<String>,
    pub workers: usize,
    /// `-continue`: explore everything whatever is violated (only with invariants that report
    /// each property once).
    pub continue_: bool,
    /// Explore no further than about this many distinct states.
    pub max_states: Option<u64>,
    /// Kill the run at this time.
    pub deadline: Option<Instant>,
}

impl<'a> Run<'a> {
    /// A run of `model` that checks nothing yet, with one worker.
    pub fn new(spec: &'a Spec, model: &ModelFile) -> Self {
        Run {
            spec,
            model: model.clone(),
            defs: String::new(),
            late: Late::default(),
            invariants: Vec::new(),
            properties: Vec::new(),
            workers: 1,
            continue_: false,
            max_states: None,
            deadline: None,
        }
    }
}

impl Run<'_> {
    /// Whether to stop the run now, and why: Ctrl-C, or its deadline passed.
    pub fn stop_now(&self) -> Option<Stop> {
        if crate::core::cancel::interrupted() {
            Some(Stop::Interrupted)
        } else if self.deadline.is_some_and(|d| Instant::now() >= d) {
            Some(Stop::TimeLimit)
        } else {
            None
        }
    }
}

/// How a run ended, what it printed, and the peak resident memory of TLC's process.
pub(super) struct Ran {
    pub end: RunEnd,
    pub output: String,
    pub peak_memory_bytes: u64,
}

static RUN_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A scratch folder with the family's specs copied in; removed when dropped.
pub(super) struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Definitions that a TLC run reads after every module of the spec, and lines for its
/// configuration.
///
/// TLC orders a record's fields, and compares strings, by the order in which their names first
/// appear in the modules it parses, and it parses MC first: a record literal in MC (such as a
/// state to replay) reorders the spec's own records, and TLC then runs several times slower
/// (measured: 4.4 s -> 18 s for outbox-relay/CompetingRelays with one such literal). Late
/// definitions go into a module that MC reaches through a chain of modules longer than the
/// spec's own chain of EXTENDS, so that SANY parses it last.
#[derive(Clone, Debug, Default)]
pub(super) struct Late {
    pub defs: String,
    pub cfg: String,
}

/// The name of the modules of the chain to the late definitions: `Exactly_Late1`, ...
const LATE: &str = "Exactly_Late";

/// The chain of modules (name, text) to `defs`: `Exactly_Late1` EXTENDS `Exactly_Late2` ...,
/// the last EXTENDS the spec's module and holds `defs`; the chain is two modules longer than the
/// longest chain of EXTENDS and INSTANCE among the modules in `dir`, from `module`.
fn late_modules(dir: &Path, module: &str, defs: &str) -> Vec<(String, String)> {
    let n = module_depth(dir, module, 0) + 2;
    (1..=n)
        .map(|k| {
            let body = if k < n { format!("EXTENDS {LATE}{}\n", k + 1) } else { format!("EXTENDS {module}, TLC, Sequences\n{defs}") };
            (format!("{LATE}{k}"), format!("---- MODULE {LATE}{k} ----\n{body}====\n"))
        })
        .collect()
}

/// How many modules deep the chain of EXTENDS and INSTANCE from `module` goes among the `.tla`
/// files in `dir` (0 for a module that uses none there).
fn module_depth(dir: &Path, module: &str, seen: usize) -> usize {
    let Ok(text) = std::fs::read_to_string(dir.join(format!("{module}.tla"))) else { return 0 };
    if seen > 32 {
        return 0;
    }
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.split("\\*").next().unwrap_or("");
        let mut words = line.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty());
        while let Some(w) = words.next() {
            if w == "EXTENDS" {
                names.extend(words.by_ref().map(str::to_string));
            } else if w == "INSTANCE" {
                names.extend(words.next().map(str::to_string));
            }
        }
    }
    names.iter().filter(|m| dir.join(format!("{m}.tla")).is_file()).map(|m| 1 + module_depth(dir, m, seen + 1)).max().unwrap_or(0)
}


impl Tlc {
    /// A scratch folder for `run`: the spec's modules, `MC.tla` and `MC.cfg`.
    pub(super) fn prepare(&self, run: &Run) -> Result<Scratch, TlcError> {
        let n = RUN_COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("exactly-tlc-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let scratch = Scratch(dir.clone());
        let env_err = |e: std::io::Error| TlcError(format!("cannot prepare a TLC run in {}: {e}", dir.display()));
        std::fs::create_dir_all(dir.join("tmp")).map_err(env_err)?;
        for src in &run.spec.dirs {
            let entries = std::fs::read_dir(src)
                .map_err(|e| TlcError(format!("cannot read the specs in {}: {e}", src.display())))?;
            for entry in entries.flatten() {
                let p = entry.path();
                if p.extension().is_some_and(|x| x == "tla") {
                    std::fs::copy(&p, dir.join(entry.file_name())).map_err(env_err)?;
                }
            }
        }
        let mut defs = run.defs.clone();
        let mut cfg = run.model.to_tlc_cfg(&run.invariants, &run.properties);
        cfg.push_str(&run.late.cfg);
        let mut extends = format!("{}, TLC", run.spec.module);
        if !run.late.defs.is_empty() {
            for (name, text) in late_modules(&dir, &run.spec.module, &run.late.defs) {
                std::fs::write(dir.join(format!("{name}.tla")), text).map_err(env_err)?;
            }
            extends.push_str(&format!(", {LATE}1"));
        }
        if let Some(max) = run.max_states {
            // TLC has no state limit: a constraint stops exploring past it.
            defs.push_str(&format!("Limit_States == TLCGet(\"distinct\") < {max}\n"));
            cfg.push_str("CONSTRAINT Limit_States\n");
        }
        let mc = format!("---- MODULE MC ----\nEXTENDS {extends}\n{defs}====\n");
        std::fs::write(dir.join("MC.tla"), mc).map_err(env_err)?;
        std::fs::write(dir.join("MC.cfg"), cfg).map_err(env_err)?;
        Ok(scratch)
    }

    /// Carries out `run`: it is killed on Ctrl-C or at its deadline, and with `max_states`
    /// explores no further than that many distinct states.
    pub(super) fn execute(&self, run: &Run) -> Result<Ran, TlcError> {
        let stopped_early = |stop| Ok(Ran { end: RunEnd::Stopped { stop, distinct: 0, generated: 0 }, output: String::new(), peak_memory_bytes: 0 });
        if let Some(stop) = run.stop_now() {
            return stopped_early(stop);
        }
        let scratch = self.prepare(run)?;
        let dir = scratch.0.clone();
        let (classpath, launch) = self.on_loopback();
        let mut child = Command::new(&self.java)
            .current_dir(&dir)
            .arg("-XX:+UseParallelGC")
            .args(self.quick_start.then_some("-XX:TieredStopAtLevel=1"))
            .arg(format!("-Djava.io.tmpdir={}", dir.join("tmp").display()))
            .arg("-cp")
            .arg(classpath)
            .args(launch)
            .arg("tlc2.TLC")
            .args(["-tool", "-deadlock", "-workers", &run.workers.to_string(), "-metadir", "states", "-config", "MC.cfg", "MC"])
            .args(run.continue_.then_some("-continue"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| TlcError(format!("cannot start Java ({}): {e}", self.java.display())))?;
        let out = crate::core::process::drain(child.stdout.take());
        let err = crate::core::process::drain(child.stderr.take());
        let mut stopped = None;
        let ended = crate::core::process::wait(&mut child, || {
            stopped = run.stop_now();
            stopped.is_some()
        })
        .map_err(|e| TlcError(format!("lost track of TLC: {e}")))?;
        let (status, peak) = (ended.status, ended.peak_memory_bytes);
        let (out, err) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
        drop(scratch);
        if let Some(stop) = stopped {
            let (generated, distinct) = last_progress(&out);
            return Ok(Ran { end: RunEnd::Stopped { stop, distinct, generated }, output: out, peak_memory_bytes: peak });
        }
        if status.code() == Some(130) || status.code() == Some(143) || crate::core::cancel::interrupted() {
            // Java got the terminal's Ctrl-C too.
            let (generated, distinct) = last_progress(&out);
            return Ok(Ran { end: RunEnd::Stopped { stop: Stop::Interrupted, distinct, generated }, output: out, peak_memory_bytes: peak });
        }
        let end = read_run(status.code(), &out, &err)?;
        if let Some(max) = run.max_states {
            let (_, distinct) = last_progress(&out);
            let truncated = distinct >= max;
            match end {
                RunEnd::Complete { distinct, generated } if truncated => {
                    return Ok(Ran { end: RunEnd::Stopped { stop: Stop::StateLimit, distinct, generated }, output: out, peak_memory_bytes: peak })
                }
                // On a truncated graph the cut-off states look final: no liveness verdict.
                RunEnd::TemporalViolated { .. } if truncated => {
                    let (generated, distinct) = last_progress(&out);
                    return Ok(Ran { end: RunEnd::Stopped { stop: Stop::StateLimit, distinct, generated }, output: out, peak_memory_bytes: peak });
                }
                _ => {}
            }
        }
        Ok(Ran { end, output: out, peak_memory_bytes: peak })
    }
}
