//! The `exactly` command line: its arguments (clap) and the dispatch to the application layer.
//! Nothing below imports this module.

use crate::app;
use crate::catalog::{self, Selection};
use crate::core::error::{code, usage, Failure};
use crate::core::outcome::Limits;
use crate::engine::stateright::RunOptions;
use crate::engine::tlc::Tlc;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub use crate::app::trace::Which;

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
    #[command(after_help = "Examples:\n  exactly tlc models/handler/ResendStoredChange.cfg\n  exactly tlc handler --workers 2\n  exactly tlc --all --json\n  exactly tlc models/handler/ResendStoredChange.cfg --distributed 2\n  exactly tlc models/outbox/claim-TwoHandlersOneFailure.cfg --distributed 0 --host 10.0.0.5 --port 10997\n\nWith --distributed N, TLC's distributed mode checks the invariants and non-vacuity checks: a TLCServer and N TLCWorker processes on this machine, RMI bound to --host (loopback by default); workers on other machines join with `exactly tlc-worker <host> --port <port>`. It checks no temporal property (Termination stays unknown, exit code 4), has no state limit, and its generated count is its own: the distinct count is compared with the expectation.")]
    Tlc {
        #[command(flatten)]
        targets: Targets,
        /// TLC workers per run (with --distributed: threads per worker process).
        #[arg(long, default_value_t = 1, value_parser = parse_count)]
        workers: usize,
        /// Run TLC's distributed mode: a server and this many worker processes on this machine
        /// (0: workers join from elsewhere, with `exactly tlc-worker`).
        #[arg(long, value_name = "N", value_parser = parse_workers)]
        distributed: Option<usize>,
        /// With --distributed: the address the server binds and advertises.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// With --distributed: the server's RMI registry port (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Join a distributed TLC run (`exactly tlc --distributed`) as a worker.
    #[command(name = "tlc-worker", after_help = "Examples:\n  exactly tlc-worker 10.0.0.5 --port 10997 --host 10.0.0.6\n\nThe server sends the spec; this machine needs Java and tla2tools.jar only. The server must reach this machine at --host, and this machine the server at <server>:<port>. A check is several runs of the server on one port: the worker joins each, and ends (exit 0) once no run has come for --wait seconds; exit 3 if the server cannot be reached at all.")]
    TlcWorker {
        /// The server's address.
        server: String,
        /// The server's RMI registry port.
        #[arg(long)]
        port: u16,
        /// This machine's address, as the server reaches it (RMI binds and advertises it).
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Threads of this worker.
        #[arg(long, default_value_t = 1, value_parser = parse_count)]
        workers: usize,
        /// How long to wait for the server's first run (then exit 3) and for each next (then done).
        #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
        wait: std::time::Duration,
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
    #[command(after_help = "Examples:\n  exactly bench\n  exactly bench handler outbox --runs 1\n  exactly bench --json\n\nEach bench file is checked by TLC (one run, -workers 2, breadth-first, invariants only) and by Stateright (breadth-first with 2 threads, and depth-first), each as a process of its own, the runs alternating; the table shows wall seconds, peak memory and the ratios TLC/Stateright (medians of the runs). The table also shows the cost of a state: each process's peak memory over the distinct states (bytes per state, a JVM's fixed cost included) and distinct states per second. --claims benchmarks each family's largest claim file instead. The results are merged into bench/results.json and drawn in bench/chart.svg.")]
    Bench {
        /// Families to benchmark (all when none is named).
        families: Vec<String>,
        /// Runs of each checker on each model file (the median is reported).
        #[arg(long, default_value_t = 3, value_parser = parse_count)]
        runs: usize,
        /// Each family's largest claim file (models/<family>/claim-*.cfg) instead of its bench files
        /// (TLC and Stateright check its invariants only; hours for the largest).
        #[arg(long)]
        claims: bool,
        /// Print {"results": [...]}.
        #[arg(long)]
        json: bool,
    },
    /// Print the shortest counterexample of each violated property, from either checker or both.
    #[command(after_help = "Examples:\n  exactly trace models/handler/UpdateThenSend.cfg\n  exactly trace models/handler/GiveUp.cfg --property Termination --checker tlc\n  exactly trace models/handler/ResendStoredChange.cfg --property CrashAfterCommitBeforePublish --json\n\nEach step shows its action and the parts of the state it changed. A non-vacuity check named with --property gives the shortest path to a state that shows it. Traces are breadth-first with one worker: the shortest there are.")]
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

fn parse_workers(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n <= 64 => Ok(n),
        _ => Err(format!("{s}: give a whole number of worker processes from 0 to 64")),
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
    fn selection(&self) -> Selection {
        Selection { targets: self.targets.clone(), all: self.all, consts: self.consts.clone() }
    }
}

/// Runs the command line; returns the exit code.
pub fn main_with(cli: Cli) -> Result<i32, Failure> {
    let root = catalog::root();
    if matches!(cli.command, Command::Check { .. } | Command::Tlc { .. } | Command::TlcWorker { .. } | Command::Compare { .. } | Command::Bench { .. }) {
        // Ctrl-C stops the runs (TLC's Java too), reports what was explored, saves it, exits 130;
        // a second Ctrl-C exits at once.
        let _ = ctrlc::set_handler(|| {
            if crate::core::cancel::interrupted() {
                std::process::exit(code::INTERRUPTED);
            }
            eprintln!("exactly: interrupted; stopping the runs (Ctrl-C again to quit at once)");
            crate::core::cancel::interrupt();
        });
    }
    match cli.command {
        Command::List { json } => Ok(app::list::list(&root, json)),
        Command::Check { targets, threads, dfs, actor_model } => {
            let jobs = catalog::resolve(&root, &targets.selection())?;
            let opts = RunOptions { threads, dfs, limits: targets.limits(), actor_model };
            app::single::check(&root, &jobs, &opts, targets.json)
        }
        Command::Bench { families, runs, claims, json } => app::bench_cmd::bench(&root, &families, runs, claims, json),
        Command::Tlc { targets, workers, distributed, host, port } => {
            // Bad input before a missing TLC.
            let jobs = catalog::resolve(&root, &targets.selection())?;
            if distributed.is_none() && (host != "127.0.0.1" || port != 0) {
                return Err(usage("--host and --port go with --distributed"));
            }
            if distributed.is_some() && targets.max_states.is_some() {
                return Err(usage("--max-states: TLC's distributed mode has no state limit (it cannot evaluate TLCGet); use --timeout"));
            }
            if distributed.is_some() && host.parse::<std::net::IpAddr>().is_err() && host != "localhost" {
                return Err(usage(format!("--host {host}: give an IP address of this machine")));
            }
            let tlc = Tlc::locate(&root, workers)?;
            match distributed {
                Some(n) => {
                    let cluster = crate::engine::tlc::Cluster { local_workers: n, host, port };
                    app::single::tlc_distributed(&root, &jobs, &tlc, &cluster, &targets.limits(), targets.json)
                }
                None => app::single::tlc(&root, &jobs, &tlc, &targets.limits(), targets.json),
            }
        }
        Command::TlcWorker { server, port, host, workers, wait } => {
            let tlc = Tlc::locate(&root, workers)?;
            Ok(tlc.join(&server, port, &host, wait)?)
        }
        Command::Compare { targets, threads, workers } => {
            let jobs = catalog::resolve(&root, &targets.selection())?;
            let tlc = Tlc::locate(&root, workers)?;
            let opts = RunOptions { threads, limits: targets.limits(), ..RunOptions::default() };
            app::compare::compare(&root, &jobs, &opts, &tlc, targets.json)
        }
        Command::New { id } => {
            let written = app::new::new_family(&root, &id).map_err(usage)?;
            for p in &written {
                println!("wrote {}", p.strip_prefix(&root).unwrap_or(p).display());
            }
            println!("\nNext: rebuild (`cargo build --release`, or `make build`), then `exactly compare {id}`.");
            Ok(code::OK)
        }
        Command::Serve { host, port } => crate::serve::serve(&root, &host, port),
        Command::Explore { model, consts, host, port } => app::explore::explore(&root, &model, &consts, &host, port),
        Command::Trace { model, property, checker, consts, json } => {
            app::trace::trace(&root, &model, property.as_deref(), checker, &consts, json)
        }
    }
}
