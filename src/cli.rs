//! The `exactly` command line.

use crate::cfg::{self, ModelFile, Value};
use crate::check::{Limits, Outcome, RunOptions, Stop};
use crate::expect::{self, Expectation};
use crate::family::{self, Consts, ConstType, Family, Kind, PropertyDef};
use crate::tlc::{Tlc, TlcError};
use clap::{Args, Parser, Subcommand};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Exit codes, the same for every subcommand.
pub mod code {
    pub const OK: i32 = 0;
    /// A result that is wrong: a missed expectation, a disagreement, a violation.
    pub const WRONG: i32 = 1;
    /// Bad input or usage.
    pub const USAGE: i32 = 2;
    /// The environment failed: Java or TLC missing, TLC crashed.
    pub const ENV: i32 = 3;
    /// A run stopped at --max-states or --timeout before deciding everything.
    pub const LIMIT: i32 = 4;
    /// Interrupted (Ctrl-C).
    pub const INTERRUPTED: i32 = 130;
}

/// An error that ends the command: its one-line message and exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

pub(crate) fn usage(message: impl Into<String>) -> Failure {
    Failure { code: code::USAGE, message: message.into() }
}

impl Failure {
    /// A broken environment (exit code 3).
    pub fn env(message: impl Into<String>) -> Failure {
        Failure { code: code::ENV, message: message.into() }
    }
    /// Ctrl-C (exit code 130).
    pub fn interrupted() -> Failure {
        Failure { code: code::INTERRUPTED, message: "interrupted".into() }
    }
}

impl From<TlcError> for Failure {
    fn from(e: TlcError) -> Failure {
        Failure { code: code::ENV, message: e.0 }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "exactly",
    version,
    about = "Exactly-once message processing algorithms, each checked twice: by TLC and by Stateright.",
    after_help = "Examples:\n  exactly list\n  exactly compare --all\n  exactly check handler\n  exactly tlc models/handler/GiveUp.cfg\n  exactly explore models/handler/UpdateThenSend.cfg\n\nExit codes: 0 success, 1 a wrong result (a missed expectation, a disagreement), 2 bad input, 3 a broken environment (Java or TLC)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the families, their variants and model files.
    #[command(after_help = "Examples:\n  exactly list\n  exactly list --json")]
    List {
        /// Print {"families": [{"id", "variants", "models"}]}.
        #[arg(long)]
        json: bool,
    },
    /// Check model files with Stateright (the Rust twin).
    #[command(after_help = "Examples:\n  exactly check models/handler/ResendStoredChange.cfg\n  exactly check handler --const MaxFailures=2\n  exactly check --all --threads 2")]
    Check {
        #[command(flatten)]
        targets: Targets,
        /// Checker threads.
        #[arg(long, default_value_t = 1, value_parser = parse_count)]
        threads: usize,
        /// Depth-first instead of breadth-first (counterexamples are then not the shortest).
        #[arg(long)]
        dfs: bool,
        /// Run Stateright's ActorModel itself instead of the fast path that mirrors it (the same
        /// states and counts; slower).
        #[arg(long)]
        actor_model: bool,
    },
    /// Check model files with TLC (the TLA+ twin).
    #[command(after_help = "Examples:\n  exactly tlc models/handler/ResendStoredChange.cfg\n  exactly tlc handler --workers 2\n  exactly tlc --all --json")]
    Tlc {
        #[command(flatten)]
        targets: Targets,
        /// TLC workers per run.
        #[arg(long, default_value_t = 1, value_parser = parse_count)]
        workers: usize,
    },
    /// Check model files with both checkers and compare them with each other and the expectations.
    #[command(after_help = "Examples:\n  exactly compare --all\n  exactly compare handler --const MaxFailures=2\n  exactly compare models/handler/GiveUp.cfg --json")]
    Compare {
        #[command(flatten)]
        targets: Targets,
        /// Stateright threads.
        #[arg(long, default_value_t = 1, value_parser = parse_count)]
        threads: usize,
        /// TLC workers per run.
        #[arg(long, default_value_t = 1, value_parser = parse_count)]
        workers: usize,
    },
    /// Benchmark Stateright against TLC on each family's large model files (models/<family>/bench-*.cfg).
    #[command(after_help = "Examples:\n  exactly bench\n  exactly bench handler outbox --runs 1\n  exactly bench --json\n\nEach bench file is checked by TLC (one run, -workers 2, breadth-first, invariants only) and by Stateright (breadth-first with 2 threads, and depth-first), each as a process of its own, the runs alternating; the table shows wall seconds, peak memory and the ratios TLC/Stateright (medians of the runs). The results are merged into bench/results.json and drawn in bench/chart.svg.")]
    Bench {
        /// Families to benchmark (all when none is named).
        families: Vec<String>,
        /// Runs of each checker on each model file (the median is reported).
        #[arg(long, default_value_t = 3, value_parser = parse_count)]
        runs: usize,
        /// Print {"results": [...]}.
        #[arg(long)]
        json: bool,
    },
    /// Print the shortest counterexample of each violated property, from either checker or both.
    #[command(after_help = "Examples:\n  exactly trace models/handler/UpdateThenSend.cfg\n  exactly trace models/handler/GiveUp.cfg --property Termination --checker tlc\n  exactly trace models/handler/ResendStoredChange.cfg --property CrashMidProcessing --json\n\nEach step shows its action and the parts of the state it changed. A non-vacuity check named with --property gives the shortest path to a state that shows it. Traces are breadth-first with one worker: the shortest there are.")]
    Trace {
        /// The model file.
        model: PathBuf,
        /// Only this property (by default: every violated invariant and liveness property).
        #[arg(long)]
        property: Option<String>,
        /// Which checker's counterexample.
        #[arg(long, value_enum, default_value_t = Which::Both)]
        checker: Which,
        /// Override a constant of the model file.
        #[arg(long = "const", value_name = "NAME=VALUE")]
        consts: Vec<String>,
        /// Print {"traces": [...]} in the common trace format.
        #[arg(long)]
        json: bool,
    },
    /// Write the skeleton of a new family into the source tree (then rebuild).
    #[command(after_help = "Examples:\n  exactly new my-dedup\n  cargo build --release && exactly compare my-dedup\n\nWrites src/families/<id>.rs (registered in the catalog), specs/<id>/<Module>.tla, specs/<id>/README.md and models/<id>/ (a correct and a broken variant, with expectations). After a rebuild both checkers pass the correct variant and refute the broken one; then make it yours (see the README written).")]
    New {
        /// The family's id: lowercase letters, digits and hyphens (e.g. my-dedup).
        id: String,
    },
    /// Serve the catalog, the last results and a counterexample viewer on a web page.
    #[command(after_help = "Examples:\n  exactly serve\n  exactly serve --port 8081\n\nThe page reads what runs saved in .exactly/ (results and traces) and can start a run of a model file. Loopback only unless --host says otherwise; --port 0 picks a free port.")]
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port to listen on (0: any free port).
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Browse a model file's state space in Stateright's Explorer.
    #[command(after_help = "Examples:\n  exactly explore models/handler/UpdateThenSend.cfg\n  exactly explore models/handler/GiveUp.cfg --port 3001\n\nOpen the printed address; follow a property's counterexample step by step, with the actors' sequence diagram.")]
    Explore {
        /// The model file.
        model: PathBuf,
        /// Override a constant of the model file.
        #[arg(long = "const", value_name = "NAME=VALUE")]
        consts: Vec<String>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port to listen on.
        #[arg(long, default_value_t = 3000)]
        port: u16,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Tlc,
    Stateright,
    Both,
}

#[derive(Args, Debug)]
pub struct Targets {
    /// Model files (models/<family>/<name>.cfg) or family ids.
    pub targets: Vec<String>,
    /// Every model file of every family.
    #[arg(long)]
    pub all: bool,
    /// Override a constant of every model file, e.g. MaxFailures=2 or Variant=GiveUp.
    #[arg(long = "const", value_name = "NAME=VALUE")]
    pub consts: Vec<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Stop each check once about this many distinct states have been found (exit code 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_states: Option<u64>,
    /// Stop each model file's check after this many seconds (exit code 4).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<std::time::Duration>,
}

fn parse_count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=256).contains(&n) => Ok(n),
        _ => Err(format!("{s}: give a whole number from 1 to 256")),
    }
}

fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s.parse().map_err(|_| format!("{s} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 1e7) {
        return Err(format!("{s}: give a number of seconds above 0"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

impl Targets {
    fn limits(&self) -> Limits {
        Limits { max_states: self.max_states, timeout: self.timeout }
    }
}

/// The catalog root: the folder with `specs/` and `models/` (`$EXACTLY_ROOT`, else the current
/// folder or one above it, else the crate's own folder).
pub fn root() -> PathBuf {
    if let Some(r) = std::env::var_os("EXACTLY_ROOT") {
        return PathBuf::from(r);
    }
    let is_root = |p: &Path| p.join("models").is_dir() && p.join("specs").is_dir();
    if let Ok(cwd) = std::env::current_dir() {
        if let Some(found) = cwd.ancestors().find(|p| is_root(p)) {
            return found.to_path_buf();
        }
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A model file ready to check.
pub struct Job {
    pub family: &'static dyn Family,
    pub path: PathBuf,
    /// The path as shown: relative to the root where possible.
    pub name: String,
    pub model: ModelFile,
    pub consts: Consts,
    pub props: Vec<PropertyDef>,
    /// None when the file has none or constants were overridden.
    pub expectation: Option<Expectation>,
    pub overridden: bool,
}

/// The model files of a family, sorted.
pub fn model_files(root: &Path, family: &dyn Family) -> Vec<PathBuf> {
    family_files(root, family, false)
}

/// A family's benchmark model files (`models/<family>/bench-*.cfg`): large, for `exactly bench`,
/// and left out of the catalog's runs.
pub fn bench_files(root: &Path, family: &dyn Family) -> Vec<PathBuf> {
    family_files(root, family, true)
}

fn family_files(root: &Path, family: &dyn Family, bench: bool) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("models").join(family.id()))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "cfg"))
                .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("bench-")) == bench)
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn known_families() -> String {
    family::families().iter().map(|f| f.id()).collect::<Vec<_>>().join(", ")
}

/// Parses `--const NAME=VALUE` overrides.
fn parse_overrides(consts: &[String]) -> Result<Vec<(String, Value)>, Failure> {
    consts
        .iter()
        .map(|c| {
            let (name, value) = c
                .split_once('=')
                .ok_or_else(|| usage(format!("--const {c}: write NAME=VALUE, e.g. --const MaxFailures=2")))?;
            let name = name.trim();
            if name.is_empty() {
                return Err(usage(format!("--const {c}: the constant's name is missing")));
            }
            let value = Value::parse(value.trim()).map_err(|e| usage(format!("--const {c}: {e}")))?;
            Ok((name.to_string(), value))
        })
        .collect()
}

/// Reads and validates one model file, applying the overrides.
pub fn load_job(root: &Path, path: &Path, overrides: &[(String, Value)]) -> Result<Job, Failure> {
    let shown = path.strip_prefix(root).unwrap_or(path).display().to_string();
    let meta = std::fs::metadata(path).map_err(|_| usage(format!("no model file {shown} (list them with `exactly list`)")))?;
    if meta.is_dir() {
        return Err(usage(format!("{shown} is a folder, not a model file")));
    }
    let family_id = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let family = family::find(&family_id).ok_or_else(|| {
        usage(format!(
            "{shown}: cannot tell its family: a model file lives in models/<family>/ (families: {})",
            known_families()
        ))
    })?;
    let bytes = std::fs::read(path).map_err(|e| usage(format!("cannot read {shown}: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| usage(format!("{shown}: not a text file")))?;
    let mut model = cfg::parse(&text).map_err(|e| usage(format!("{shown}: {e}")))?;
    for (name, value) in overrides {
        let def = family.constants().iter().find(|c| c.name == name).ok_or_else(|| {
            let known: Vec<_> = family.constants().iter().map(|c| c.name).collect();
            usage(format!("--const {name}: unknown constant for family {} (known: {})", family.id(), known.join(", ")))
        })?;
        // A variant may be given bare on the command line: --const Variant=GiveUp.
        let value = match (def.ty, value) {
            (ConstType::Variant, Value::ModelValue(s)) => Value::Str(s.clone()),
            _ => value.clone(),
        };
        model.set_constant(name, value);
    }
    let (consts, props) = family::validate(family, &model).map_err(|e| {
        if overrides.is_empty() {
            usage(format!("{shown}: {e}"))
        } else {
            usage(format!("{shown} with --const: {e}"))
        }
    })?;
    let expectation = if overrides.is_empty() {
        expect::load(path).map_err(usage)?
    } else {
        None
    };
    Ok(Job { family, path: path.to_path_buf(), name: shown, model, consts, props, expectation, overridden: !overrides.is_empty() })
}

/// Resolves targets (model files, family ids, `--all`) into jobs.
pub fn resolve(root: &Path, targets: &Targets) -> Result<Vec<Job>, Failure> {
    let overrides = parse_overrides(&targets.consts)?;
    let mut paths = Vec::new();
    if targets.all {
        if !targets.targets.is_empty() {
            return Err(usage("give either --all or targets, not both"));
        }
        for f in family::families() {
            paths.extend(model_files(root, f));
        }
    } else if targets.targets.is_empty() {
        return Err(usage(format!("name a model file, a family ({}) or --all", known_families())));
    }
    for t in &targets.targets {
        let as_path = PathBuf::from(t);
        if t.ends_with(".cfg") || t.contains('/') || as_path.exists() {
            paths.push(as_path);
        } else if let Some(f) = family::find(t) {
            let files = model_files(root, f);
            if files.is_empty() {
                return Err(usage(format!("family {t} has no model files in models/{t}/")));
            }
            paths.extend(files);
        } else {
            return Err(usage(format!("unknown family or model file {t} (families: {})", known_families())));
        }
    }
    paths.iter().map(|p| load_job(root, p, &overrides)).collect()
}

fn variant(job: &Job) -> String {
    job.consts.0.get("Variant").map(|v| match v {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    }).unwrap_or_default()
}

fn outcome_json(o: &Outcome) -> serde_json::Value {
    let mut v = json!({
        "distinct_states": o.distinct_states,
        "generated_states": o.generated_states,
        "seconds": (o.seconds * 1000.0).round() / 1000.0,
        "properties": o.properties,
    });
    if let Some(stop) = o.stopped {
        v["stopped"] = json!(stop);
    }
    v
}

/// Saves a result as `.exactly/results/<family>/<model>.<kind>.json`, kind being `stateright`,
/// `tlc` or `compare` (written to a temporary file, then renamed, so that
/// a crash or an interruption never leaves a half-written file).
fn save_result(root: &Path, job: &Job, kind: &str, result: &serde_json::Value) {
    save_json(root, "results", job, kind, result)
}

/// Saves `.exactly/<folder>/<family>/<model>.<kind>.json` atomically (a temporary file, renamed).
fn save_json(root: &Path, folder: &str, job: &Job, kind: &str, result: &serde_json::Value) {
    let stem = job.path.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    let dir = root.join(".exactly").join(folder).join(job.family.id());
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

/// The exit code of a command whose runs stopped as `stops` say, and whose results were all
/// right or not.
fn exit_code(stops: &[Stop], all_right: bool) -> i32 {
    if stops.contains(&Stop::Interrupted) {
        code::INTERRUPTED
    } else if !stops.is_empty() {
        code::LIMIT
    } else if all_right {
        code::OK
    } else {
        code::WRONG
    }
}

/// Verdict misses for one checker; without an expectation, any violated invariant or liveness
/// property counts as wrong (as TLC's exit code does).
fn judge(job: &Job, checker: &str, outcome: &Outcome) -> (Option<bool>, Vec<String>) {
    match &job.expectation {
        Some(e) => {
            let counts = if checker == "tlc" { &e.tlc } else { &e.stateright };
            let misses = expect::misses(e, checker, counts, outcome);
            (Some(misses.is_empty()), misses)
        }
        None => {
            let violated: Vec<String> = job
                .props
                .iter()
                .filter(|p| p.kind != Kind::Sometimes && outcome.properties.get(p.name) == Some(&family::Verdict::Violated))
                .map(|p| format!("{checker}: {} violated", p.name))
                .collect();
            (None, violated)
        }
    }
}

pub(crate) fn progress(msg: &str) {
    eprintln!("{msg}");
}

struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(header: &[&str]) -> Table {
        Table { rows: vec![header.iter().map(|s| s.to_string()).collect()] }
    }
    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
    fn print(&self) {
        let n = self.rows[0].len();
        let widths: Vec<usize> = (0..n).map(|i| self.rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
        for r in &self.rows {
            let line: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            println!("{}", line.join("  ").trim_end());
        }
    }
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "NO" }.to_string()
}

fn expected_cell(e: Option<bool>) -> String {
    match e {
        Some(b) => yes(b),
        None => "-".to_string(),
    }
}

fn expected_verdict(job: &Job, prop: &str) -> String {
    job.expectation
        .as_ref()
        .and_then(|e| e.properties.get(prop))
        .map_or("-".to_string(), |v| v.to_string())
}

/// `exactly check` and `exactly tlc`: one checker.
fn run_one(root: &Path, targets: &Targets, checker: &str, mut run: impl FnMut(&Job) -> Result<Outcome, Failure>) -> Result<i32, Failure> {
    let jobs = resolve(root, targets)?;
    let mut all_ok = true;
    let mut results = Vec::new();
    let mut table = Table::new(&["model", "property", "verdict", "expected", "ok"]);
    let mut traces = Vec::new();
    let mut stops = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        if crate::check::interrupted() {
            break;
        }
        progress(&format!("[{}/{}] {} with {checker}", i + 1, jobs.len(), job.name));
        let outcome = run(job)?;
        if let Some(stop) = outcome.stopped {
            progress(&format!(
                "  {}: {stop} after {} distinct / {} generated states",
                job.name, outcome.distinct_states, outcome.generated_states
            ));
            stops.push(stop);
        }
        let (expected, misses) = judge(job, checker, &outcome);
        all_ok &= misses.is_empty();
        if outcome.stopped.is_none() {
            for m in &misses {
                progress(&format!("  {}: {m}", job.name));
            }
        }
        for p in &job.props {
            let v = outcome.properties.get(p.name).map_or("-".into(), |v| v.to_string());
            let want = expected_verdict(job, p.name);
            let ok = if want == "-" { "-".to_string() } else { yes(want == v) };
            table.row(vec![job.name.clone(), p.name.to_string(), v, want, ok]);
        }
        if checker == "tlc" && !targets.json {
            for p in job.props.iter().filter(|p| p.kind != Kind::Sometimes) {
                if let Some(n) = outcome.counterexample_steps.get(p.name) {
                    traces.push(format!("{}: {} is violated after {n} steps (TLC's error trace)", job.name, p.name));
                }
            }
        }
        if checker == "stateright" && !targets.json && outcome.stopped.is_none() {
            for p in job.props.iter().filter(|p| p.kind != Kind::Sometimes) {
                if outcome.properties.get(p.name) == Some(&family::Verdict::Violated) {
                    if let Some(steps) = job.family.trace(&job.consts, p) {
                        let actions: Vec<&str> = steps.iter().skip(1).map(|s| s.action.as_str()).collect();
                        traces.push(format!("{}: {} is violated after {} steps:\n  {}", job.name, p.name, actions.len(), actions.join("\n  ")));
                    }
                }
            }
        }
        let counts = format!("{}/{}", outcome.distinct_states, outcome.generated_states);
        let want = job.expectation.as_ref().map_or("-".to_string(), |e| {
            let c = if checker == "tlc" { &e.tlc } else { &e.stateright };
            format!("{}/{}", c.distinct_states, c.generated_states)
        });
        let ok = if want == "-" { "-".to_string() } else { yes(want == counts) };
        table.row(vec![job.name.clone(), "states distinct/generated".into(), counts, want, ok]);
        let result = json!({
            "model": job.name,
            "family": job.family.id(),
            "variant": variant(job),
            checker: outcome_json(&outcome),
            "expected": expected,
        });
        save_result(root, job, checker, &result);
        results.push(result);
    }
    if targets.json {
        println!("{}", serde_json::to_string_pretty(&json!({"ok": all_ok, "results": results})).unwrap());
    } else {
        table.print();
        if !traces.is_empty() {
            println!("\nShortest counterexamples ({}, breadth-first):", if checker == "tlc" { "TLC" } else { "Stateright" });
            for t in traces {
                println!("{t}");
            }
        }
    }
    Ok(exit_code(&stops, all_ok))
}

/// TLC for one model file: committed files known to be small start Java's quick compiler only.
/// Measured on the committed files: the quick compiler spends less CPU up to about 20,000
/// distinct states, and about as much at 20,000; at 36,000 its run takes a third longer, at
/// 52,000 half as long again.
fn small_model_tlc(tlc: &Tlc, job: &Job) -> Tlc {
    let small = job.expectation.as_ref().is_some_and(|e| e.tlc.distinct_states < 30_000);
    Tlc { quick_start: small, ..tlc.clone() }
}

/// The order in which compare takes model files: the largest first (by the expected number of
/// states TLC generates), so that the two at a time finish together rather than one long run
/// last; files without an expectation keep their place after them.
fn largest_first(jobs: &[Job]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].expectation.as_ref().map_or(0, |e| e.tlc.generated_states)));
    order
}

/// What `compare` found for one model file.
struct Compared {
    rows: Vec<Vec<String>>,
    result: serde_json::Value,
    agree: bool,
    expected: bool,
    stops: Vec<Stop>,
}

fn compare(root: &Path, targets: &Targets, opts: &RunOptions, tlc: &Tlc) -> Result<i32, Failure> {
    let jobs = resolve(root, targets)?;
    let one = |started: usize, job: &Job| -> Result<Compared, Failure> {
        let tlc = &small_model_tlc(tlc, job);
        let mut all_agree = true;
        let mut all_expected = true;
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut stops = Vec::new();
        progress(&format!("[{}/{}] {}: Stateright", started + 1, jobs.len(), job.name));
        let sr = job.family.check(&job.consts, &job.props, opts);
        let lockstep = job.expectation.as_ref().map_or(true, |e| e.lockstep);
        // Stateright's counterexamples, replayed in TLC's checking run (a lockstep twin).
        let mut sr_traces = Vec::new();
        if lockstep && sr.stopped.is_none() {
            for p in job.props.iter().filter(|p| p.kind == family::Kind::Invariant) {
                if sr.properties.get(p.name) == Some(&family::Verdict::Violated) && !crate::check::interrupted() {
                    if let Some(states) = job.family.tla_trace(&job.consts, p) {
                        sr_traces.push((p.name, states));
                    }
                }
            }
        }
        let (tl, in_run) = if sr.stopped == Some(Stop::Interrupted) || crate::check::interrupted() {
            (Outcome { stopped: Some(Stop::Interrupted), ..Outcome::default() }, Vec::new())
        } else {
            progress(&format!("[{}/{}] {}: TLC", started + 1, jobs.len(), job.name));
            let behaviours: Vec<_> = sr_traces.iter().map(|(_, s)| s.clone()).collect();
            tlc.check_replaying(root, job.family, &job.model, &job.props, 2, &opts.limits, &behaviours)?
        };
        let sr_traces: Vec<SrTrace> = sr_traces.into_iter().zip(in_run.into_iter().chain(std::iter::repeat(false))).map(|((p, s), r)| (p, s, r)).collect();
        for (who, o) in [("Stateright", &sr), ("TLC", &tl)] {
            if let Some(stop) = o.stopped {
                progress(&format!(
                    "  {}: {who} {stop} after {} distinct / {} generated states",
                    job.name, o.distinct_states, o.generated_states
                ));
                stops.push(stop);
            }
        }
        let stopped = sr.stopped.is_some() || tl.stopped.is_some();
        // Symmetry reduction: each checker keeps its own representatives, so each one's counts
        // meet its own expectation only.
        let symmetric = job.consts.symmetric();
        // A stopped run decides nothing about counts, nor about the properties it left unknown.
        let counts_agree = stopped
            || !lockstep
            || symmetric
            || (sr.distinct_states == tl.distinct_states && sr.generated_states == tl.generated_states);
        let verdicts_agree = sr.properties.iter().all(|(name, v)| {
            let t = tl.properties.get(name);
            *v == family::Verdict::Unknown || t == Some(&family::Verdict::Unknown) || t == Some(v)
        });
        let agree = counts_agree && verdicts_agree;
        let (e_tlc, m_tlc) = judge(job, "tlc", &tl);
        let (e_sr, m_sr) = judge(job, "stateright", &sr);
        let expected = match (e_tlc, e_sr) {
            (Some(a), Some(b)) => Some(a && b),
            _ => None,
        };
        all_agree &= agree;
        all_expected &= expected.unwrap_or(true);
        for m in m_tlc.iter().chain(&m_sr) {
            if job.expectation.is_some() && !stopped {
                progress(&format!("  {}: {m}", job.name));
            }
        }
        for p in &job.props {
            let t = tl.properties.get(p.name).map_or("-".into(), |v| v.to_string());
            let s = sr.properties.get(p.name).map_or("-".into(), |v| v.to_string());
            let want = expected_verdict(job, p.name);
            let exp = if job.expectation.is_none() { "-".to_string() } else { yes(want == t && want == s) };
            let agree_cell = if t == "unknown" || s == "unknown" { "-".to_string() } else { yes(t == s) };
            rows.push(vec![job.name.clone(), p.name.to_string(), t.clone(), s.clone(), agree_cell, exp]);
        }
        let exp_counts = job.expectation.as_ref().map(|e| {
            e.tlc.distinct_states == tl.distinct_states
                && e.tlc.generated_states == tl.generated_states
                && e.stateright.distinct_states == sr.distinct_states
                && e.stateright.generated_states == sr.generated_states
        });
        rows.push(vec![
            job.name.clone(),
            if symmetric {
                "states distinct/generated (symmetry)"
            } else if lockstep {
                "states distinct/generated"
            } else {
                "states distinct/generated (not lockstep)"
            }
            .into(),
            format!("{}/{}", tl.distinct_states, tl.generated_states),
            format!("{}/{}", sr.distinct_states, sr.generated_states),
            yes(counts_agree),
            expected_cell(exp_counts),
        ]);
        let counterexamples = if stopped { Vec::new() } else { counterexamples(root, job, lockstep, &tl, &sr, tlc, sr_traces)? };
        for c in &counterexamples {
            let ok = c.agree(lockstep);
            all_agree &= ok;
            let replay = |r: Option<bool>| r.map_or("", |b| if b { ", replayed" } else { ", NOT replayed" });
            rows.push(vec![
                job.name.clone(),
                format!("counterexample {}", c.property),
                c.tlc_length.map_or("-".into(), |n| format!("{n} steps{}", replay(c.tlc_in_stateright))),
                c.stateright_length.map_or("-".into(), |n| format!("{n} steps{}", replay(c.stateright_in_tlc))),
                yes(ok),
                "-".into(),
            ]);
        }
        let result = json!({
            "model": job.name,
            "family": job.family.id(),
            "variant": variant(job),
            "lockstep": lockstep,
            "symmetry": symmetric,
            "counterexamples": counterexamples.iter().map(|c| c.to_json(lockstep)).collect::<Vec<_>>(),
            "tlc": outcome_json(&tl),
            "stateright": outcome_json(&sr),
            "agree": agree,
            "expected": expected,
        });
        save_result(root, job, "compare", &result);
        Ok(Compared { rows, result, agree: all_agree, expected: all_expected, stops })
    };
    // Two model files at a time: a file's TLC run has one worker (its traces are then the
    // shortest), and a small run is mostly Java starting up, on one core.
    let order = largest_first(&jobs);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(&i) = order.get(k) else { break };
                let job = &jobs[i];
                if crate::check::interrupted() {
                    break;
                }
                let r = one(k, job);
                let failed = r.is_err();
                done.lock().unwrap().push((i, r));
                if failed {
                    // A broken environment ends the command: take no more files.
                    next.store(jobs.len(), std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap();
    done.sort_by_key(|(i, _)| *i);
    let mut all_agree = true;
    let mut all_expected = true;
    let mut results = Vec::new();
    let mut table = Table::new(&["model", "property", "TLC", "Stateright", "agree", "expected"]);
    let mut stops = Vec::new();
    for (_, r) in done {
        let c = r?;
        all_agree &= c.agree;
        all_expected &= c.expected;
        for row in c.rows {
            table.row(row);
        }
        stops.extend(c.stops);
        results.push(c.result);
    }
    if targets.json {
        println!("{}", serde_json::to_string_pretty(&json!({"agree": all_agree, "expected": all_expected, "results": results})).unwrap());
    } else {
        table.print();
        if !stops.is_empty() {
            println!("\nSome runs {}: `unknown` verdicts are undecided, and their counts partial.", stops[0]);
        }
        println!(
            "\n{} model files: the checkers {}; expectations {}.",
            jobs.len(),
            if all_agree { "agree on every one" } else { "DISAGREE" },
            if jobs.iter().all(|j| j.expectation.is_none()) {
                "not applied (constants overridden)"
            } else if all_expected {
                "met"
            } else {
                "MISSED"
            }
        );
    }
    Ok(exit_code(&stops, all_agree && all_expected))
}

/// The shortest counterexample of a violated invariant from each checker, and (for a lockstep
/// twin) whether each replays in the other checker.
struct Counterexample {
    property: &'static str,
    tlc_length: Option<usize>,
    stateright_length: Option<usize>,
    tlc_in_stateright: Option<bool>,
    stateright_in_tlc: Option<bool>,
    /// Why a replay failed, for the log.
    why: Vec<String>,
}

impl Counterexample {
    /// Both checkers found one, of the same length, and (lockstep) each replays in the other.
    fn agree(&self, lockstep: bool) -> bool {
        self.tlc_length.is_some()
            && self.tlc_length == self.stateright_length
            && (!lockstep || (self.tlc_in_stateright == Some(true) && self.stateright_in_tlc == Some(true)))
    }

    fn to_json(&self, lockstep: bool) -> serde_json::Value {
        let mut replayed = json!({"tlc_in_stateright": self.tlc_in_stateright, "stateright_in_tlc": self.stateright_in_tlc});
        if !lockstep {
            replayed["not_applicable"] = json!("not a lockstep twin: its states do not map one to one onto the TLA+ spec's");
        }
        if !self.why.is_empty() {
            replayed["why"] = json!(self.why);
        }
        json!({
            "property": self.property,
            "tlc_length": self.tlc_length,
            "stateright_length": self.stateright_length,
            "replayed": replayed,
        })
    }
}

/// Stateright's counterexample of an invariant as states of the TLA+ spec, and whether TLC's
/// checking run replayed it.
type SrTrace = (&'static str, Vec<crate::tla::State>, bool);

/// For each invariant either checker found violated: both shortest counterexamples (one worker,
/// breadth-first) and, for a lockstep twin, each replayed in the other checker. TLC's come from
/// its checking run where it printed them (else from a run of their own); Stateright's are those
/// `computed` before that run, which replayed them where it could (else computed here), and the
/// ones it did not replay are replayed in TLC together, in one run of their own.
fn counterexamples(root: &Path, job: &Job, lockstep: bool, tl: &Outcome, sr: &Outcome, tlc: &Tlc, mut computed: Vec<SrTrace>) -> Result<Vec<Counterexample>, Failure> {
    let violated = |p: &PropertyDef| {
        [tl, sr].iter().any(|o| o.properties.get(p.name) == Some(&family::Verdict::Violated))
    };
    let props: Vec<&PropertyDef> = job.props.iter().filter(|p| p.kind == family::Kind::Invariant && violated(p)).collect();
    let mut found = Vec::new();
    let mut sr_traces = Vec::new();
    for p in &props {
        if crate::check::interrupted() {
            break;
        }
        progress(&format!("  {}: {} counterexamples", job.name, p.name));
        let (sr_states, replayed) = match computed.iter().position(|(name, _, _)| *name == p.name) {
            Some(k) => {
                let (_, states, replayed) = computed.swap_remove(k);
                (Some(states), replayed)
            }
            None => (job.family.tla_trace(&job.consts, p), false),
        };
        let printed = tl.tlc_traces.get(p.name).and_then(|out| crate::tlc::parse_trace_states(out, &job.name, p).ok());
        let tlc_trace = match printed {
            Some(t) => Some(t),
            None => tlc.trace_states(root, job.family, &job.model, p, &job.name)?,
        };
        let mut c = Counterexample {
            property: p.name,
            tlc_length: tlc_trace.as_ref().map(|(t, _)| t.len()),
            stateright_length: sr_states.as_ref().map(|s| s.len().saturating_sub(1)),
            tlc_in_stateright: None,
            stateright_in_tlc: None,
            why: Vec::new(),
        };
        if lockstep {
            if let Some((_, states)) = &tlc_trace {
                let r = job.family.replay(&job.consts, states);
                c.tlc_in_stateright = Some(r.is_ok());
                if let Err(e) = r {
                    c.why.push(format!("TLC's trace in Stateright: {e}"));
                }
            }
            if replayed {
                c.stateright_in_tlc = Some(true);
            } else if let Some(states) = sr_states {
                sr_traces.push((found.len(), states));
            }
        }
        found.push(c);
    }
    if !sr_traces.is_empty() && !crate::check::interrupted() {
        let states: Vec<Vec<crate::tla::State>> = sr_traces.iter().map(|(_, s)| s.clone()).collect();
        let replays = tlc.replay_many(root, job.family, &job.model, &states)?;
        for ((i, _), r) in sr_traces.iter().zip(replays) {
            found[*i].stateright_in_tlc = Some(r.is_ok());
            if let Err(e) = r {
                found[*i].why.push(format!("Stateright's trace in TLC: {e}"));
            }
        }
    }
    for c in &found {
        for w in &c.why {
            progress(&format!("  {}: {}: {w}", job.name, c.property));
        }
    }
    Ok(found)
}

fn bench(root: &Path, families: &[String], runs: usize, json_out: bool) -> Result<i32, Failure> {
    let chosen: Vec<&'static dyn Family> = if families.is_empty() {
        family::families()
    } else {
        families
            .iter()
            .map(|f| family::find(f).ok_or_else(|| usage(format!("unknown family {f} (families: {})", known_families()))))
            .collect::<Result<_, _>>()?
    };
    let paths: Vec<PathBuf> = chosen.iter().flat_map(|f| bench_files(root, *f)).collect();
    if paths.is_empty() {
        return Err(usage("no benchmark model files (models/<family>/bench-*.cfg) for these families"));
    }
    let jobs = paths.iter().map(|p| load_job(root, p, &[])).collect::<Result<Vec<_>, _>>()?;
    let tlc = Tlc::locate(root, 2)?;
    let dir = root.join("bench");
    let mut write_error = None;
    // Each model file's row is merged into the results as soon as it is measured.
    let rows = crate::bench::run(root, &jobs, &tlc, runs, |row| {
        let file = dir.join("results.json");
        let earlier = std::fs::read_to_string(&file).ok().and_then(|t| serde_json::from_str(&t).ok());
        let merged = crate::bench::merge(earlier, crate::bench::to_json(std::slice::from_ref(row), runs));
        let written = std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::write(&file, serde_json::to_string_pretty(&merged).unwrap() + "\n"))
            .and_then(|_| std::fs::write(dir.join("chart.svg"), crate::bench::chart(&merged)));
        if let Err(e) = written {
            write_error.get_or_insert(format!("cannot write the results into {}: {e}", dir.display()));
        }
    })?;
    if let Some(e) = write_error {
        return Err(Failure::env(e));
    }
    let new = crate::bench::to_json(&rows, runs);
    if json_out {
        println!("{}", serde_json::to_string_pretty(&new).unwrap());
    } else {
        print!("{}", crate::bench::table(&rows));
        println!("\nMedians of {runs} run(s) each; written to bench/results.json and bench/chart.svg.");
    }
    Ok(code::OK)
}

fn list(root: &Path, json_out: bool) -> i32 {
    let fams: Vec<_> = family::families()
        .into_iter()
        .map(|f| {
            let models: Vec<String> = model_files(root, f)
                .iter()
                .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
                .collect();
            (f, models)
        })
        .collect();
    if json_out {
        let v: Vec<_> = fams
            .iter()
            .map(|(f, m)| json!({"id": f.id(), "summary": f.summary(), "variants": f.variants(), "models": m}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&json!({"families": v})).unwrap());
    } else {
        for (f, models) in fams {
            println!("{}: {}", f.id(), f.summary());
            println!("  variants: {}", f.variants().join(", "));
            for m in models {
                println!("  {m}");
            }
        }
    }
    code::OK
}

#[allow(clippy::too_many_arguments)]
fn trace(root: &Path, model: &Path, property: Option<&str>, which: Which, consts: &[String], json_out: bool) -> Result<i32, Failure> {
    let overrides = parse_overrides(consts)?;
    let job = load_job(root, model, &overrides)?;
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
                Some(steps) => traces.push(crate::trace::Trace {
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
            match tlc.trace(root, job.family, &job.model, p, &job.name)? {
                Some(t) => traces.push(t),
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
            println!("{}", crate::trace::render(t));
        }
        for w in &without {
            println!("no counterexample ({w} {})", if property.is_some_and(|_| props[0].kind == Kind::Sometimes) { "is unreached" } else { "holds" });
        }
    }
    Ok(code::OK)
}

/// Saves each checker's traces of a model file (every violated property, none when all hold) as
/// `.exactly/traces/<family>/<model>.<checker>.json`, for `exactly serve`.
fn save_traces(root: &Path, job: &Job, which: Which, traces: &[crate::trace::Trace]) {
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
        let saved = json!({"model": job.name, "family": job.family.id(), "variant": variant(job), "checker": checker, "traces": mine});
        save_json(root, "traces", job, checker, &saved);
    }
}

fn explore(root: &Path, model: &Path, consts: &[String], host: &str, port: u16) -> Result<i32, Failure> {
    let overrides = parse_overrides(consts)?;
    let job = load_job(root, model, &overrides)?;
    let ip: std::net::IpAddr = host
        .parse()
        .map_err(|_| usage(format!("--host {host}: not an IP address (e.g. 127.0.0.1)")))?;
    let addr = std::net::SocketAddr::new(ip, port);
    match std::net::TcpListener::bind(addr) {
        Ok(l) => drop(l),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            return Err(usage(format!("port {port} on {host} is in use: pick another with --port")))
        }
        Err(e) => return Err(usage(format!("cannot listen on {addr}: {e}"))),
    }
    eprintln!("Stateright Explorer for {} on http://{addr}/ (Ctrl-C to stop)", job.name);
    job.family.explore(&job.consts, &job.props, addr);
    Ok(code::OK)
}

/// Runs the command line; returns the exit code.
pub fn main_with(cli: Cli) -> Result<i32, Failure> {
    let root = root();
    if matches!(cli.command, Command::Check { .. } | Command::Tlc { .. } | Command::Compare { .. }) {
        // Ctrl-C stops the runs (TLC's Java too), reports what was explored, saves it, exits 130;
        // a second Ctrl-C exits at once.
        let _ = ctrlc::set_handler(|| {
            if crate::check::interrupted() {
                std::process::exit(code::INTERRUPTED);
            }
            eprintln!("exactly: interrupted; stopping the runs (Ctrl-C again to quit at once)");
            crate::check::interrupt();
        });
    }
    match cli.command {
        Command::List { json } => Ok(list(&root, json)),
        Command::Check { targets, threads, dfs, actor_model } => {
            let opts = RunOptions { threads, dfs, limits: targets.limits(), actor_model };
            run_one(&root, &targets, "stateright", |job| Ok(job.family.check(&job.consts, &job.props, &opts)))
        }
        Command::Bench { families, runs, json } => bench(&root, &families, runs, json),
        Command::Tlc { targets, workers } => {
            let jobs_ok = resolve(&root, &targets)?; // bad input before a missing TLC
            drop(jobs_ok);
            let tlc = Tlc::locate(&root, workers)?;
            let limits = targets.limits();
            run_one(&root, &targets, "tlc", |job| Ok(small_model_tlc(&tlc, job).check(&root, job.family, &job.model, &job.props, 2, &limits)?))
        }
        Command::Compare { targets, threads, workers } => {
            let jobs_ok = resolve(&root, &targets)?;
            drop(jobs_ok);
            let tlc = Tlc::locate(&root, workers)?;
            compare(&root, &targets, &RunOptions { threads, limits: targets.limits(), ..RunOptions::default() }, &tlc)
        }
        Command::New { id } => {
            let written = crate::new::new_family(&root, &id).map_err(usage)?;
            for p in &written {
                println!("wrote {}", p.strip_prefix(&root).unwrap_or(p).display());
            }
            println!("\nNext: rebuild (`cargo build --release`, or `make build`), then `exactly compare {id}`.");
            Ok(code::OK)
        }
        Command::Serve { host, port } => crate::serve::serve(&root, &host, port),
        Command::Explore { model, consts, host, port } => explore(&root, &model, &consts, &host, port),
        Command::Trace { model, property, checker, consts, json } => trace(&root, &model, property.as_deref(), checker, &consts, json),
    }
}
