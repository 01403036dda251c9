//! TLC's distributed mode (`exactly tlc --distributed N`, `exactly tlc-worker`): a server and
//! workers on loopback decide what a single TLC process decides but temporal properties (which
//! TLC's distributed mode does not check: `unknown`, exit code 4), find the same distinct states,
//! survive a killed worker, and leave no Java behind.

use crate::common::{exactly, root, scratch, spawn, tlc_listening_of, tlc_processes_of};
use exactly::catalog::expect::Expectation;
use std::process::Command;
use std::time::{Duration, Instant};

fn expectation(model: &str) -> Expectation {
    let text = std::fs::read_to_string(root().join(model.replace(".cfg", ".expect.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The JSON result of a distributed run of `model` meets its expectation but `Termination`,
/// which is unknown, and has the single process's distinct count.
fn meets_all_but_termination(model: &str, stdout: &[u8]) {
    let v: serde_json::Value = serde_json::from_slice(stdout).unwrap_or_else(|e| panic!("{model}: {e}: {}", String::from_utf8_lossy(stdout)));
    let tlc = &v["results"][0]["tlc"];
    let e = expectation(model);
    assert_eq!(tlc["distributed"], true, "{model}: {tlc}");
    assert_eq!(tlc["stopped"], "undecided", "{model}: {tlc}");
    assert_eq!(tlc["distinct_states"], e.tlc.as_ref().unwrap().distinct_states, "{model}: {tlc}");
    for (name, want) in &e.properties {
        let got = tlc["properties"][name].as_str().unwrap_or("-");
        let want = if name == "Termination" { "unknown".to_string() } else { want.to_string() };
        assert_eq!(got, want, "{model}: {name}: {tlc}");
    }
}

/// The distributed run `child` of `model` ends undecided (exit 4), meets its expectation but
/// `Termination`, and leaves no Java behind.
fn ends_like_one_process(model: &str, child: std::process::Child) {
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    meets_all_but_termination(model, &out.stdout);
    assert_eq!(tlc_processes_of(pid), "", "Java left behind");
}

#[test]
fn a_distributed_run_decides_what_one_process_does_but_termination() {
    let model = "models/handler/GiveUp.cfg";
    ends_like_one_process(model, spawn(&["tlc", model, "--distributed", "1", "--json"], &scratch("dist")));
}

#[test]
fn a_killed_worker_leaves_the_run_to_the_others() {
    // SendThenSave: a first run finds NoGhostOrders violated, the second explores everything
    // (32,014 distinct states, many seconds distributed): one of its two workers is killed.
    let data = scratch("dist-kill");
    let model = "models/sync-async/SendThenSave.cfg";
    let child = spawn(&["tlc", model, "--distributed", "2", "--json"], &data);
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut runs: Vec<String> = Vec::new();
    let mut killed = false;
    while !killed && Instant::now() < deadline {
        for line in tlc_processes_of(pid).lines().filter(|l| l.contains("TLCWorker")) {
            let Some(dir) = line.split_whitespace().find_map(|w| w.strip_prefix("-Djava.io.tmpdir=")) else { continue };
            if !runs.iter().any(|r| r == dir) {
                runs.push(dir.to_string());
            }
            // The second distributed run, once it has run a while.
            if runs.len() >= 2 && dir == runs[1] {
                std::thread::sleep(Duration::from_secs(1));
                let wpid = line.split_whitespace().next().unwrap();
                killed = Command::new("kill").args(["-9", wpid]).status().unwrap().success();
                assert!(killed, "the worker ended before it could be killed: the second run is too short for this test");
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !killed {
        let out = child.wait_with_output().unwrap();
        panic!("no worker of the second run was killed: {}", String::from_utf8_lossy(&out.stderr));
    }
    ends_like_one_process(model, child);
}

#[test]
fn a_worker_that_cannot_reach_its_server_says_so_in_one_line() {
    let out = exactly(&["tlc-worker", "127.0.0.1", "--port", "1", "--wait", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("cannot reach a TLC server at 127.0.0.1:1"), "{err}");
}

#[test]
fn distributed_options_refuse_what_tlc_cannot_do() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    for (args, says) in [
        (&["tlc", "models/handler/GiveUp.cfg", "--distributed", "1", "--port", &port][..], "is in use"),
        (&["tlc", "models/handler/GiveUp.cfg", "--distributed", "1", "--max-states", "10"][..], "no state limit"),
        (&["tlc", "models/handler/GiveUp.cfg", "--distributed", "1", "--host", "nowhere"][..], "give an IP address"),
        (&["tlc", "models/handler/GiveUp.cfg", "--port", "5"][..], "--distributed"),
    ] {
        let out = exactly(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn ctrl_c_stops_the_server_and_every_worker() {
    let data = scratch("dist-int");
    let child = spawn(&["tlc", "models/handler/ResendStoredChange.cfg", "--distributed", "2"], &data);
    let pid = child.id();
    let started = Instant::now();
    let workers = || tlc_processes_of(pid).lines().filter(|l| l.contains("TLCWorker")).count();
    while workers() < 2 && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(workers(), 2, "the workers never started: {}", tlc_processes_of(pid));
    std::thread::sleep(Duration::from_secs(2));
    // The server's registry and remote objects and the workers' listen on loopback only.
    let listening = tlc_listening_of(pid);
    assert!(listening.len() >= 2, "{listening:?}");
    assert!(listening.iter().all(|(_, _, loopback)| *loopback), "listening beyond loopback: {listening:?}");
    Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(tlc_processes_of(pid), "", "Java left behind");
}

/// A single-process TLC listens too: its fingerprint set is an RMI remote object, exported on a
/// port of its own when TLC starts. It runs through the launcher that binds it to loopback.
#[test]
fn a_single_process_tlc_listens_on_loopback_only() {
    let data = scratch("one-listening");
    let mut child = spawn(&["tlc", "models/handler/ResendStoredChange.cfg"], &data);
    let pid = child.id();
    let started = Instant::now();
    while tlc_listening_of(pid).is_empty() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let listening = tlc_listening_of(pid);
    Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
    let _ = child.wait();
    assert!(!listening.is_empty(), "TLC's fingerprint set was never seen listening");
    assert!(listening.iter().all(|(_, _, loopback)| *loopback), "listening beyond loopback: {listening:?}");
}

/// A check is a series of distributed runs on one port (a violation ends a run, the next starts
/// with the properties left): a worker started apart, as on another machine, joins every run,
/// and the server, with no local worker, needs no other. It failed when a worker left after the
/// first run (the server then waited for ever).
#[test]
fn a_worker_started_apart_joins_every_run_of_a_check() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let model = "models/handler/GiveUp.cfg";
    let server = spawn(&["tlc", model, "--distributed", "0", "--port", &port, "--json"], &scratch("dist-apart"));
    let worker = spawn(&["tlc-worker", "127.0.0.1", "--port", &port, "--wait", "10"], &scratch("dist-apart-worker"));
    // Stops both (as Ctrl-C would) if the check has not ended in five minutes.
    let (done, watchdog) = std::sync::mpsc::channel::<()>();
    let pids = [server.id(), worker.id()];
    let guard = std::thread::spawn(move || {
        if watchdog.recv_timeout(Duration::from_secs(300)).is_err() {
            for pid in pids {
                let _ = Command::new("kill").args(["-INT", &pid.to_string()]).status();
            }
        }
    });
    ends_like_one_process(model, server);
    let out = worker.wait_with_output().unwrap();
    let _ = done.send(());
    guard.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let runs: usize = err
        .lines()
        .find_map(|l| l.split("done after ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no run count: {err}"));
    assert!(runs >= 2, "GiveUp's check is several distributed runs, the worker joined {runs}: {err}");
}

/// A TLC worker only answers its server's calls, so when the server dies mid-run it would wait
/// for ever: `exactly tlc-worker` probes the server and gives up after `--wait`, in one line.
#[test]
fn a_worker_whose_server_dies_mid_run_gives_up() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let model = "models/handler/claim-TwoHandlersOneFailure.cfg";
    let server = spawn(&["tlc", model, "--distributed", "0", "--port", &port], &scratch("dist-lost"));
    let worker = spawn(&["tlc-worker", "127.0.0.1", "--port", &port, "--wait", "30"], &scratch("dist-lost-worker"));
    // The runs that end at a situation reached take seconds; the last run of the claim file
    // takes minutes: stop the server once one run has lasted ten seconds with the worker in it.
    let started = Instant::now();
    let mut run: (String, Instant) = (String::new(), Instant::now());
    loop {
        assert!(started.elapsed() < Duration::from_secs(240), "no long run: {}", tlc_processes_of(server.id()));
        let procs = tlc_processes_of(server.id());
        let dir = procs.lines().find(|l| l.contains(" tlc2.tool.distributed.TLCServer ")).and_then(|l| {
            l.split_whitespace().find_map(|w| w.strip_prefix("-Djava.io.tmpdir=")).map(str::to_string)
        });
        match dir {
            Some(d) if d == run.0 && run.1.elapsed() > Duration::from_secs(10) => break,
            Some(d) if d != run.0 => run = (d, Instant::now()),
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Command::new("kill").args(["-INT", &server.id().to_string()]).status().unwrap();
    let out = server.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let (wpid, waited) = (worker.id(), Instant::now());
    let (done, watchdog) = std::sync::mpsc::channel::<()>();
    let guard = std::thread::spawn(move || {
        if watchdog.recv_timeout(Duration::from_secs(120)).is_err() {
            let _ = Command::new("kill").args(["-INT", &wpid.to_string()]).status();
        }
    });
    let out = worker.wait_with_output().unwrap();
    let _ = done.send(());
    guard.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "after {:?}: {err}", waited.elapsed());
    assert!(err.lines().last().unwrap_or_default().contains("stopped answering during run"), "{err}");
    let left = Command::new("pgrep").args(["-f", &format!("exactly-tlc-worker-{wpid}")]).output().unwrap();
    assert!(left.stdout.is_empty(), "Java left behind: {}", String::from_utf8_lossy(&left.stdout));
}
