//! TLC's distributed mode: a `TLCServer` that holds the queue and the fingerprints, and `TLCWorker`
//! processes that compute successor states, over Java RMI (all in the same `tla2tools.jar`).
//!
//! What TLC 2.15's distributed mode does, measured (and read from its classes):
//! - it checks invariants only: a `PROPERTY` (temporal) is read and silently not checked; it
//!   cannot evaluate `TLCGet`/`TLCSet` (so no `-continue`-style first-failure registers and no
//!   state limit), and has no `-continue`;
//! - on a violation it stops, exits 0, prints neither the invariant's name nor the whole trace:
//!   only the last two states (the first labelled `<Initial predicate>`);
//! - its distinct-state count is exact, its generated count is not the single process's and
//!   varies from run to run (ResendStoredChange: 144,643 in one process; 195,029, 195,028 and
//!   194,967 distributed);
//! - a worker killed mid-run: the server hands its states to the others and finishes with the
//!   same distinct count; with no worker left it waits for ever;
//! - the server checks for the end once per report interval (a minute by default).
//!
//! So a distributed check runs the model file's invariants and non-vacuity checks (as `~P`)
//! distributed; on a violation a one-state single-process TLC run names every property the last
//! state fails, those are decided, and the distributed run starts again with the others, until
//! one run explores everything (its distinct count is the file's). Temporal properties stay
//! `unknown`, and the outcome says so ([`Stop::Undecided`]).

use super::check::{first_failures, first_failures_defs, CHECKS};
use super::replay::{behaviours_defs, declare_model_values};
use super::run::{Run, Scratch};
use super::tool::{last_progress, messages, parse_counts};
use super::launcher::LAUNCHER;
use super::{Checked, Spec, Tlc, TlcError};
use crate::core::cfg::ModelFile;
use crate::core::outcome::{Limits, Outcome, Stop};
use crate::core::tla;
use crate::core::vocab::{Kind, PropertyDef, Verdict};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where and how a distributed run runs.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// Workers started on this machine (more may join from others: `exactly tlc-worker`).
    pub local_workers: usize,
    /// The address the server (and the local workers) bind and advertise.
    pub host: String,
    /// The server's RMI registry port, the same for every run (`exactly tlc` picks a free one for
    /// `--port 0`).
    pub port: u16,
}

const SERVER: &str = "tlc2.tool.distributed.TLCServer";
const WORKER: &str = "tlc2.tool.distributed.TLCWorker";

/// How a distributed run ended.
enum DistEnd {
    Complete { distinct: u64, generated: u64 },
    /// A property failed in this state (the last of the two TLC prints).
    Violated(tla::State),
    Stopped { stop: Stop, distinct: u64, generated: u64 },
}

impl Tlc {
    /// Checks a model file's invariants and non-vacuity checks with TLC's distributed mode;
    /// temporal properties are left `unknown` (see the module's comment).
    pub fn check_distributed(&self, spec: &Spec, mf: &ModelFile, props: &[PropertyDef], limits: &Limits, cluster: &Cluster) -> Result<Checked, TlcError> {
        let start = Instant::now();
        let deadline = limits.timeout.map(|t| start + t);
        let mut outcome = Outcome::default();
        let mut remaining: Vec<&PropertyDef> = props.iter().filter(|p| p.kind != Kind::Liveness).collect();
        let (distinct, generated) = loop {
            let mut run = Run::new(spec, mf);
            run.deadline = deadline;
            for p in &remaining {
                if p.kind == Kind::Sometimes {
                    run.defs.push_str(&format!("Exactly_Reach_{0} == ~{0}\n", p.name));
                    run.invariants.push(format!("Exactly_Reach_{}", p.name));
                } else {
                    run.invariants.push(p.name.to_string());
                }
            }
            match self.execute_distributed(&run, cluster)? {
                DistEnd::Complete { distinct, generated } => {
                    for p in remaining.drain(..) {
                        outcome.properties.insert(p.name.to_string(), Verdict::of(p.kind, false));
                    }
                    break (distinct, generated);
                }
                DistEnd::Violated(state) => {
                    let failing = self.failing_in(spec, mf, &state, &remaining)?;
                    if failing.is_empty() {
                        return Err(TlcError("TLC's distributed run reported a violation, and its last state fails no property".into()));
                    }
                    for p in remaining.iter().filter(|p| failing.iter().any(|f| f == p.name)) {
                        outcome.properties.insert(p.name.to_string(), Verdict::of(p.kind, true));
                    }
                    remaining.retain(|p| !failing.iter().any(|f| f == p.name));
                }
                DistEnd::Stopped { stop, distinct, generated } => {
                    for p in remaining.drain(..) {
                        outcome.properties.insert(p.name.to_string(), Verdict::Unknown);
                    }
                    outcome.stopped = Some(stop);
                    break (distinct, generated);
                }
            }
        };
        let temporal: Vec<&PropertyDef> = props.iter().filter(|p| p.kind == Kind::Liveness).collect();
        for p in &temporal {
            outcome.properties.insert(p.name.to_string(), Verdict::Unknown);
        }
        if !temporal.is_empty() && outcome.stopped.is_none() {
            outcome.stopped = Some(Stop::Undecided);
        }
        outcome.distinct_states = distinct;
        outcome.generated_states = generated;
        outcome.distributed = true;
        outcome.seconds = start.elapsed().as_secs_f64();
        Ok(Checked { outcome, ..Checked::default() })
    }

    /// The properties among `props` that fail in `state`: a single-process run of a spec whose
    /// one state is `state`, checking them all at once.
    fn failing_in(&self, spec: &Spec, mf: &ModelFile, state: &tla::State, props: &[&PropertyDef]) -> Result<Vec<String>, TlcError> {
        let (vars, mut defs, model_values) = behaviours_defs("Exactly_At", &[std::slice::from_ref(state)]);
        let init: Vec<String> = vars.iter().map(|v| format!("{v} = Exactly_At[1][1].{v}")).collect();
        defs.push_str(&format!("Exactly_AtInit == {}\nExactly_AtSpec == Exactly_AtInit /\\ [][FALSE]_vars\n", init.join(" /\\ ")));
        defs.push_str(&first_failures_defs(props));
        let mut model = mf.clone();
        model.specification = Some("Exactly_AtSpec".into());
        model.symmetry = None;
        declare_model_values(&mut model, &model_values);
        let mut run = Run::new(spec, &model);
        run.defs = defs;
        run.invariants = vec![CHECKS.to_string()];
        run.continue_ = true;
        let quick = Tlc { quick_start: true, workers: 1, ..self.clone() };
        let ran = quick.execute(&run)?;
        Ok(first_failures(&ran.output).into_keys().collect())
    }

    /// One distributed run: the server and the local workers, killed on Ctrl-C or at the
    /// deadline, or when every local worker has ended and no other can join (loopback).
    fn execute_distributed(&self, run: &Run, cluster: &Cluster) -> Result<DistEnd, TlcError> {
        if let Some(stop) = run.stop_now() {
            return Ok(DistEnd::Stopped { stop, distinct: 0, generated: 0 });
        }
        let scratch = self.prepare(run)?;
        let port = cluster.port;
        let mut server = self
            .rmi_java(&scratch, &cluster.host, port)?
            .arg("-Dtlc2.tool.distributed.TLCServer.report=1000")
            .args([LAUNCHER, &cluster.host, SERVER, "-tool", "-deadlock", "-config", "MC.cfg", "MC"])
            .spawn()
            .map_err(|e| TlcError(format!("cannot start Java ({}): {e}", self.java.display())))?;
        let out = crate::core::process::drain(server.stdout.take());
        let err = crate::core::process::drain(server.stderr.take());
        if cluster.local_workers == 0 {
            crate::core::error::progress(&format!(
                "TLC server at {}:{port}: waiting for workers (exactly tlc-worker {} --port {port})",
                cluster.host, cluster.host
            ));
        }
        let mut workers = Vec::new();
        for _ in 0..cluster.local_workers {
            match self.spawn_worker(&scratch, &cluster.host, &cluster.host, port, "work completed", false) {
                Ok(w) => workers.push(w),
                Err(e) => {
                    let _ = server.kill();
                    let _ = server.wait();
                    stop_all(&mut workers);
                    return Err(e);
                }
            }
        }
        let loopback = is_loopback(&cluster.host);
        let mut stopped = None;
        let mut orphaned = false;
        let ended = crate::core::process::wait(&mut server, || {
            stopped = run.stop_now();
            if stopped.is_none()
                && loopback
                && !workers.is_empty()
                && workers.iter_mut().all(|w| matches!(w.child.try_wait(), Ok(Some(_))) && !w.seen.load(std::sync::atomic::Ordering::SeqCst))
            {
                // Every local worker died (none was told the work is done), and none can join.
                orphaned = true;
            }
            stopped.is_some() || orphaned
        })
        .map_err(|e| TlcError(format!("lost track of TLC's server: {e}")))?;
        // The workers leave when the server tells them; give them a moment, then make sure.
        let grace = Instant::now() + Duration::from_secs(5);
        while Instant::now() < grace && workers.iter_mut().any(|w| matches!(w.child.try_wait(), Ok(None))) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let worker_lines = stop_all(&mut workers);
        let (out, err) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
        drop(scratch);
        let (generated, distinct) = last_progress(&out);
        if let Some(stop) = stopped {
            return Ok(DistEnd::Stopped { stop, distinct, generated });
        }
        if orphaned {
            return Err(TlcError(format!(
                "every worker of the distributed run ended before the server finished (it would wait for ever):\n  {}",
                worker_lines.join("\n  ")
            )));
        }
        read_distributed(ended.status.code(), &out, &err)
    }

    /// `java` with the options every process of a distributed run takes: RMI bound to and
    /// advertised as `host`, the server's port, output piped.
    fn rmi_java(&self, scratch: &Scratch, host: &str, port: u16) -> Result<Command, TlcError> {
        let launcher = self.launcher()?;
        let mut c = Command::new(&self.java);
        c.current_dir(&scratch.0)
            .arg("-XX:+UseParallelGC")
            // A worker names itself by its RMI port, read by reflection from these JDK classes
            // (without them it prints "Error: VM does not allow to get the UnicastRef port").
            .args(["--add-opens", "java.rmi/sun.rmi.server=ALL-UNNAMED", "--add-opens", "java.rmi/sun.rmi.transport=ALL-UNNAMED"])
            .arg(format!("-Djava.io.tmpdir={}", scratch.0.join("tmp").display()))
            .arg(format!("-Djava.rmi.server.hostname={host}"))
            .arg(format!("-Dtlc2.tool.distributed.TLCServer.port={port}"))
            .arg("-cp")
            .arg(self.with_launcher(&launcher))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Ok(c)
    }

    /// A worker of `self.workers` threads joining the server at `server:port`, its own RMI
    /// object bound to `host`; its flag rises once its output says `watch` (and with `echo` its
    /// output goes to this process's stdout as it comes).
    fn spawn_worker(&self, scratch: &Scratch, host: &str, server: &str, port: u16, watch: &'static str, echo: bool) -> Result<Worker, TlcError> {
        let mut child = self
            .rmi_java(scratch, host, port)?
            .arg(format!("-Dtlc2.tool.distributed.TLCWorker.threadCount={}", self.workers))
            .args([LAUNCHER, host, WORKER, server])
            .spawn()
            .map_err(|e| TlcError(format!("cannot start Java ({}): {e}", self.java.display())))?;
        let (out, seen) = crate::core::process::drain_watching(child.stdout.take(), watch, echo);
        let err = crate::core::process::drain(child.stderr.take());
        Ok(Worker { child, out, err, seen })
    }

    /// `exactly tlc-worker`: a worker joining the server at `server:port`, in the foreground,
    /// its RMI object bound to and advertised as `host`. A check is a series of distributed
    /// runs on the same port (a violation ends a run; the next starts with the properties left),
    /// so the worker joins each run in turn, and ends once no run has come for `wait`: exit 0
    /// after at least one run, else "cannot reach" (exit 3). Returns TLC's exit code.
    pub fn join(&self, server: &str, port: u16, host: &str, wait: Duration) -> Result<i32, TlcError> {
        let mut served = 0;
        loop {
            match self.join_once(server, port, host, wait)? {
                Joined::Unreachable if served == 0 => {
                    return Err(TlcError(format!("cannot reach a TLC server at {server}:{port} (tried for {} s)", wait.as_secs())))
                }
                Joined::Unreachable => {
                    crate::core::error::progress(&format!(
                        "no further run of the TLC server at {server}:{port} within {} s: done after {served} run{}",
                        wait.as_secs(),
                        if served == 1 { "" } else { "s" }
                    ));
                    return Ok(crate::core::error::code::OK);
                }
                Joined::Ended(0) => {
                    served += 1;
                    crate::core::error::progress(&format!(
                        "run {served} of the TLC server at {server}:{port} done; waiting up to {} s for the next",
                        wait.as_secs()
                    ));
                }
                Joined::Ended(code) => return Ok(code),
                Joined::Lost => {
                    return Err(TlcError(format!(
                        "the TLC server at {server}:{port} stopped answering during run {} (for {} s): its check did not end normally",
                        served + 1,
                        wait.as_secs()
                    )))
                }
            }
        }
    }

    /// One worker process joining one run of the server.
    fn join_once(&self, server: &str, port: u16, host: &str, wait: Duration) -> Result<Joined, TlcError> {
        let dir = std::env::temp_dir().join(format!("exactly-tlc-worker-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let scratch = Scratch(dir.clone());
        let env_err = |e: std::io::Error| TlcError(format!("cannot prepare a TLC worker in {}: {e}", dir.display()));
        std::fs::create_dir_all(dir.join("tmp")).map_err(env_err)?;
        // The worker retries an unreachable server for ever: its output says when it is in.
        let mut w = self.spawn_worker(&scratch, host, server, port, "threads ready at", true)?;
        let start = Instant::now();
        let mut unreachable = false;
        // A worker only answers the server's calls: if the server dies mid-run, TLC's worker
        // waits for ever. So the server's registry is probed once a second during the run.
        let registry = std::net::ToSocketAddrs::to_socket_addrs(&(server, port)).ok().and_then(|mut a| a.next());
        let (mut probed, mut answered, mut lost) = (start, start, false);
        let ended = crate::core::process::wait(&mut w.child, || {
            let joined = w.seen.load(std::sync::atomic::Ordering::SeqCst);
            unreachable = !joined && start.elapsed() > wait;
            if let (true, Some(addr)) = (joined, registry) {
                if probed.elapsed() >= Duration::from_secs(1) {
                    probed = Instant::now();
                    if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
                        answered = Instant::now();
                    }
                }
                lost = answered.elapsed() > wait;
            }
            unreachable || lost || crate::core::cancel::interrupted()
        })
        .map_err(|e| TlcError(format!("lost track of TLC's worker: {e}")))?;
        let _ = w.out.join();
        let err = w.err.join().unwrap_or_default();
        drop(scratch);
        if unreachable {
            return Ok(Joined::Unreachable);
        }
        eprint!("{err}");
        if lost && !crate::core::cancel::interrupted() {
            return Ok(Joined::Lost);
        }
        Ok(Joined::Ended(ended.status.code().unwrap_or(crate::core::error::code::INTERRUPTED)))
    }
}

/// How a worker's turn in one distributed run ended.
enum Joined {
    /// No server answered within the wait.
    Unreachable,
    /// The worker process ended with this exit code (130: interrupted).
    Ended(i32),
    /// The server stopped answering during the run (killed, its machine gone): the worker was
    /// stopped after the wait.
    Lost,
}

/// A local worker process and its output.
struct Worker {
    child: Child,
    out: std::thread::JoinHandle<String>,
    err: std::thread::JoinHandle<String>,
    /// Its output said what [`Tlc::spawn_worker`] watches for (a local worker: that the server
    /// told it the work is done).
    seen: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Kills the workers still running and reaps them all; their last lines.
fn stop_all(workers: &mut Vec<Worker>) -> Vec<String> {
    let mut lines = Vec::new();
    for mut w in workers.drain(..) {
        if matches!(w.child.try_wait(), Ok(None)) {
            let _ = w.child.kill();
        }
        let status = w.child.wait().ok();
        let text = format!("{}{}", w.out.join().unwrap_or_default(), w.err.join().unwrap_or_default());
        let last: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = last[last.len().saturating_sub(3)..].join(" / ");
        lines.push(format!("worker ({}): {tail}", status.map_or("?".to_string(), |s| s.to_string())));
    }
    lines
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback())
}

/// How the server's run ended, from its exit code and `-tool` output.
fn read_distributed(rc: Option<i32>, output: &str, stderr: &str) -> Result<DistEnd, TlcError> {
    let msgs = messages(output);
    // "The behavior up to this point is:" and the last two states, the second the failing one.
    if msgs.iter().any(|m| m.code == 2121) {
        let last = msgs.iter().rfind(|m| m.code == 2217);
        let state = last
            .and_then(|m| tla::parse_trace_state(&m.text).ok())
            .ok_or_else(|| TlcError("TLC's distributed run reported a violation without a state that parses".into()))?;
        return Ok(DistEnd::Violated(state.state));
    }
    let counts = msgs.iter().rev().find(|m| m.code == 2199).and_then(|m| parse_counts(&m.text));
    let failed = msgs.iter().any(|m| m.class == 1);
    match (rc, counts) {
        (Some(0), Some((generated, distinct))) if !failed => Ok(DistEnd::Complete { distinct, generated }),
        _ => Err(super::tool::failure("TLC's distributed server failed", rc, &msgs, stderr)),
    }
}
