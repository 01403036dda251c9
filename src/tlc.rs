//! Runs the real TLC on a family's TLA+ twin and reads its verdicts from its `-tool` output and
//! exit code.
//!
//! TLC has no reachability check, names only the first invariant violated in a state, and
//! cannot name a violated temporal property when several are checked. So a model file takes,
//! each in a fresh scratch folder holding copies of the specs and a generated `MC.tla`/`MC.cfg`:
//! - one `-continue` run checking every invariant and non-vacuity check `P` (as `~P`, "violated"
//!   = reached) through one invariant that fails only the first time each of them does (TLC
//!   registers remember which did): it explores everything, so its counts are complete, and
//!   prints one trace per discovered property, not one per violating state;
//! - `Termination` (the one temporal property) joins that run; when it is violated TLC stops
//!   there (it checks liveness part-way too), and the run is repeated without it. Several
//!   temporal properties would take a run each: a temporal violation never names its property.

use crate::cfg::ModelFile;
use crate::check::{Limits, Outcome, Stop};
use crate::family::{Family, Kind, PropertyDef, Verdict};
use crate::tla;
use crate::trace::Trace;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Where TLC comes from.
#[derive(Clone, Debug)]
pub struct Tlc {
    pub java: PathBuf,
    pub jar: PathBuf,
    pub workers: usize,
    /// Run with `-continue` (only with invariants that report each property once).
    pub continue_: bool,
    /// Small models: Java compiles with its quick compiler only (`-XX:TieredStopAtLevel=1`),
    /// which starts faster and spends less CPU on short runs, and runs long ones slower.
    pub quick_start: bool,
}

/// Why TLC could not give verdicts: the environment is broken (exit code 3).
#[derive(Clone, Debug, PartialEq)]
pub struct TlcError(pub String);

impl std::fmt::Display for TlcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
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
        Ok(Tlc { java, jar: std::fs::canonicalize(&jar).unwrap_or(jar), workers: workers.max(1), continue_: false, quick_start: false })
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// One message of TLC's `-tool` output.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub code: u32,
    pub class: u32,
    pub text: String,
}

/// Splits `-tool` output into its framed messages (unframed lines, such as SANY's, are returned
/// as code 0).
pub fn messages(output: &str) -> Vec<Message> {
    let mut out = Vec::new();
    let mut rest = output;
    loop {
        match rest.find("@!@!@STARTMSG ") {
            None => {
                push_unframed(&mut out, rest);
                break;
            }
            Some(start) => {
                push_unframed(&mut out, &rest[..start]);
                let after = &rest[start + "@!@!@STARTMSG ".len()..];
                let Some(head_end) = after.find(" @!@!@") else {
                    push_unframed(&mut out, after);
                    break;
                };
                let head = &after[..head_end];
                let (code, class) = head.split_once(':').unwrap_or((head, "0"));
                let body = &after[head_end + " @!@!@".len()..];
                let (text, next) = match body.find("@!@!@ENDMSG ") {
                    Some(end) => {
                        let tail = &body[end..];
                        let close = tail.find(" @!@!@").map_or(tail.len(), |i| i + " @!@!@".len());
                        (&body[..end], &tail[close..])
                    }
                    None => (body, ""),
                };
                out.push(Message {
                    code: code.trim().parse().unwrap_or(0),
                    class: class.trim().parse().unwrap_or(0),
                    text: text.trim().to_string(),
                });
                rest = next;
            }
        }
    }
    out
}

fn push_unframed(out: &mut Vec<Message>, text: &str) {
    let text = text.trim();
    if !text.is_empty() {
        out.push(Message { code: 0, class: 0, text: text.to_string() });
    }
}

/// What one TLC run ended with.
#[derive(Clone, Debug, PartialEq)]
pub enum RunEnd {
    /// Explored everything with nothing violated; the counts are complete.
    Complete { distinct: u64, generated: u64 },
    /// This invariant was violated, after a trace of this many states.
    InvariantViolated { name: String, trace_len: usize },
    /// The temporal property was violated.
    TemporalViolated { trace_len: usize },
    /// Stopped by a limit or an interruption, after exploring this much.
    Stopped { stop: Stop, distinct: u64, generated: u64 },
}

/// Reads a run's end from its exit code and messages.
pub fn read_run(rc: Option<i32>, output: &str, stderr: &str) -> Result<RunEnd, TlcError> {
    let msgs = messages(output);
    // The states of the trace (2217), not the "back to state" or stuttering markers of a lasso.
    let trace_len = msgs.iter().filter(|m| m.class == 4 && m.code == 2217).count();
    match rc {
        Some(0) => {
            let counts = msgs.iter().rev().find(|m| m.code == 2199).and_then(|m| parse_counts(&m.text));
            match counts {
                Some((generated, distinct)) => Ok(RunEnd::Complete { distinct, generated }),
                None => Err(failure("TLC finished without reporting its state counts", rc, &msgs, stderr)),
            }
        }
        Some(12) => {
            let name = msgs
                .iter()
                .find(|m| m.code == 2110 || m.code == 2107)
                .and_then(|m| m.text.strip_prefix("Invariant "))
                .and_then(|t| t.split_whitespace().next())
                .map(|n| n.trim_end_matches('.').to_string());
            match name {
                Some(name) => Ok(RunEnd::InvariantViolated { name, trace_len }),
                None => Err(failure("TLC reported a violation without naming the invariant", rc, &msgs, stderr)),
            }
        }
        Some(13) => Ok(RunEnd::TemporalViolated { trace_len }),
        _ => Err(failure("TLC failed", rc, &msgs, stderr)),
    }
}

/// "N states generated, M distinct states found, K states left on queue.", also in a progress
/// report ("... N states generated (X s/min), M distinct states found (Y ds/min), ...").
fn parse_counts(text: &str) -> Option<(u64, u64)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let num = |w: &str| w.replace(',', "").parse::<u64>().ok();
    let generated = words.iter().position(|w| w.starts_with("generated")).and_then(|i| num(words.get(i.checked_sub(2)?)?))?;
    let distinct = words.iter().position(|w| *w == "distinct").and_then(|i| num(words.get(i.checked_sub(1)?)?))?;
    Some((generated, distinct))
}

/// An environment error carrying TLC's own relevant lines.
fn failure(what: &str, rc: Option<i32>, msgs: &[Message], stderr: &str) -> TlcError {
    let mut lines: Vec<String> = msgs
        .iter()
        .filter(|m| m.class == 1 || m.code == 0)
        .flat_map(|m| m.text.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Parsing file") && !l.starts_with("Semantic processing"))
        .collect();
    lines.extend(stderr.lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
    lines.truncate(12);
    let rc = rc.map_or("killed by a signal".to_string(), |c| format!("exit code {c}"));
    if lines.is_empty() {
        TlcError(format!("{what} ({rc})"))
    } else {
        TlcError(format!("{what} ({rc}):\n  {}", lines.join("\n  ")))
    }
}

static RUN_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A scratch folder with the family's specs copied in; removed when dropped.
struct Scratch(PathBuf);

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
struct Late {
    defs: String,
    cfg: String,
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

/// The last progress report of a run (for one that was stopped): (generated, distinct).
fn last_progress(output: &str) -> (u64, u64) {
    messages(output)
        .iter()
        .rev()
        .filter(|m| m.code == 2200 || m.code == 2199)
        .find_map(|m| parse_counts(&m.text))
        .unwrap_or((0, 0))
}

impl Tlc {
    /// One TLC run with the given invariants and properties: how it ended, its output, and the
    /// peak resident memory of TLC's Java process. It is killed on Ctrl-C or at the deadline,
    /// and with `max_states` explores no further than that many distinct states.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        root: &Path,
        family: &dyn Family,
        mf: &ModelFile,
        extra_defs: &str,
        invariants: &[String],
        properties: &[String],
        limits: &Limits,
        deadline: Option<Instant>,
    ) -> Result<(RunEnd, String, u64), TlcError> {
        self.run_with(root, family, mf, extra_defs, &Late::default(), invariants, properties, limits, deadline)
    }

    /// [`Tlc::run`] with definitions that TLC reads after the spec's modules and more lines for
    /// its configuration ([`Late`]).
    #[allow(clippy::too_many_arguments)]
    fn run_with(
        &self,
        root: &Path,
        family: &dyn Family,
        mf: &ModelFile,
        extra_defs: &str,
        late: &Late,
        invariants: &[String],
        properties: &[String],
        limits: &Limits,
        deadline: Option<Instant>,
    ) -> Result<(RunEnd, String, u64), TlcError> {
        let stopped_early = |stop| Ok((RunEnd::Stopped { stop, distinct: 0, generated: 0 }, String::new(), 0));
        if crate::check::interrupted() {
            return stopped_early(Stop::Interrupted);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return stopped_early(Stop::TimeLimit);
        }
        let n = RUN_COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("exactly-tlc-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let scratch = Scratch(dir.clone());
        let env_err = |e: std::io::Error| TlcError(format!("cannot prepare a TLC run in {}: {e}", dir.display()));
        std::fs::create_dir_all(dir.join("tmp")).map_err(env_err)?;
        for src in [root.join("specs"), root.join("specs").join(family.id())] {
            let entries = std::fs::read_dir(&src)
                .map_err(|e| TlcError(format!("cannot read the specs in {}: {e}", src.display())))?;
            for entry in entries.flatten() {
                let p = entry.path();
                if p.extension().is_some_and(|x| x == "tla") {
                    std::fs::copy(&p, dir.join(entry.file_name())).map_err(env_err)?;
                }
            }
        }
        let mut defs = extra_defs.to_string();
        let mut cfg = mf.to_tlc_cfg(invariants, properties);
        cfg.push_str(&late.cfg);
        let mut extends = format!("{}, TLC", family.module());
        if !late.defs.is_empty() {
            for (name, text) in late_modules(&dir, family.module(), &late.defs) {
                std::fs::write(dir.join(format!("{name}.tla")), text).map_err(env_err)?;
            }
            extends.push_str(&format!(", {LATE}1"));
        }
        if let Some(max) = limits.max_states {
            // TLC has no state limit: a constraint stops exploring past it.
            defs.push_str(&format!("Limit_States == TLCGet(\"distinct\") < {max}\n"));
            cfg.push_str("CONSTRAINT Limit_States\n");
        }
        let mc = format!("---- MODULE MC ----\nEXTENDS {extends}\n{defs}====\n");
        std::fs::write(dir.join("MC.tla"), mc).map_err(env_err)?;
        std::fs::write(dir.join("MC.cfg"), cfg).map_err(env_err)?;
        let mut child = Command::new(&self.java)
            .current_dir(&dir)
            .arg("-XX:+UseParallelGC")
            .args(self.quick_start.then_some("-XX:TieredStopAtLevel=1"))
            .arg(format!("-Djava.io.tmpdir={}", dir.join("tmp").display()))
            .arg("-cp")
            .arg(&self.jar)
            .arg("tlc2.TLC")
            .args(["-tool", "-deadlock", "-workers", &self.workers.to_string(), "-metadir", "states", "-config", "MC.cfg", "MC"])
            .args(self.continue_.then_some("-continue"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| TlcError(format!("cannot start Java ({}): {e}", self.java.display())))?;
        let out = crate::measure::drain(child.stdout.take());
        let err = crate::measure::drain(child.stderr.take());
        let mut stopped = None;
        let ended = crate::measure::wait(&mut child, || {
            if crate::check::interrupted() {
                stopped = Some(Stop::Interrupted);
            } else if deadline.is_some_and(|d| Instant::now() >= d) {
                stopped = Some(Stop::TimeLimit);
            }
            stopped.is_some()
        })
        .map_err(|e| TlcError(format!("lost track of TLC: {e}")))?;
        let (status, peak) = (ended.status, ended.peak_memory_bytes);
        let (out, err) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
        drop(scratch);
        if let Some(stop) = stopped {
            let (generated, distinct) = last_progress(&out);
            return Ok((RunEnd::Stopped { stop, distinct, generated }, out, peak));
        }
        if status.code() == Some(130) || status.code() == Some(143) || crate::check::interrupted() {
            // Java got the terminal's Ctrl-C too.
            let (generated, distinct) = last_progress(&out);
            return Ok((RunEnd::Stopped { stop: Stop::Interrupted, distinct, generated }, out, peak));
        }
        let end = read_run(status.code(), &out, &err)?;
        if let Some(max) = limits.max_states {
            let (_, distinct) = last_progress(&out);
            let truncated = distinct >= max;
            match end {
                RunEnd::Complete { distinct, generated } if truncated => {
                    return Ok((RunEnd::Stopped { stop: Stop::StateLimit, distinct, generated }, out, peak))
                }
                // On a truncated graph the cut-off states look final: no liveness verdict.
                RunEnd::TemporalViolated { .. } if truncated => {
                    let (generated, distinct) = last_progress(&out);
                    return Ok((RunEnd::Stopped { stop: Stop::StateLimit, distinct, generated }, out, peak));
                }
                _ => {}
            }
        }
        Ok((end, out, peak))
    }

    /// TLC's error trace for one property of a model file: the shortest path to a violation
    /// (one worker, breadth-first), or to a witness of a non-vacuity check. None if there is none.
    pub fn trace(&self, root: &Path, family: &dyn Family, mf: &ModelFile, prop: &PropertyDef, model_name: &str) -> Result<Option<Trace>, TlcError> {
        Ok(self.trace_states(root, family, mf, prop, model_name)?.map(|(t, _)| t))
    }

    /// [`Tlc::trace`], with the trace's states as TLA+ values too.
    pub fn trace_states(&self, root: &Path, family: &dyn Family, mf: &ModelFile, prop: &PropertyDef, model_name: &str) -> Result<Option<(Trace, Vec<tla::State>)>, TlcError> {
        let one = Tlc { workers: 1, ..self.clone() };
        let name = prop.name.to_string();
        let (end, out, _) = match prop.kind {
            Kind::Invariant => one.run(root, family, mf, "", &[name], &[], &Limits::default(), None)?,
            Kind::Liveness => one.run(root, family, mf, "", &[], &[name], &Limits::default(), None)?,
            Kind::Sometimes => {
                let defs = format!("Reach_{0} == ~{0}\n", prop.name);
                one.run(root, family, mf, &defs, &[format!("Reach_{}", prop.name)], &[], &Limits::default(), None)?
            }
        };
        match end {
            RunEnd::Complete { .. } => return Ok(None),
            RunEnd::Stopped { stop, .. } => return Err(TlcError(format!("the trace run {stop}"))),
            _ => {}
        }
        parse_trace_states(&out, model_name, prop).map(Some)
    }

    /// Replays a behaviour, given as states of the spec's variables, in TLC: a run of the spec
    /// constrained to follow it step by step (as TLA+ trace validation does). Ok(Ok(())) when
    /// TLC reaches its last state, Ok(Err(why)) when it cannot.
    pub fn replay(&self, root: &Path, family: &dyn Family, mf: &ModelFile, states: &[tla::State]) -> Result<Result<(), String>, TlcError> {
        if states.is_empty() {
            return Ok(Err("the trace has no state".into()));
        }
        let (defs, replay_mf) = replay_spec(mf, &[states]);
        let one = Tlc { workers: 1, ..self.clone() };
        let (end, out, _) = one.run(root, family, &replay_mf, &defs, &["ReplayIncomplete".into()], &[], &Limits::default(), None)?;
        Ok(match end {
            RunEnd::InvariantViolated { trace_len, .. } if trace_len == states.len() => Ok(()),
            // Violated in an initial state: TLC reports it without a trace.
            RunEnd::InvariantViolated { trace_len: 0, .. } if states.len() == 1 => Ok(()),
            RunEnd::InvariantViolated { trace_len, .. } => Err(format!("TLC replayed it in {trace_len} states, not {}", states.len())),
            RunEnd::Complete { .. } => {
                // The deepest state reached tells how far the behaviour could be followed.
                let depth = messages(&out).iter().find(|m| m.code == 2194).map(|m| m.text.clone()).unwrap_or_default();
                Err(format!("TLC cannot follow the trace to its end ({})", depth.trim()))
            }
            other => Err(format!("the replay run ended unexpectedly: {other:?}")),
        })
    }

    /// One benchmark run: the model file's invariants, breadth-first, no liveness, no
    /// `-continue`; its counts, wall time and the peak memory of TLC's process.
    pub fn bench(&self, root: &Path, family: &dyn Family, mf: &ModelFile) -> Result<crate::bench::Measure, TlcError> {
        let start = Instant::now();
        let plain = Tlc { continue_: false, quick_start: false, ..self.clone() };
        let (end, _, peak) = plain.run(root, family, mf, "", &mf.invariants, &[], &Limits::default(), None)?;
        let seconds = start.elapsed().as_secs_f64();
        match end {
            RunEnd::Complete { distinct, generated } => {
                Ok(crate::bench::Measure { distinct_states: distinct, generated_states: generated, seconds, peak_memory_bytes: peak })
            }
            other => Err(TlcError(format!("the benchmark run did not explore everything: {other:?}"))),
        }
    }

    /// [`Tlc::replay`] for several behaviours in one TLC run: the replay spec starts in the first
    /// state of any of them and follows that one (`replayTrace` says which), and `-continue`
    /// reports each one whose last state TLC reaches. A behaviour TLC cannot follow is replayed
    /// again alone, for [`Tlc::replay`]'s account of where it stops.
    pub fn replay_many(&self, root: &Path, family: &dyn Family, mf: &ModelFile, traces: &[Vec<tla::State>]) -> Result<Vec<Result<(), String>>, TlcError> {
        // A behaviour of one state ends in an initial state, reported without a trace.
        let batch: Vec<usize> = (0..traces.len()).filter(|&i| traces[i].len() > 1).collect();
        let mut reached = std::collections::BTreeSet::new();
        if !batch.is_empty() {
            let behaviours: Vec<&[tla::State]> = batch.iter().map(|&i| traces[i].as_slice()).collect();
            let (defs, replay_mf) = replay_spec(mf, &behaviours);
            let one = Tlc { workers: 1, continue_: true, ..self.clone() };
            let (end, out, _) = one.run(root, family, &replay_mf, &defs, &["ReplayIncomplete".into()], &[], &Limits::default(), None)?;
            if !matches!(end, RunEnd::Complete { .. }) {
                return Err(TlcError(format!("the replay run ended unexpectedly: {end:?}")));
            }
            // Each report ends in the last state of a behaviour: its `replayTrace` says which.
            let msgs = messages(&out);
            for (k, m) in msgs.iter().enumerate() {
                if m.code != 2110 {
                    continue;
                }
                let last = msgs[k + 1..].iter().take_while(|m| m.code != 2110).filter(|m| m.code == 2217).last();
                let t = last.and_then(|m| tla::parse_trace_state(&m.text).ok()).and_then(|t| {
                    t.state.iter().find(|(n, _)| n == "replayTrace").and_then(|(_, v)| match v {
                        tla::Value::Int(i) => usize::try_from(*i).ok(),
                        _ => None,
                    })
                });
                if let Some(t) = t.filter(|t| (1..=batch.len()).contains(t)) {
                    // By construction a behaviour's last state is reached after all its steps.
                    reached.insert(batch[t - 1]);
                }
            }
        }
        (0..traces.len())
            .map(|i| if reached.contains(&i) { Ok(Ok(())) } else { self.replay(root, family, mf, &traces[i]) })
            .collect()
    }
}

/// The trace-constrained spec replaying `behaviours` (states of the spec's variables): it starts
/// in the first state of any of them (`replayTrace` says which) and follows that one step by
/// step (`replayStep`); `ReplayIncomplete` fails in each one's last state.
fn replay_spec(mf: &ModelFile, behaviours: &[&[tla::State]]) -> (String, ModelFile) {
    let (vars, mut defs, model_values) = behaviours_defs("ReplayTraces", behaviours);
    defs.push_str("VARIABLES replayTrace, replayStep\n");
    let at = |step: &str, prime: &str| {
        vars.iter().map(|v| format!("{v}{prime} = ReplayTraces[replayTrace][{step}].{v}")).collect::<Vec<_>>().join(" /\\ ")
    };
    defs.push_str(&format!("ReplayInit == Init /\\ replayTrace \\in 1..Len(ReplayTraces) /\\ replayStep = 1 /\\ {}\n", at("1", "")));
    defs.push_str(&format!(
        "ReplayNext == replayStep < Len(ReplayTraces[replayTrace]) /\\ Next /\\ UNCHANGED replayTrace /\\ replayStep' = replayStep + 1 /\\ {}\n",
        at("replayStep + 1", "'")
    ));
    defs.push_str("ReplaySpec == ReplayInit /\\ [][ReplayNext]_<<vars, replayTrace, replayStep>>\n");
    defs.push_str("ReplayIncomplete == replayStep < Len(ReplayTraces[replayTrace])\n");
    let mut replay_mf = mf.clone();
    replay_mf.specification = Some("ReplaySpec".into());
    // The trace pins every state: no symmetry reduction to follow it.
    replay_mf.symmetry = None;
    declare_model_values(&mut replay_mf, &model_values);
    (defs, replay_mf)
}

/// `name == << <<state, ...>>, ... >>`, the behaviours as a sequence of sequences of records
/// (preceded by the declaration of the model values they name), the spec's variables, and those
/// model values.
fn behaviours_defs<'a>(name: &str, behaviours: &[&'a [tla::State]]) -> (Vec<&'a str>, String, std::collections::BTreeSet<String>) {
    let vars: Vec<&str> = behaviours.first().and_then(|b| b.first()).map_or(Vec::new(), |s| s.iter().map(|(n, _)| n.as_str()).collect());
    let mut model_values = std::collections::BTreeSet::new();
    for s in behaviours.iter().flat_map(|b| b.iter()) {
        for (_, v) in s {
            collect_model_values(v, &mut model_values);
        }
    }
    let mut defs = String::new();
    if !model_values.is_empty() {
        defs.push_str(&format!("CONSTANTS {}\n", model_values.iter().cloned().collect::<Vec<_>>().join(", ")));
    }
    defs.push_str(&format!("{name} == <<\n"));
    for (j, b) in behaviours.iter().enumerate() {
        defs.push_str(&format!("  {}<<\n", if j == 0 { "" } else { ", " }));
        for (k, s) in b.iter().enumerate() {
            let fields: Vec<String> = s.iter().map(|(n, v)| format!("{n} |-> {v}")).collect();
            defs.push_str(&format!("    {}[{}]\n", if k == 0 { "" } else { ", " }, fields.join(", ")));
        }
        defs.push_str("  >>\n");
    }
    defs.push_str(">>\n");
    (vars, defs, model_values)
}

/// The model values a run's definitions name, given to TLC as themselves (`h1 = h1`).
fn declare_model_values(mf: &mut ModelFile, model_values: &std::collections::BTreeSet<String>) {
    for m in model_values {
        if mf.constant(m).is_none() {
            mf.constants.push((m.clone(), crate::cfg::Value::ModelValue(m.clone())));
        }
    }
}

/// The invariant and the action constraint with which a checking run replays behaviours.
const REPLAY_START: &str = "Exactly_ReplayStart";
const REPLAY_STEP: &str = "Exactly_ReplayStep";

/// Definitions (read after the spec's modules: [`Late`]) with which a checking run that explores
/// every reachable state also replays `behaviours` (states of the spec's variables), instead of
/// a run of its own per model file ([`Tlc::replay_many`]): the invariant `Exactly_ReplayStart` prints each behaviour whose first
/// state the run reaches and satisfies `Init` (then it is an initial state), and the action
/// constraint `Exactly_ReplayStep` prints each step of a behaviour that the run generates as a
/// transition (a step of `Next` from a reachable state). Both always hold: they change neither
/// what TLC explores nor its counts. A behaviour whose start and every step are printed is a
/// behaviour of the spec ([`replayed_in_run`]).
fn replay_checks(behaviours: &[&[tla::State]]) -> (String, std::collections::BTreeSet<String>) {
    let (vars, mut defs, model_values) = behaviours_defs("Exactly_Replays", behaviours);
    let record = |prime: &str| vars.iter().map(|v| format!("{v} |-> {v}{prime}")).collect::<Vec<_>>().join(", ");
    defs.push_str(&format!("Exactly_Now == [{}]\nExactly_Later == [{}]\n", record(""), record("'")));
    defs.push_str(
        "Exactly_Firsts == {Exactly_Replays[b][1] : b \\in DOMAIN Exactly_Replays}\n\
         Exactly_Froms == UNION {{Exactly_Replays[b][i] : i \\in 1..Len(Exactly_Replays[b]) - 1} : b \\in DOMAIN Exactly_Replays}\n",
    );
    defs.push_str(&format!(
        "{REPLAY_START} == Exactly_Now \\in Exactly_Firsts /\\ Init =>\n  \
         \\A b \\in DOMAIN Exactly_Replays : Exactly_Replays[b][1] = Exactly_Now => PrintT(<<\"exactly-start\", b>>)\n\
         {REPLAY_STEP} == Exactly_Now \\in Exactly_Froms =>\n  \
         \\A b \\in DOMAIN Exactly_Replays : \\A i \\in 1..Len(Exactly_Replays[b]) - 1 :\n    \
         Exactly_Replays[b][i] = Exactly_Now /\\ Exactly_Replays[b][i + 1] = Exactly_Later => PrintT(<<\"exactly-step\", b, i>>)\n"
    ));
    (defs, model_values)
}

/// Which behaviours of [`replay_checks`] a complete run replayed: those whose start and every
/// step it printed.
fn replayed_in_run(output: &str, behaviours: &[&[tla::State]]) -> Vec<bool> {
    let printed = |mark: &str| -> std::collections::BTreeSet<Vec<usize>> {
        let mark = format!("<<\"{mark}\", ");
        output
            .match_indices(&mark)
            .filter_map(|(i, _)| {
                let rest = &output[i + mark.len()..];
                let numbers = &rest[..rest.find(">>")?];
                numbers.split(',').map(|n| n.trim().parse().ok()).collect()
            })
            .collect()
    };
    let (starts, steps) = (printed("exactly-start"), printed("exactly-step"));
    (1..=behaviours.len())
        .map(|b| starts.contains(&vec![b]) && (1..behaviours[b - 1].len()).all(|i| steps.contains(&vec![b, i])))
        .collect()
}

fn collect_model_values(v: &tla::Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        tla::Value::ModelValue(m) => {
            out.insert(m.clone());
        }
        tla::Value::Seq(items) | tla::Value::Set(items) => items.iter().for_each(|x| collect_model_values(x, out)),
        tla::Value::Record(fields) => fields.iter().for_each(|(_, x)| collect_model_values(x, out)),
        tla::Value::Function(pairs) => pairs.iter().for_each(|(k, x)| {
            collect_model_values(k, out);
            collect_model_values(x, out)
        }),
        _ => {}
    }
}

/// Reads the error trace in TLC's `-tool` output: its states (2217) and, for a liveness
/// violation, where it loops back (2122) or stutters (2218).
pub fn parse_trace(output: &str, model_name: &str, prop: &PropertyDef) -> Result<Trace, TlcError> {
    parse_trace_states(output, model_name, prop).map(|(t, _)| t)
}

/// [`parse_trace`], with the trace's states as TLA+ values too.
pub fn parse_trace_states(output: &str, model_name: &str, prop: &PropertyDef) -> Result<(Trace, Vec<tla::State>), TlcError> {
    let mut raw = Vec::new();
    let mut pairs = Vec::new();
    let mut loops_to = None;
    for m in messages(output) {
        match m.code {
            2217 => {
                let t = tla::parse_trace_state(&m.text).map_err(|e| {
                    TlcError(format!("TLC's trace state {} does not parse: {e}", pairs.len() + 1))
                })?;
                if t.number != pairs.len() + 1 {
                    return Err(TlcError(format!("TLC's trace skips from state {} to {}", pairs.len(), t.number)));
                }
                let state = serde_json::Value::Object(t.state.iter().map(|(k, v)| (k.clone(), v.to_json())).collect());
                let action = if t.action == "Initial predicate" { "Initial".to_string() } else { t.action };
                pairs.push((action, state));
                raw.push(t.state);
            }
            2218 => loops_to = Some(pairs.len().saturating_sub(1)),
            2122 => {
                // "N: Back to state: <action>": the behaviour returns to state N (1-based).
                let n = m.text.split(':').next().and_then(|n| n.trim().parse::<usize>().ok());
                loops_to = n.map(|n| n.saturating_sub(1));
            }
            _ => {}
        }
    }
    if pairs.is_empty() {
        return Err(TlcError("TLC reported a violation but printed no trace".into()));
    }
    Ok((Trace {
        model: model_name.to_string(),
        property: prop.name.to_string(),
        checker: "tlc".into(),
        kind: if prop.kind == Kind::Sometimes { "witness" } else { "violation" }.into(),
        steps: crate::trace::steps(pairs),
        loops_to: if prop.kind == Kind::Liveness { loops_to } else { None },
    }, raw))
}

impl Tlc {

    /// Checks a model file's properties with TLC. `parallel` runs this many TLC processes at once.
    ///
    /// One `-continue` run with [`first_failures_defs`] for every invariant and non-vacuity check
    /// and the temporal property, if there is one (it explores everything, so its counts are
    /// complete, and prints one trace per property: with one worker, the shortest); a second
    /// run without the temporal property if TLC found it violated (it then stops).
    pub fn check(
        &self,
        root: &Path,
        family: &dyn Family,
        mf: &ModelFile,
        props: &[PropertyDef],
        parallel: usize,
        limits: &Limits,
    ) -> Result<Outcome, TlcError> {
        Ok(self.check_replaying(root, family, mf, props, parallel, limits, &[])?.0)
    }

    /// [`Tlc::check`] that also replays `behaviours` (states of the spec's variables, e.g.
    /// Stateright's counterexamples) in its checking run ([`replay_checks`]): for each, whether
    /// the run, complete, found it to be a behaviour of the spec. `false` does not say why (nor
    /// whether it is not one, on a run that stopped or with symmetry reduction, where replays
    /// are not made): [`Tlc::replay_many`] tells.
    #[allow(clippy::too_many_arguments)]
    pub fn check_replaying(
        &self,
        root: &Path,
        family: &dyn Family,
        mf: &ModelFile,
        props: &[PropertyDef],
        parallel: usize,
        limits: &Limits,
        behaviours: &[Vec<tla::State>],
    ) -> Result<(Outcome, Vec<bool>), TlcError> {
        let start = Instant::now();
        let behaviours: Vec<&[tla::State]> = behaviours.iter().map(|b| b.as_slice()).collect();
        // With symmetry reduction TLC explores representatives only, not the behaviours' states.
        let replaying = !behaviours.is_empty() && behaviours.iter().all(|b| !b.is_empty()) && mf.symmetry.is_none();
        let replayed = Mutex::new(vec![false; behaviours.len()]);
        let deadline = limits.timeout.map(|t| start + t);
        let verdicts = Mutex::new(std::collections::BTreeMap::<String, Verdict>::new());
        let counts = Mutex::new(None::<(u64, u64)>);
        // The largest partial counts of a stopped run, and why it stopped.
        let partial = Mutex::new(None::<(Stop, u64, u64)>);
        let steps = Mutex::new(std::collections::BTreeMap::<String, usize>::new());
        let traces = Mutex::new(std::collections::BTreeMap::<String, String>::new());
        let record = |end: &RunEnd| match end {
            RunEnd::Complete { distinct, generated } => {
                counts.lock().unwrap().get_or_insert((*distinct, *generated));
            }
            RunEnd::Stopped { stop, distinct, generated } => {
                let mut p = partial.lock().unwrap();
                let worse = match *p {
                    None => true,
                    Some((s, d, _)) => (*stop == Stop::Interrupted && s != Stop::Interrupted) || *distinct > d,
                };
                if worse {
                    *p = Some((*stop, *distinct, *generated));
                }
            }
            _ => {}
        };

        let safety: Vec<&PropertyDef> = props.iter().filter(|p| p.kind != Kind::Liveness).collect();
        let temporal: Vec<&PropertyDef> = props.iter().filter(|p| p.kind == Kind::Liveness).collect();
        // One temporal property (`Termination`) joins the checking run: TLC checks it on the
        // whole graph at the end. If it is violated, TLC stops where it found that out (it also
        // checks part-way, at times of its own): the run is repeated without it.
        let joined: Option<&PropertyDef> = match temporal.as_slice() {
            [one] => Some(*one),
            _ => None,
        };
        let record_temporal = |p: &PropertyDef, end: &RunEnd| -> Result<(), TlcError> {
            let verdict = match end {
                RunEnd::Complete { .. } => Verdict::Holds,
                RunEnd::Stopped { .. } => Verdict::Unknown,
                RunEnd::TemporalViolated { trace_len } => {
                    steps.lock().unwrap().insert(p.name.to_string(), trace_len.saturating_sub(1));
                    Verdict::Violated
                }
                other => return Err(TlcError(format!("unexpected end of the run for {}: {other:?}", p.name))),
            };
            verdicts.lock().unwrap().insert(p.name.to_string(), verdict);
            Ok(())
        };
        let main = || -> Result<(), TlcError> {
            let cont = Tlc { continue_: !safety.is_empty(), ..self.clone() };
            let (defs, mut invariants) = if safety.is_empty() {
                (String::new(), Vec::new())
            } else {
                (first_failures_defs(&safety), vec![CHECKS.to_string()])
            };
            let mut mf = mf.clone();
            let mut late = Late::default();
            if replaying {
                let (replay_defs, model_values) = replay_checks(&behaviours);
                declare_model_values(&mut mf, &model_values);
                invariants.push(REPLAY_START.to_string());
                late = Late { defs: replay_defs, cfg: format!("ACTION_CONSTRAINT {REPLAY_STEP}\n") };
            }
            let mut with = joined;
            let (end, out) = loop {
                let properties: Vec<String> = with.iter().map(|p| p.name.to_string()).collect();
                let (end, out, _) = cont.run_with(root, family, &mf, &defs, &late, &invariants, &properties, limits, deadline)?;
                match (with, &end) {
                    (Some(p), RunEnd::TemporalViolated { .. }) => {
                        record_temporal(p, &end)?;
                        with = None;
                    }
                    (Some(p), _) => {
                        record_temporal(p, &end)?;
                        break (end, out);
                    }
                    (None, _) => break (end, out),
                }
            };
            record(&end);
            let complete = match end {
                RunEnd::Complete { .. } => true,
                RunEnd::Stopped { .. } => false,
                other => return Err(TlcError(format!("unexpected end of the checking run: {other:?}"))),
            };
            if replaying && complete {
                *replayed.lock().unwrap() = replayed_in_run(&out, &behaviours);
            }
            let found = first_failures(&out);
            let mut v = verdicts.lock().unwrap();
            for p in &safety {
                let verdict = match (found.get(p.name), p.kind) {
                    (Some((len, text)), kind) => {
                        steps.lock().unwrap().insert(p.name.to_string(), len.saturating_sub(1));
                        traces.lock().unwrap().insert(p.name.to_string(), text.clone());
                        if kind == Kind::Sometimes { Verdict::Reached } else { Verdict::Violated }
                    }
                    (None, _) if !complete => Verdict::Unknown,
                    (None, Kind::Sometimes) => Verdict::Unreached,
                    (None, _) => Verdict::Holds,
                };
                v.insert(p.name.to_string(), verdict);
            }
            Ok(())
        };
        // Several temporal properties: one run each (a temporal violation never names its property).
        let temporal_run = |p: &PropertyDef| -> Result<(), TlcError> {
            let (end, _, _) = self.run(root, family, mf, "", &[], &[p.name.to_string()], limits, deadline)?;
            record(&end);
            record_temporal(p, &end)
        };

        let jobs: Vec<Box<dyn Fn() -> Result<(), TlcError> + Sync + '_>> = std::iter::once(Box::new(main) as Box<dyn Fn() -> _ + Sync>)
            .chain(temporal.iter().filter(|_| joined.is_none()).map(|p| Box::new(move || temporal_run(p)) as Box<dyn Fn() -> _ + Sync>))
            .collect();
        let next = AtomicUsize::new(0);
        let first_error = Mutex::new(None::<TlcError>);
        std::thread::scope(|s| {
            for _ in 0..parallel.max(1).min(jobs.len()) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= jobs.len() || first_error.lock().unwrap().is_some() {
                        return;
                    }
                    if let Err(e) = jobs[i]() {
                        first_error.lock().unwrap().get_or_insert(e);
                        return;
                    }
                });
            }
        });
        if let Some(e) = first_error.lock().unwrap().take() {
            return Err(e);
        }
        let stopped = partial.lock().unwrap().map(|(s, _, _)| s);
        let (distinct, generated) = match (*counts.lock().unwrap(), *partial.lock().unwrap()) {
            (Some(c), _) => c,
            (None, Some((_, d, g))) => (d, g),
            (None, None) => return Err(TlcError("no TLC run reported its state counts".into())),
        };
        let properties = verdicts.lock().unwrap().clone();
        let counterexample_steps = steps.lock().unwrap().clone();
        let tlc_traces = traces.lock().unwrap().clone();
        drop(jobs);
        let outcome = Outcome {
            properties,
            counterexample_steps,
            distinct_states: distinct,
            generated_states: generated,
            seconds: start.elapsed().as_secs_f64(),
            stopped,
            tlc_traces,
        };
        Ok((outcome, replayed.into_inner().unwrap()))
    }
}

/// The invariant of the checking run.
const CHECKS: &str = "Exactly_Checks";
/// What `Exactly_Checks` prints before it reports a property.
const FIRST_MARK: &str = "<<\"exactly-first\", \"";

/// MC definitions that check invariants and non-vacuity checks in one run: `Exactly_Checks` is
/// violated the first time each of them fails (a non-vacuity check `P` "fails" where `P` holds)
/// and prints the names of those failing there for the first time; later failures of the same
/// property pass (TLC registers remember), so that `-continue` prints one trace per property
/// instead of one per violating state. Every property is evaluated in every state (a set
/// enumeration, not a conjunction, which TLC would cut short).
fn first_failures_defs(props: &[&PropertyDef]) -> String {
    let registers: Vec<String> = (1..=props.len()).map(|k| format!("TLCSet({k}, 0)")).collect();
    let checks: Vec<String> = props
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let ok = if p.kind == Kind::Sometimes { format!("~{}", p.name) } else { p.name.to_string() };
            format!("Exactly_First({}, \"{}\", {ok})", i + 1, p.name)
        })
        .collect();
    format!(
        "ASSUME {}\n\
         Exactly_First(k, name, ok) == ok \\/ IF TLCGet(k) = 1 THEN TRUE ELSE PrintT(<<\"exactly-first\", name>>) /\\ ~TLCSet(k, 1)\n\
         {CHECKS} == FALSE \\notin {{{}}}\n",
        registers.join(" /\\ "),
        checks.join(", ")
    )
}

/// The properties a `-continue` run of [`first_failures_defs`] reported, each with the number of
/// states of its trace and the output of its report (the violation and its trace). With several
/// workers a property can be reported more than once: the shortest trace is kept.
fn first_failures(output: &str) -> std::collections::BTreeMap<String, (usize, String)> {
    let mut starts: Vec<usize> = ["@!@!@STARTMSG 2110:", "@!@!@STARTMSG 2107:"]
        .iter()
        .flat_map(|m| output.match_indices(m).map(|(i, _)| i))
        .collect();
    starts.sort_unstable();
    let marks: Vec<(usize, &str)> = output
        .match_indices(FIRST_MARK)
        .filter_map(|(i, _)| {
            let rest = &output[i + FIRST_MARK.len()..];
            rest.find('"').map(|end| (i, &rest[..end]))
        })
        .collect();
    let mut found = std::collections::BTreeMap::new();
    let mut previous = 0;
    for (j, &s) in starts.iter().enumerate() {
        let end = starts.get(j + 1).copied().unwrap_or(output.len());
        let report = &output[s..end];
        let len = report.matches("@!@!@STARTMSG 2217:").count().max(1);
        // A property's names are printed just before its report.
        for (_, name) in marks.iter().filter(|(i, _)| (previous..s).contains(i)) {
            let shorter = found.get(*name).map_or(true, |(l, _): &(usize, String)| len < *l);
            if shorter {
                found.insert(name.to_string(), (len, report.to_string()));
            }
        }
        previous = s;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "@!@!@STARTMSG 2185:0 @!@!@\nStarting...\n@!@!@ENDMSG 2185 @!@!@\n@!@!@STARTMSG 2199:0 @!@!@\n3,939 states generated, 1922 distinct states found, 0 states left on queue.\n@!@!@ENDMSG 2199 @!@!@\n";

    #[test]
    fn reads_counts() {
        assert_eq!(read_run(Some(0), OK, ""), Ok(RunEnd::Complete { distinct: 1922, generated: 3939 }));
    }

    #[test]
    fn reads_violations() {
        let out = "@!@!@STARTMSG 2110:1 @!@!@\nInvariant NoGhostMessages is violated.\n@!@!@ENDMSG 2110 @!@!@\n@!@!@STARTMSG 2217:4 @!@!@\n1: <Initial predicate>\nx = 1\n@!@!@ENDMSG 2217 @!@!@\n@!@!@STARTMSG 2217:4 @!@!@\n2: <Next>\nx = 2\n@!@!@ENDMSG 2217 @!@!@\n";
        assert_eq!(read_run(Some(12), out, ""), Ok(RunEnd::InvariantViolated { name: "NoGhostMessages".into(), trace_len: 2 }));
        let init = "@!@!@STARTMSG 2107:1 @!@!@\nInvariant Inv is violated by the initial state:\nx = 1\n@!@!@ENDMSG 2107 @!@!@\n";
        assert_eq!(read_run(Some(12), init, ""), Ok(RunEnd::InvariantViolated { name: "Inv".into(), trace_len: 0 }));
    }

    #[test]
    fn failures_carry_tlcs_lines() {
        let out = "Parsing file /tmp/x/MC.tla\n@!@!@STARTMSG 1000:1 @!@!@\nCould not find declaration of Foo\n@!@!@ENDMSG 1000 @!@!@\n";
        let e = read_run(Some(150), out, "").unwrap_err();
        assert!(e.0.contains("exit code 150") && e.0.contains("Could not find declaration of Foo"), "{e}");
        assert!(read_run(Some(0), "", "").is_err());
        assert!(read_run(None, "", "").unwrap_err().0.contains("signal"));
        assert!(read_run(Some(12), "garbage", "").is_err());
    }

    #[test]
    fn splits_truncated_output() {
        let m = messages("@!@!@STARTMSG 2199:0 @!@!@\n1 states generated");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].code, 2199);
        assert_eq!(messages("@!@!@STARTMSG 21").len(), 1);
    }
}
