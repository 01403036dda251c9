//! `exactly serve`: the catalog, the last results and a counterexample viewer on a web page.
//!
//! Read-only routes serve the page's assets (compiled into the binary from `web/`), the catalog
//! and what runs saved in `.exactly/` (results and traces, each written atomically by the run).
//! One route starts a run of a model file in a child process of this binary and reports its
//! progress; a second run while one is going is refused (429). Another starts Stateright's
//! Explorer for a model file on a free loopback port and redirects to a trace's path there.
//! Anything else is a 404; tiny_http answers malformed requests with 400.

use crate::catalog::results::data_dir;
use crate::catalog::{self as cli};
use crate::core::error::{code, listen, usage, Failure};
use crate::families::{self, Family};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

/// Request-handling threads.
const WORKERS: usize = 4;
/// Explorers kept running at once (each holds a model in memory; they stop with the server).
const MAX_EXPLORERS: usize = 8;
/// Lines of a run's progress kept for the page.
const LOG_LINES: usize = 200;

const ASSETS: &[(&str, &str, &str)] = &[
    ("/", "text/html; charset=utf-8", include_str!("../web/index.html")),
    ("/index.html", "text/html; charset=utf-8", include_str!("../web/index.html")),
    ("/app.js", "text/javascript; charset=utf-8", include_str!("../web/app.js")),
    ("/app.css", "text/css; charset=utf-8", include_str!("../web/app.css")),
];

/// The state of the server shared by its threads.
struct App {
    root: PathBuf,
    run: Mutex<RunState>,
    /// Model file -> the Explorer's port.
    explorers: Mutex<BTreeMap<String, u16>>,
}

/// The current or last run.
#[derive(Default)]
struct RunState {
    running: bool,
    target: String,
    models: Vec<String>,
    /// Index in `models` of the model file being run.
    current: usize,
    phase: String,
    log: Vec<String>,
    /// Exit code of each child process, by `<phase> <model>`.
    codes: BTreeMap<String, i32>,
    started: Option<(Instant, u64)>,
    seconds: f64,
}

impl RunState {
    fn json(&self) -> Value {
        let state = if self.running { "running" } else if self.started.is_some() { "done" } else { "idle" };
        let seconds = match (self.running, self.started) {
            (true, Some((t, _))) => t.elapsed().as_secs_f64(),
            _ => self.seconds,
        };
        json!({
            "state": state,
            "target": self.target,
            "models": self.models,
            "current": self.current,
            "model": self.models.get(self.current),
            "phase": self.phase,
            "log": self.log,
            "codes": self.codes,
            "started_at": self.started.map(|(_, at)| at),
            "seconds": (seconds * 10.0).round() / 10.0,
        })
    }

    fn push(&mut self, line: String) {
        self.log.push(line);
        if self.log.len() > LOG_LINES {
            let extra = self.log.len() - LOG_LINES;
            self.log.drain(..extra);
        }
    }
}

/// `exactly serve`: binds, prints the address on stderr, serves until killed.
pub fn serve(root: &Path, host: &str, port: u16) -> Result<i32, Failure> {
    let listener = listen(host, port)?;
    let bound = listener.local_addr().map_err(|e| usage(format!("cannot listen on {host}:{port}: {e}")))?;
    let server = Server::from_listener(listener, None).map_err(|e| usage(format!("cannot listen on {bound}: {e}")))?;
    let server = Arc::new(server);
    let app = Arc::new(App { root: root.to_path_buf(), run: Mutex::new(RunState::default()), explorers: Mutex::new(BTreeMap::new()) });
    eprintln!("exactly serve: http://{bound}/ (Ctrl-C to stop)");
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let server = Arc::clone(&server);
            let app = Arc::clone(&app);
            std::thread::spawn(move || {
                while let Ok(rq) = server.recv() {
                    let response = handle(&app, &rq);
                    // A client that hung up early is no concern of ours.
                    let _ = rq.respond(response);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    Ok(code::OK)
}

type Reply = Response<std::io::Cursor<Vec<u8>>>;

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn reply(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
    Response::from_data(body.into())
        .with_status_code(StatusCode(status))
        .with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"))
        .with_header(header("X-Content-Type-Options", "nosniff"))
}

fn json_reply(status: u16, v: &Value) -> Reply {
    reply(status, "application/json", serde_json::to_vec(v).unwrap_or_default())
}

fn error(status: u16, message: &str) -> Reply {
    json_reply(status, &json!({"error": message}))
}

fn handle(app: &Arc<App>, rq: &Request) -> Reply {
    let (path, query) = match rq.url().split_once('?') {
        Some((p, q)) => (p, q),
        None => (rq.url(), ""),
    };
    let params = parse_query(query);
    let get = *rq.method() == Method::Get;
    let post = *rq.method() == Method::Post;
    if let Some((_, ty, body)) = ASSETS.iter().find(|(p, _, _)| *p == path) {
        return if get { reply(200, ty, body.as_bytes()) } else { not_allowed() };
    }
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    match parts.as_slice() {
        ["api", "catalog"] if get => json_reply(200, &catalog(&app.root)),
        ["api", "results"] if get => json_reply(200, &results(&app.root)),
        ["api", "traces", fam, stem] if get => match find_model(&app.root, fam, stem) {
            Some((f, p)) => json_reply(200, &traces(&app.root, f, &p)),
            None => error(404, "no such model file"),
        },
        ["api", "run"] if get => json_reply(200, &app.run.lock().unwrap().json()),
        // The committed benchmark (`exactly bench`), read when asked for.
        ["api", "bench"] if get => match std::fs::read_to_string(app.root.join("bench/results.json")).ok().and_then(|t| serde_json::from_str::<Value>(&t).ok()) {
            Some(v) => json_reply(200, &v),
            None => error(404, "no benchmark results (run `make bench`)"),
        },
        ["bench", "chart.svg"] if get => match std::fs::read(app.root.join("bench/chart.svg")) {
            Ok(svg) => reply(200, "image/svg+xml", svg),
            Err(_) => error(404, "no benchmark chart (run `make bench`)"),
        },
        ["api", "run"] if post => start_run(app, params.get("target").map(String::as_str).unwrap_or_default()),
        ["explore", fam, stem] if get => match find_model(&app.root, fam, stem) {
            Some((_, p)) => explorer(app, &p, params.get("path").map(String::as_str).unwrap_or("")),
            None => error(404, "no such model file"),
        },
        ["api", "catalog" | "results" | "run" | "bench"] | ["api", "traces", _, _] | ["explore", _, _] | ["bench", "chart.svg"] => not_allowed(),
        _ => error(404, "not found"),
    }
}

fn not_allowed() -> Reply {
    error(405, "method not allowed")
}

/// `a=b&c=d` with percent-decoding; malformed escapes are kept as they are.
fn parse_query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() && hex(b[i + 1]).is_some() && hex(b[i + 2]).is_some() => {
                out.push(hex(b[i + 1]).unwrap_or(0) * 16 + hex(b[i + 2]).unwrap_or(0));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A model file of the catalog named by family id and file stem (nothing else is looked up).
fn find_model(root: &Path, fam: &str, stem: &str) -> Option<(&'static dyn Family, PathBuf)> {
    let f = families::find(fam)?;
    let p = shown_files(root, f).into_iter().find(|p| p.file_stem().and_then(|s| s.to_str()) == Some(stem))?;
    Some((f, p))
}

fn shown(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn stem(p: &Path) -> String {
    p.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string()
}

/// The model files the page shows: the catalog's, then the claim files (`make deep` runs those).
fn shown_files(root: &Path, f: &dyn Family) -> Vec<PathBuf> {
    let mut files = cli::model_files(root, f);
    files.extend(cli::claim_files(root, f));
    files
}

fn catalog(root: &Path) -> Value {
    let families: Vec<Value> = families::families()
        .into_iter()
        .map(|f| {
            let file = |p: &PathBuf| {
                let text = std::fs::read_to_string(p).unwrap_or_default();
                let variant = cli::load_job(root, p, &[]).ok().and_then(|j| match j.consts.0.get("Variant") {
                    Some(crate::core::cfg::Value::Str(s)) => Some(s.clone()),
                    _ => None,
                });
                json!({"path": shown(root, p), "stem": stem(p), "variant": variant, "text": text})
            };
            let models: Vec<Value> = cli::model_files(root, f).iter().map(file).collect();
            let claims: Vec<Value> = cli::claim_files(root, f).iter().map(file).collect();
            let props: Vec<Value> =
                f.properties().iter().map(|p| json!({"name": p.name, "kind": p.kind, "doc": p.doc})).collect();
            json!({
                "id": f.id(),
                "module": f.module(),
                "summary": f.summary(),
                "variants": f.variants(),
                "properties": props,
                "models": models,
                "claims": claims,
            })
        })
        .collect();
    json!({"families": families})
}

/// A saved JSON file and when it was written (seconds since the epoch), or null.
fn saved(path: &Path) -> Value {
    let Ok(bytes) = std::fs::read(path) else { return Value::Null };
    let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) else { return Value::Null };
    let at = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    if let Some(o) = v.as_object_mut() {
        o.insert("saved_at".into(), json!(at));
    }
    v
}

fn results(root: &Path) -> Value {
    let mut out = serde_json::Map::new();
    for f in families::families() {
        for p in shown_files(root, f) {
            let dir = data_dir(root).join("results").join(f.id());
            let s = stem(&p);
            let entry: serde_json::Map<String, Value> = ["compare", "stateright", "tlc"]
                .iter()
                .map(|kind| (kind.to_string(), saved(&dir.join(format!("{s}.{kind}.json")))))
                .collect();
            out.insert(shown(root, &p), Value::Object(entry));
        }
    }
    json!({"results": out})
}

fn traces(root: &Path, f: &dyn Family, p: &Path) -> Value {
    let dir = data_dir(root).join("traces").join(f.id());
    let s = stem(p);
    json!({
        "model": shown(root, p),
        "stateright": saved(&dir.join(format!("{s}.stateright.json"))),
        "tlc": saved(&dir.join(format!("{s}.tlc.json"))),
    })
}

/// POST /api/run?target=<model file | family id | all>: runs `compare` then `trace` on each
/// model file, in child processes, in the background.
fn start_run(app: &Arc<App>, target: &str) -> Reply {
    let root = &app.root;
    let models: Vec<PathBuf> = if target == "all" {
        families::families().into_iter().flat_map(|f| cli::model_files(root, f)).collect()
    } else if let Some(f) = families::find(target) {
        cli::model_files(root, f)
    } else {
        let found = target
            .strip_prefix("models/")
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(fam, file)| find_model(root, fam, file.strip_suffix(".cfg")?));
        match found {
            Some((_, p)) => vec![p],
            None => return error(400, "target: give a model file (models/<family>/<name>.cfg), a family id or all"),
        }
    };
    if models.is_empty() {
        return error(400, "no model files to run");
    }
    let mut run = app.run.lock().unwrap();
    if run.running {
        return json_reply(429, &json!({"error": "a run is going; wait for it to end", "run": run.json()}));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    *run = RunState {
        running: true,
        target: target.to_string(),
        models: models.iter().map(|p| shown(root, p)).collect(),
        started: Some((Instant::now(), now)),
        ..RunState::default()
    };
    let status = run.json();
    drop(run);
    let app = Arc::clone(app);
    std::thread::spawn(move || run_models(&app.root, &app.run, &models));
    json_reply(202, &status)
}

fn run_models(root: &Path, state: &Mutex<RunState>, models: &[PathBuf]) {
    let exe = std::env::current_exe();
    for (i, model) in models.iter().enumerate() {
        let name = shown(root, model);
        for (phase, args) in [
            ("compare", vec!["compare", &name]),
            ("trace", vec!["trace", &name, "--checker", "both"]),
        ] {
            {
                let mut s = state.lock().unwrap();
                s.current = i;
                s.phase = phase.to_string();
                s.push(format!("$ exactly {}", args.join(" ")));
            }
            let code = match &exe {
                Ok(exe) => run_child(root, exe, &args, state),
                Err(e) => {
                    state.lock().unwrap().push(format!("cannot find this program: {e}"));
                    code::ENV
                }
            };
            let mut s = state.lock().unwrap();
            s.codes.insert(format!("{phase} {name}"), code);
            s.push(format!("(exit code {code})"));
        }
    }
    let mut s = state.lock().unwrap();
    s.seconds = s.started.map_or(0.0, |(t, _)| t.elapsed().as_secs_f64());
    s.running = false;
}

/// Runs this binary with `args`, its progress lines (stderr) into the run's log; its exit code.
fn run_child(root: &Path, exe: &Path, args: &[&str], state: &Mutex<RunState>) -> i32 {
    let child = Command::new(exe)
        .args(args)
        .current_dir(root)
        .env("EXACTLY_ROOT", root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            state.lock().unwrap().push(format!("cannot start {}: {e}", exe.display()));
            return code::ENV;
        }
    };
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            state.lock().unwrap().push(line);
        }
    }
    child.wait().ok().and_then(|s| s.code()).unwrap_or(code::INTERRUPTED)
}

/// GET /explore/<family>/<model>?path=0/3/1: Stateright's Explorer for the model file (started
/// on a free loopback port the first time), redirected to the path.
fn explorer(app: &App, model: &Path, path: &str) -> Reply {
    if !path.split('/').all(|i| !i.is_empty() && i.len() < 8 && i.bytes().all(|b| b.is_ascii_digit())) && !path.is_empty() {
        return error(400, "path: action indices separated by /, e.g. 0/3/1");
    }
    let name = shown(&app.root, model);
    let port = {
        let mut explorers = app.explorers.lock().unwrap();
        match explorers.get(&name) {
            Some(port) => *port,
            None => {
                if explorers.len() >= MAX_EXPLORERS {
                    return error(503, "too many Explorers running; restart `exactly serve` to free them");
                }
                let job = match cli::load_job(&app.root, model, &[]) {
                    Ok(j) => j,
                    Err(e) => return error(500, &e.message),
                };
                let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
                    Ok(a) => a.port(),
                    Err(e) => return error(500, &format!("no free loopback port: {e}")),
                };
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                let (fam, consts, props) = (job.family, job.consts.clone(), job.props.clone());
                std::thread::spawn(move || fam.explore(&consts, &props, addr));
                let deadline = Instant::now() + Duration::from_secs(10);
                while std::net::TcpStream::connect(addr).is_err() {
                    if Instant::now() > deadline {
                        return error(500, "the Explorer did not start");
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                explorers.insert(name, port);
                port
            }
        }
    };
    let location = format!("http://127.0.0.1:{port}/#/steps/{path}");
    reply(303, "text/plain", location.clone()).with_header(header("Location", &location))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode() {
        let q = parse_query("target=models%2Fhandler%2FGiveUp.cfg&x=a+b&bad=%zz&end=%4");
        assert_eq!(q["target"], "models/handler/GiveUp.cfg");
        assert_eq!(q["x"], "a b");
        assert_eq!(q["bad"], "%zz");
        assert_eq!(q["end"], "%4");
        assert_eq!(decode("%e2%82%ac%"), "\u{20ac}%");
        assert_eq!(decode("\u{e9}%4"), "\u{e9}%4");
    }
}
