//! Limits and interruptions: a run stops cleanly, says so, reports what it explored, saves its
//! result, leaves no TLC process behind, and exits 4 (a limit) or 130 (Ctrl-C).


use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::exactly;

use crate::common::{spawn, tlc_processes_of};

#[test]
fn a_state_limit_stops_stateright_with_unknown_verdicts_and_exit_4() {
    let o = exactly(&["check", "models/handler/ResendStoredChange.cfg", "--max-states", "500", "--json"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("stopped at the state limit (--max-states) after"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let sr = &v["results"][0]["stateright"];
    assert_eq!(sr["stopped"], "state_limit");
    assert_eq!(sr["properties"]["NoGhostMessages"], "unknown", "{v}");
    assert!(sr["distinct_states"].as_u64().unwrap() < 52697);
}

#[test]
fn a_found_violation_stands_when_a_limit_stops_the_run() {
    let o = exactly(&["check", "models/handler/GiveUp.cfg", "--max-states", "1000", "--json"]);
    assert_eq!(o.status.code(), Some(4));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["results"][0]["stateright"]["properties"]["Termination"], "violated", "{v}");
}

#[test]
fn tlc_limits_stop_tlc_and_leave_no_java_behind() {
    let child = spawn(&["tlc", "models/handler/ResendStoredChange.cfg", "--timeout", "2", "--json"], &crate::common::scratch("data"));
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("stopped at the time limit (--timeout)"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["results"][0]["tlc"]["stopped"], "time_limit");
    assert_eq!(tlc_processes_of(pid), "", "TLC left running");

    let o = exactly(&["tlc", "models/handler/ResendStoredChange.cfg", "--max-states", "800", "--json"]);
    assert_eq!(o.status.code(), Some(4), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let tlc = &v["results"][0]["tlc"];
    assert_eq!(tlc["stopped"], "state_limit", "{v}");
    // A truncated graph says nothing about liveness (its cut-off states look final).
    assert_eq!(tlc["properties"]["Termination"], "unknown", "{v}");
    assert!(tlc["distinct_states"].as_u64().unwrap() < 52697, "{v}");
}

#[test]
fn undecided_verdicts_are_never_agreement() {
    // A state limit leaves every verdict that was not found on the way unknown: `compare` says
    // the agreement is undecided (null), not true, and exits 4.
    let o = exactly(&["compare", "models/handler/ResendStoredChange.cfg", "--max-states", "500", "--json"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["agree"], serde_json::Value::Null, "{v}");
    assert_eq!(v["results"][0]["agree"], serde_json::Value::Null, "{v}");
    let o = exactly(&["compare", "models/handler/ResendStoredChange.cfg", "--max-states", "500"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("some verdicts are undecided"), "{out}");
}

#[test]
fn ctrl_c_stops_compare_saves_the_result_and_leaves_no_java_behind() {
    let data = crate::common::scratch("data");
    let mut child = spawn(&["compare", "models/handler/ResendStoredChange.cfg", "--const", "MaxFailures=2"], &data);
    let pid = child.id();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.ends_with(": TLC") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    // Interrupt once TLC is running (and Java started).
    rx.recv_timeout(Duration::from_secs(120)).expect("TLC never started");
    let started = Instant::now();
    while tlc_processes_of(pid).is_empty() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!tlc_processes_of(pid).is_empty(), "no TLC process to interrupt");
    Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    let err = reader.join().unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(tlc_processes_of(pid), "", "TLC left running");
    let saved = data.join("results/handler/ResendStoredChange.compare.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    assert_eq!(v["tlc"]["stopped"], "interrupted", "{v}");
    let leftovers: Vec<_> = std::fs::read_dir(data.join("results/handler"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "half-written files: {leftovers:?}");
}

/// A limit stops a run of millions of states (two handlers, two failures: 14,575,305 distinct
/// states complete) where it says: about N distinct states, or well before the end at a timeout.
#[test]
fn limits_stop_a_large_stateright_run_where_they_say() {
    let file = "models/handler/claim-TwoHandlersTwoFailures.cfg";
    let distinct = stopped_at(&["check", file, "--max-states", "1000000", "--threads", "2"], "state_limit");
    assert!((1_000_000..1_200_000).contains(&distinct), "a limit of 1,000,000 distinct states stopped at {distinct} distinct");

    // One thread: Stateright's own timeout is seen only by a thread whose queue runs dry, and a
    // lone thread's never does (the run went on to its end before #19).
    let distinct = stopped_at(&["check", file, "--timeout", "3", "--threads", "1"], "time_limit");
    assert!(distinct < 14_575_305, "a 3 s timeout let the run finish ({distinct} distinct states)");
}

/// The other two Stateright paths keep the limits as the fast path does (#19 item 5): the
/// `ActorModel` itself (`--actor-model`) and a symmetric model file (depth-first, with symmetry
/// reduction), both wrapped in a model that stops offering steps at a limit. Before, they ran
/// with Stateright's own limits: generated states, and a timeout a lone thread never sees.
#[test]
fn limits_stop_the_actor_model_and_symmetric_runs_where_they_say() {
    let file = "models/handler/claim-TwoHandlersTwoFailures.cfg";
    let distinct = stopped_at(&["check", file, "--actor-model", "--max-states", "300000", "--threads", "2"], "state_limit");
    assert!((300_000..360_000).contains(&distinct), "a limit of 300,000 distinct states stopped the actor model at {distinct} distinct");

    // The claim file's size with symmetry: millions of representatives (14,575,305 states
    // without), so a 3 s timeout with one thread stops it far from its end.
    let file = "models/handler/ResendStoredChangeSymmetric.cfg";
    let sizes = ["--const", "DupCount=1", "--const", "MaxFailures=2"];
    let distinct = stopped_at(&[&["check", file, "--timeout", "3", "--threads", "1"][..], &sizes].concat(), "time_limit");
    assert!(distinct < 1_000_000, "a 3 s timeout let the symmetric run go on to {distinct} distinct states");
}

/// Runs `exactly <args> --json`, which a limit stops (exit 4, `stopped` as `how`, the invariant
/// `NoLostMessages` left unknown); its distinct states.
fn stopped_at(args: &[&str], how: &str) -> u64 {
    let o = exactly(&[args, &["--json"]].concat());
    assert_eq!(o.status.code(), Some(4), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let sr = &v["results"][0]["stateright"];
    assert_eq!(sr["stopped"], how, "{v}");
    assert_eq!(sr["properties"]["NoLostMessages"], "unknown", "{v}");
    sr["distinct_states"].as_u64().unwrap()
}

/// Ctrl-C (a SIGINT to `exactly` alone) stops a benchmark with TLC's Java: before, `bench` had no
/// handler, died at once, and left TLC running.
#[test]
fn ctrl_c_stops_a_benchmark_and_leaves_no_java_behind() {
    let data = crate::common::scratch("bench-int");
    let child = spawn(&["bench", "handler", "--runs", "1"], &data);
    let pid = child.id();
    let started = std::time::Instant::now();
    while tlc_processes_of(pid).is_empty() && started.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!tlc_processes_of(pid).is_empty(), "TLC never started");
    std::thread::sleep(std::time::Duration::from_secs(1));
    std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(tlc_processes_of(pid), "", "TLC left running");
}
