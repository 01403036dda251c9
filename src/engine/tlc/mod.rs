//! The real TLC on any spec and model file: finding Java and the jar, one run described by one
//! value ([`run`]), reading its `-tool` output ([`tool`]), checking a model file's properties
//! ([`check`]), its shortest error traces, replaying behaviours ([`replay`]), and a benchmark
//! run. It knows no family: a [`Spec`] says where the modules are.

mod check;
mod distributed;
mod launcher;
mod replay;
mod run;
pub mod tool;

pub use check::Checked;
pub use distributed::Cluster;
pub use tool::{messages, parse_trace, parse_trace_states, read_run, Message, RunEnd};

use crate::core::cfg::ModelFile;
use crate::core::error::Failure;
use crate::core::process::Measure;
use crate::core::tla;
use crate::core::trace::Trace;
use crate::core::vocab::{Kind, PropertyDef};
use run::Run;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where TLC comes from, and how it runs.
#[derive(Clone, Debug)]
pub struct Tlc {
    pub java: PathBuf,
    pub jar: PathBuf,
    /// Workers of a checking run.
    pub workers: usize,
    /// Small models: Java compiles with its quick compiler only (`-XX:TieredStopAtLevel=1`),
    /// which starts faster and spends less CPU on short runs, and runs long ones slower.
    pub quick_start: bool,
}

/// A spec: the folders whose `.tla` files a run copies, and the module it checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub dirs: Vec<PathBuf>,
    pub module: String,
}

/// Why TLC could not give verdicts: the environment is broken (exit code 3).
#[derive(Clone, Debug, PartialEq)]
pub struct TlcError(pub String);

impl std::fmt::Display for TlcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<TlcError> for Failure {
    fn from(e: TlcError) -> Failure {
        Failure::env(e.0)
    }
}

impl Tlc {
    /// Finds Java (`$JAVA` or `java` on the PATH) and `tla2tools.jar` (`$TLA2TOOLS`, else
    /// `.tools/tla2tools.jar` under the catalog root, where `make setup` puts it, else the one
    /// `make setup` put beside this crate).
    pub fn locate(root: &Path, workers: usize) -> Result<Tlc, TlcError> {
        let jar = match std::env::var_os("TLA2TOOLS") {
            Some(p) => PathBuf::from(p),
            None => {
                // The catalog's own, else the one beside this crate (for catalogs of one's own).
                let own = root.join(".tools/tla2tools.jar");
                let crate_jar = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/tla2tools.jar");
                if !own.is_file() && crate_jar.is_file() { crate_jar } else { own }
            }
        };
        if !jar.is_file() {
            return Err(TlcError(format!(
                "TLC is missing: no {} (run `make setup`, or point $TLA2TOOLS at tla2tools.jar)",
                jar.display()
            )));
        }
        let java = match std::env::var_os("JAVA") {
            Some(p) => PathBuf::from(p),
            None => find_on_path("java").ok_or_else(|| {
                TlcError("Java is missing: no `java` on the PATH (run `make setup`, or set $JAVA)".into())
            })?,
        };
        Ok(Tlc { java, jar: std::fs::canonicalize(&jar).unwrap_or(jar), workers: workers.max(1), quick_start: false })
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}


impl Tlc {
    /// TLC's error trace for one property of a model file: the shortest path to a violation
    /// (one worker, breadth-first), or to a witness of a non-vacuity check, with its states as
    /// TLA+ values. None if there is none.
    pub fn trace(&self, spec: &Spec, mf: &ModelFile, prop: &PropertyDef, model_name: &str) -> Result<Option<(Trace, Vec<tla::State>)>, TlcError> {
        let mut run = Run::new(spec, mf);
        let name = prop.name.to_string();
        match prop.kind {
            Kind::Invariant => run.invariants = vec![name],
            Kind::Liveness => run.properties = vec![name],
            Kind::Sometimes => {
                run.defs = format!("Reach_{0} == ~{0}\n", prop.name);
                run.invariants = vec![format!("Reach_{}", prop.name)];
            }
        }
        let ran = self.execute(&run)?;
        match ran.end {
            RunEnd::Complete { .. } => return Ok(None),
            RunEnd::Stopped { stop, .. } => return Err(TlcError(format!("the trace run {stop}"))),
            _ => {}
        }
        parse_trace_states(&ran.output, model_name, prop).map(Some)
    }

    /// One benchmark run: the model file's invariants, breadth-first, no liveness, no
    /// `-continue`, Java's full compiler; its counts, wall time and the peak memory of TLC's
    /// process.
    pub fn bench(&self, spec: &Spec, mf: &ModelFile) -> Result<Measure, TlcError> {
        let start = Instant::now();
        let full = Tlc { quick_start: false, ..self.clone() };
        let mut run = Run::new(spec, mf);
        run.workers = self.workers;
        run.invariants = mf.invariants.clone();
        let ran = full.execute(&run)?;
        let seconds = start.elapsed().as_secs_f64();
        match ran.end {
            RunEnd::Complete { distinct, generated } => {
                Ok(Measure { distinct_states: distinct, generated_states: generated, seconds, peak_memory_bytes: ran.peak_memory_bytes })
            }
            other => Err(TlcError(format!("the benchmark run did not explore everything: {other:?}"))),
        }
    }
}
