//! `exactly serve`: bad input, loopback by default, a load test of its read-only routes with
//! clients that hang up early and malformed requests, the run route's refusal of a second run,
//! the Explorer redirect, and (ignored here, run by `make test`) the browser test.


use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `exactly serve --port 0` and its address.
struct Served {
    /// Where the server and its runs save results (`EXACTLY_DATA`).
    data: std::path::PathBuf,
    child: Child,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(root: &Path, env: &[(&str, &str)]) -> Served {
    let data = crate::common::scratch("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_exactly"))
        .args(["serve", "--port", "0"])
        .current_dir(root)
        .env("EXACTLY_ROOT", root)
        .env("EXACTLY_DATA", &data)
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    Served { data, child, addr }
}

/// Sends raw bytes, reads the whole answer; (status, body).
fn raw(addr: &str, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").map_or(out.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let chunked = head.lines().any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding: chunked"));
    let body = if chunked { dechunk(&out[split..]) } else { out[split..].to_vec() };
    (status, String::from_utf8_lossy(&body).to_string())
}

/// The body of a chunked answer (large answers are sent in chunks).
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
        let data = &rest[eol + 2..];
        if n == 0 || data.len() < n {
            break;
        }
        out.extend_from_slice(&data[..n]);
        rest = data[n..].strip_prefix(b"\r\n").unwrap_or(&data[n..]);
    }
    out
}

fn request(addr: &str, method: &str, path: &str) -> (u16, String) {
    raw(addr, format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes())
}

use crate::common::exactly;

#[test]
fn serve_bad_input_is_one_line_and_exit_code_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    for (args, needle) in [
        (vec!["serve", "--host", "localhost:80"], "not an IP address"),
        (vec!["serve", "--port", "70000"], "70000"),
        (vec!["serve", "--port", "-1"], "-1"),
        (vec!["serve", "--port", &port], "is in use"),
    ] {
        let o = exactly(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle) && !err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn serve_survives_a_load_test_of_its_read_only_routes() {
    let root = crate::common::root();
    let served = serve(&root, &[]);
    assert!(served.addr.starts_with("127.0.0.1:"), "loopback by default: {}", served.addr);
    let (status, body) = request(&served.addr, "GET", "/api/catalog");
    assert_eq!(status, 200);
    let catalog: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut routes: Vec<String> = ["/", "/index.html", "/app.js", "/app.css", "/api/catalog", "/api/results", "/api/run"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for f in catalog["families"].as_array().unwrap() {
        for m in f["models"].as_array().unwrap() {
            routes.push(format!("/api/traces/{}/{}", f["id"].as_str().unwrap(), m["stem"].as_str().unwrap()));
        }
    }
    assert!(routes.len() > 30, "{routes:?}");
    let outside = [
        "/../Cargo.toml",
        "/web/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/api/traces/handler/../../Cargo.toml",
        "/api/traces/..%2F..%2FCargo.toml/x",
        "/api/traces/handler/GiveUp/extra",
        "/api/traces/nosuch/GiveUp",
        "/src/serve.rs",
        "/.exactly/results",
        "*",
    ];
    let malformed: [&[u8]; 5] = [
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
        b"\x00\xff\xfe / HTTP/1.1\r\n\r\n",
    ];
    let threads = 16;
    let per_thread = 200;
    let start = Instant::now();
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (addr, routes) = (&served.addr, &routes);
                s.spawn(move || {
                    let mut bad = Vec::new();
                    for i in 0..per_thread {
                        let n = t * per_thread + i;
                        let route = &routes[n % routes.len()];
                        match i % 10 {
                            // Hang up early: half a request, or a whole one without reading.
                            3 => {
                                let mut c = TcpStream::connect(addr).unwrap();
                                let _ = c.write_all(format!("GET {route} HTTP/1.1\r\nHost: t").as_bytes());
                            }
                            4 => {
                                let mut c = TcpStream::connect(addr).unwrap();
                                let _ = c.write_all(format!("GET {route} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
                            }
                            6 => {
                                let (st, _) = raw(addr, malformed[n % malformed.len()]);
                                if !(400..500).contains(&st) {
                                    bad.push(format!("malformed #{} got {st}", n % malformed.len()));
                                }
                            }
                            8 => {
                                let path = outside[n % outside.len()];
                                let (st, _) = request(addr, "GET", path);
                                if st != 404 {
                                    bad.push(format!("{path} got {st}"));
                                }
                            }
                            9 => {
                                let (st, _) = request(addr, "DELETE", route);
                                if st != 405 {
                                    bad.push(format!("DELETE {route} got {st}"));
                                }
                            }
                            _ => {
                                let (st, body) = request(addr, "GET", route);
                                if st != 200 || body.is_empty() {
                                    bad.push(format!("GET {route} got {st} ({} bytes)", body.len()));
                                }
                            }
                        }
                    }
                    bad
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let seconds = start.elapsed().as_secs_f64();
    assert!(failures.is_empty(), "{} failures, e.g. {:?}", failures.len(), &failures[..failures.len().min(10)]);
    let (status, _) = request(&served.addr, "GET", "/");
    assert_eq!(status, 200, "the server still answers after {} requests", threads * per_thread);
    eprintln!("{} requests from {threads} clients in {seconds:.1} s", threads * per_thread);
}

/// A catalog root with one model file and a "Java" that fails after a second and a half, so
/// that a run lasts long enough to be refused a second time, and ends quickly.
fn slow_failing_root() -> (std::path::PathBuf, std::path::PathBuf) {
    let root = std::env::temp_dir().join(format!("exactly-web-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("models/handler")).unwrap();
    copy_dir(&crate::common::root().join("specs"), &root.join("specs"));
    std::fs::copy(crate::common::root().join("models/handler/GiveUp.cfg"), root.join("models/handler/GiveUp.cfg")).unwrap();
    let java = root.join("slow-java");
    std::fs::write(&java, "#!/bin/sh\nsleep 1.5\necho 'no Java here' >&2\nexit 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&java, std::fs::Permissions::from_mode(0o755)).unwrap();
    (root, java)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Polls GET /api/run until the run is done (two minutes at most); its last status.
fn wait_for_run(addr: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, body) = request(addr, "GET", "/api/run");
        let run: serde_json::Value = serde_json::from_str(&body).unwrap();
        if run["state"] == "done" || Instant::now() > deadline {
            return run;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn serve_runs_one_model_at_a_time_and_reports_progress() {
    let (root, java) = slow_failing_root();
    let java = java.to_str().unwrap();
    let served = serve(&root, &[("JAVA", java), ("TLA2TOOLS", java)]);
    let (status, body) = request(&served.addr, "POST", "/api/run?target=models%2Fhandler%2FGiveUp.cfg");
    assert_eq!(status, 202, "{body}");
    let (status, body) = request(&served.addr, "POST", "/api/run?target=handler");
    assert_eq!(status, 429, "a second run while one is going: {body}");
    let (status, _) = request(&served.addr, "POST", "/api/run?target=models/nosuch/X.cfg");
    assert_eq!(status, 400);
    let run = wait_for_run(&served.addr);
    assert_eq!(run["state"], "done", "{run}");
    // Both phases ran and failed on the broken Java (exit code 3), and said so in the log.
    assert_eq!(run["codes"]["compare models/handler/GiveUp.cfg"], 3, "{run}");
    assert_eq!(run["codes"]["trace models/handler/GiveUp.cfg"], 3, "{run}");
    assert!(run["log"].as_array().unwrap().iter().any(|l| l.as_str().unwrap().contains("[1/1] models/handler/GiveUp.cfg: Stateright")), "{run}");
    // The Stateright half of the run was saved, atomically: no temporary file is left.
    let results = served.data.join("results/handler");
    let (status, body) = request(&served.addr, "POST", "/api/run?target=handler");
    assert_eq!(status, 202, "a new run once the last one ended: {body}");
    assert_eq!(wait_for_run(&served.addr)["state"], "done");
    drop(served);
    let leftovers: Vec<_> = std::fs::read_dir(&results).map(|d| d.flatten().map(|e| e.file_name()).filter(|n| n.to_string_lossy().ends_with(".tmp")).collect()).unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn serve_opens_the_explorer_at_a_path() {
    let served = serve(&crate::common::root(), &[]);
    let (status, _) = request(&served.addr, "GET", "/explore/handler/GiveUp?path=0/..");
    assert_eq!(status, 400);
    let (status, _) = request(&served.addr, "GET", "/explore/handler/Nope?path=0");
    assert_eq!(status, 404);
    let mut s = TcpStream::connect(&served.addr).unwrap();
    s.write_all(b"GET /explore/handler/GiveUp?path=0/4 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 303"), "{text}");
    let location = text.lines().find_map(|l| l.strip_prefix("Location: ")).unwrap_or_else(|| panic!("{text}"));
    let explorer = location.strip_prefix("http://").and_then(|r| r.split_once('/')).map(|(a, _)| a.to_string()).unwrap();
    assert!(explorer.starts_with("127.0.0.1:") && location.ends_with("/#/steps/0/4"), "{location}");
    // Every step of a Stateright trace is where its action index says in the Explorer.
    let o = exactly(&["trace", "models/handler/GiveUp.cfg", "--checker", "stateright", "--property", "NoLostMessages", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let steps = v["traces"][0]["steps"].as_array().unwrap();
    let indices: Vec<u64> = steps.iter().map(|s| s["action_index"].as_u64().unwrap()).collect();
    assert!(indices.len() > 3, "{v}");
    for i in 1..steps.len() {
        let prefix: Vec<String> = indices[..i].iter().map(|n| n.to_string()).collect();
        // HTTP/1.0: the whole body, not chunked.
        let (status, body) = raw(&explorer, format!("GET /.states/{} HTTP/1.0\r\n\r\n", prefix.join("/")).as_bytes());
        assert_eq!(status, 200, "the Explorer knows the path: {body}");
        let next: serde_json::Value = serde_json::from_str(&body).unwrap();
        // The Explorer lists every action of the state in order, ignored ones included.
        assert_eq!(next[indices[i] as usize]["action"], steps[i]["action"], "step {i}");
    }
}

/// The browser test (web/test/browser.mjs, headless Chromium): `make test` installs Chromium and
/// playwright-core and runs it with `--ignored`.
#[test]
#[ignore = "needs Chromium and web/test/node_modules: `make test` runs it"]
fn browser_shows_catalog_and_counterexamples() {
    let root = crate::common::root();
    let dir = root.join("web/test");
    assert!(dir.join("node_modules/playwright-core").is_dir(), "run `make web-test-deps` (npm install in web/test)");
    let served = serve(&root, &[]);
    let o = Command::new("node")
        .arg("browser.mjs")
        .current_dir(&dir)
        .env("EXACTLY_URL", format!("http://{}", served.addr))
        .output()
        .expect("node runs");
    let out = String::from_utf8_lossy(&o.stdout);
    eprintln!("{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "the browser test failed:\n{out}");
}
