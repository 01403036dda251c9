//! The command line: bad input gets one clear line and exit code 2, a broken environment exit
//! code 3, a wrong result exit code 1.


use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn exactly(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_exactly"))
        .args(args)
        .current_dir(root)
        .env("EXACTLY_ROOT", root)
        .env("EXACTLY_DATA", crate::common::scratch("data"))
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Asserts exit code 2 and one line on stderr containing `needle`.
fn bad_input(root: &Path, args: &[&str], needle: &str) {
    let o = exactly(root, args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: not one line: {err}");
    assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
}

/// A scratch catalog root with the real specs and one model file of ours.
fn scratch_root(name: &str, cfg: &str, expect: Option<&str>) -> PathBuf {
    let root = std::env::temp_dir().join(format!("exactly-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("models/handler")).unwrap();
    copy_dir(&crate::common::root().join("specs"), &root.join("specs"));
    std::fs::write(root.join(format!("models/handler/{name}.cfg")), cfg).unwrap();
    if let Some(e) = expect {
        std::fs::write(root.join(format!("models/handler/{name}.expect.json")), e).unwrap();
    }
    root
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let root = crate::common::root();
    bad_input(&root, &["check", "nosuch"], "unknown family or model file nosuch (families: handler");
    bad_input(&root, &["check", "models/handler/Missing.cfg"], "no model file models/handler/Missing.cfg");
    bad_input(&root, &["check", "models/handler"], "is a folder");
    bad_input(&root, &["check"], "name a model file");
    bad_input(&root, &["check", "handler", "--all"], "either --all or targets");
    bad_input(&root, &["check", "handler", "--const", "Foo=bar"], "unknown constant for family handler (known: Msgs");
    bad_input(&root, &["check", "handler", "--const", "MaxFailures=99"], "out of range");
    bad_input(&root, &["check", "handler", "--const", "MaxFailures"], "write NAME=VALUE");
    bad_input(&root, &["check", "handler", "--const", "Msgs=\"two\""], "Msgs takes an integer");
    bad_input(&root, &["check", "handler", "--const", "Variant=Nope"], "unknown variant \"Nope\"");
    bad_input(&root, &["check", "--bogus"], "unexpected argument '--bogus'");
    bad_input(&root, &["frobnicate"], "unrecognized subcommand");
    bad_input(&root, &["tlc", "nosuch"], "unknown family");
    bad_input(&root, &["bench", "nosuch"], "unknown family nosuch");
    bad_input(&root, &["bench", "--runs", "0"], "--runs");
    bad_input(&root, &["compare", "models/handler/Missing.cfg"], "no model file");
    bad_input(&root, &["explore", "models/handler/GiveUp.cfg", "--host", "localhost:x"], "not an IP address");
    bad_input(&root, &["explore", "models/handler/GiveUp.cfg", "--port", "70000"], "70000");
    bad_input(&root, &["explore", "models/handler/GiveUp.cfg", "--port", "http"], "invalid value 'http'");
    bad_input(&root, &["explore"], "required");
    bad_input(&root, &["explore", "models/handler/Nope.cfg"], "no model file");
    bad_input(&root, &["check", "handler", "--max-states", "0"], "--max-states");
    bad_input(&root, &["check", "handler", "--max-states", "many"], "invalid value 'many'");
    bad_input(&root, &["check", "handler", "--timeout", "0"], "above 0");
    bad_input(&root, &["check", "handler", "--timeout", "soon"], "not a number of seconds");
    bad_input(&root, &["tlc", "handler", "--timeout=-5"], "above 0");
    bad_input(&root, &["check", "handler", "--threads", "0"], "--threads");
    bad_input(&root, &["tlc", "handler", "--workers", "0"], "--workers");
    bad_input(&root, &["check", "handler", "--const", "=3"], "name is missing");
    bad_input(&root, &["check", "handler", "--const", "Msgs="], "expected a value");
    bad_input(&root, &["check", "handler", "--const", "Msgs=1 2"], "after the value");
    bad_input(&root, &["check", "handler", "--const", "Handlers={}"], "Handlers takes 1 to 4 model values, found 0");
    bad_input(&root, &["check", "handler", "--const", "Handlers={1, 2}"], "takes model values");
    bad_input(&root, &["check", "handler", "--const", "Handlers={a, b, c, d, e}"], "found 5");
    bad_input(&root, &["check", "handler", "--const", "Variant=1"], "Variant takes a string");
    bad_input(&root, &["check", "handler", "--const", "DupCount=-1"], "out of range");
    bad_input(&root, &["check", "handler", "--const", "Msgs=99999999999999999999"], "too large");
    bad_input(&root, &["check", "handler", "--const", "Msgs={1, 2"], "unterminated set");
    bad_input(&root, &["list", "extra"], "unexpected argument 'extra'");
    let outside = std::env::temp_dir().join(format!("exactly-outside-{}.cfg", std::process::id()));
    std::fs::write(&outside, "SPECIFICATION Spec\n").unwrap();
    bad_input(&root, &["check", outside.to_str().unwrap()], "cannot tell its family");
    let _ = std::fs::remove_file(outside);
}

#[test]
fn malformed_model_files_name_the_line() {
    let cases = [
        ("unterminated", "SPECIFICATION Spec\nCONSTANTS\n  Msgs = {1, 2\n", "line 3, column 10: unterminated set"),
        ("undeclared", "SPECIFICATION Spec\nCONSTANTS Msgs = 2 Handlers = {h1} DupCount = 0 MaxFailures = 0 Variant = \"GiveUp\" Extra = 1\nINVARIANT NoGhostMessages\n", "unknown constant Extra"),
        ("missing", "SPECIFICATION Spec\nCONSTANTS Msgs = 2\nINVARIANT NoGhostMessages\n", "constant Handlers is not assigned"),
        ("unknownprop", "SPECIFICATION Spec\nCONSTANTS Msgs = 2 Handlers = {h1} DupCount = 0 MaxFailures = 0 Variant = \"GiveUp\"\nINVARIANT Nope\n", "unknown INVARIANT Nope"),
        ("wrongkind", "SPECIFICATION Spec\nCONSTANTS Msgs = 2 Handlers = {h1} DupCount = 0 MaxFailures = 0 Variant = \"GiveUp\"\nINVARIANT Termination\n", "cannot be listed under INVARIANT"),
        ("modelvariant", "SPECIFICATION Spec\nCONSTANTS Msgs = 2 Handlers = {h1} DupCount = 0 MaxFailures = 0 Variant = GiveUp\nINVARIANT NoGhostMessages\n", "Variant is a string"),
        ("empty", "", "empty"),
        ("comment", "SPECIFICATION Spec\n(* never closed\n", "line 2, column 1: unterminated comment"),
        ("dupkey", "SPECIFICATION Spec\nCONSTANTS Msgs = 1\nCONSTANTS Msgs = 2\n", "line 3, column 11: constant Msgs is assigned twice"),
        ("init", "INIT Init\n", "INIT is not supported"),
        ("otherspec", "SPECIFICATION Foo\nCONSTANTS Msgs = 2 Handlers = {h1} DupCount = 0 MaxFailures = 0 Variant = \"GiveUp\"\nINVARIANT NoGhostMessages\n", "write SPECIFICATION Spec"),
        ("nospec", "CONSTANTS Msgs = 2 Handlers = {h1} DupCount = 0 MaxFailures = 0 Variant = \"GiveUp\"\nINVARIANT NoGhostMessages\n", "no SPECIFICATION"),
        ("sometimes", "SPECIFICATION Spec\nCONSTANTS Msgs = 2 Handlers = {h1} DupCount = 0 MaxFailures = 0 Variant = \"GiveUp\"\n\\* SOMETIMES Nope\n", "unknown SOMETIMES Nope"),
        ("propkind", "SPECIFICATION Spec\nCONSTANTS Msgs = 2 Handlers = {h1} DupCount = 0 MaxFailures = 0 Variant = \"GiveUp\"\nPROPERTY NoGhostMessages\n", "cannot be listed under PROPERTY"),
        ("noprops", "SPECIFICATION Spec\nCONSTANTS Msgs = 2 Handlers = {h1} DupCount = 0 MaxFailures = 0 Variant = \"GiveUp\"\n", "names no property"),
        ("badvalue", "SPECIFICATION Spec\nCONSTANTS Msgs = @\n", "line 2, column 18: expected a value, found '@'"),
        ("badescape", "SPECIFICATION Spec\nCONSTANTS Variant = \"a\\q\"\n", "unknown escape"),
        ("binary", "\u{0}\u{1}\u{2}", "binary"),
    ];
    for (name, text, needle) in cases {
        let root = scratch_root(name, text, None);
        bad_input(&root, &["check", &format!("models/handler/{name}.cfg")], needle);
        let _ = std::fs::remove_dir_all(&root);
    }
    let root = scratch_root("latin1", "", None);
    std::fs::write(root.join("models/handler/latin1.cfg"), b"CONSTANTS Msgs = \"\xe9\"\n").unwrap();
    bad_input(&root, &["check", "models/handler/latin1.cfg"], "not a text file");
    let _ = std::fs::remove_dir_all(&root);
}

const SMALL: &str = "SPECIFICATION Spec\nCONSTANTS\n  Msgs = 1\n  Handlers = {h1}\n  DupCount = 1\n  MaxFailures = 1\n  Variant = \"UpdateThenSend\"\nINVARIANTS NoGhostMessages NoLostMessages\nPROPERTY Termination\n\\* SOMETIMES DuplicateDelivered\n";

#[test]
fn a_wrong_expectation_makes_check_and_compare_exit_1() {
    // UpdateThenSend loses an output: an expectation that NoLostMessages holds is wrong.
    let expect = r#"{"properties": {"NoGhostMessages": "holds", "NoLostMessages": "holds", "Termination": "holds", "DuplicateDelivered": "reached"},
                     "lockstep": true, "tlc": {"distinct_states": 1, "generated_states": 1}, "stateright": {"distinct_states": 1, "generated_states": 1}}"#;
    let root = scratch_root("Wrong", SMALL, Some(expect));
    let o = exactly(&root, &["check", "models/handler/Wrong.cfg"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("NoLostMessages violated, expected holds"), "{}", stderr(&o));
    let o = exactly(&root, &["compare", "models/handler/Wrong.cfg", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["results"][0]["expected"], false);
    assert_eq!(v["results"][0]["agree"], true, "the checkers agree with each other: {v}");
    assert_eq!(v["results"][0]["tlc"]["properties"]["NoLostMessages"], "violated");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn without_expectations_a_violation_is_exit_1_and_agreement_is_exit_0() {
    let root = scratch_root("Free", SMALL, None);
    let o = exactly(&root, &["check", "models/handler/Free.cfg"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = exactly(&root, &["compare", "models/handler/Free.cfg", "--const", "Variant=ResendStoredChange"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_broken_environment_is_exit_code_3() {
    let root = crate::common::root();
    let o = Command::new(env!("CARGO_BIN_EXE_exactly"))
        .args(["tlc", "models/handler/GiveUp.cfg"])
        .env("EXACTLY_ROOT", &root)
        .env("EXACTLY_DATA", crate::common::scratch("data"))
        .env("TLA2TOOLS", "/nonexistent/tla2tools.jar")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("TLC is missing"), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_exactly"))
        .args(["tlc", "models/handler/GiveUp.cfg"])
        .env("EXACTLY_ROOT", &root)
        .env("EXACTLY_DATA", crate::common::scratch("data"))
        .env("JAVA", "/nonexistent/java")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot start Java"), "{}", stderr(&o));
    // TLC running out of memory, and a Java that dies at once: TLC's own lines, exit code 3.
    let o = Command::new(env!("CARGO_BIN_EXE_exactly"))
        .args(["tlc", "models/handler/GiveUp.cfg"])
        .env("EXACTLY_ROOT", &root)
        .env("EXACTLY_DATA", crate::common::scratch("data"))
        .env("JAVA_TOOL_OPTIONS", "-Xmx6m")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("Java ran out of memory"), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_exactly"))
        .args(["compare", "models/handler/GiveUp.cfg"])
        .env("EXACTLY_ROOT", &root)
        .env("EXACTLY_DATA", crate::common::scratch("data"))
        .env("JAVA", "/bin/false")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("TLC failed (exit code 1)"), "{}", stderr(&o));
    // TLC rejecting a spec: its own lines come through.
    let broken = scratch_root("Broken", SMALL, None);
    std::fs::write(broken.join("specs/handler/Handler.tla"), "---- MODULE Handler ----\nEXTENDS World\nSpec == Undefined\n====\n").unwrap();
    let o = exactly(&broken, &["tlc", "models/handler/Broken.cfg"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("Undefined"), "TLC's own lines: {}", stderr(&o));
    let _ = std::fs::remove_dir_all(&broken);
}

#[test]
fn explore_refuses_a_taken_port() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    bad_input(&crate::common::root(), &["explore", "models/handler/GiveUp.cfg", "--port", &port], "is in use");
}

#[test]
fn explore_serves_the_explorer_on_loopback() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_exactly"))
        .args(["explore", "models/handler/GiveUp.cfg", "--port", &port.to_string()])
        .env("EXACTLY_ROOT", crate::common::root())
        .env("EXACTLY_DATA", crate::common::scratch("data"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut body = String::new();
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            s.write_all(b"GET /.status HTTP/1.0\r\n\r\n").unwrap();
            s.read_to_string(&mut body).unwrap();
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(body.contains("200 OK") && body.contains("Termination"), "{body}");
}

#[test]
fn list_json_names_families_variants_and_models() {
    let o = exactly(&crate::common::root(), &["list", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let handler = &v["families"][0];
    assert_eq!(handler["id"], "handler");
    assert_eq!(handler["variants"][0], "ResendStoredChange");
    assert!(handler["models"].as_array().unwrap().iter().any(|m| m == "models/handler/GiveUp.cfg"));
}

#[test]
fn trace_gives_both_checkers_shortest_counterexamples_in_one_format() {
    let o = exactly(&crate::common::root(), &["trace", "models/handler/SendThenUpdate.cfg", "--property", "NoGhostMessages", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let traces = v["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 2, "{v}");
    for t in traces {
        assert_eq!(t["property"], "NoGhostMessages");
        assert_eq!(t["kind"], "violation");
        // Both shortest: 5 steps after the initial state, each with its action, state, changes.
        assert_eq!(t["steps"].as_array().unwrap().len(), 6, "{}", t["checker"]);
        assert_eq!(t["steps"][0]["action"], "Initial");
        assert!(t["steps"][5]["changed"].as_array().is_some_and(|c| !c.is_empty()));
    }
    let checkers: Vec<_> = traces.iter().map(|t| t["checker"].as_str().unwrap()).collect();
    assert_eq!(checkers, ["stateright", "tlc"]);
    bad_input(&crate::common::root(), &["trace", "models/handler/GiveUp.cfg", "--property", "Nope"], "does not check it");
    bad_input(&crate::common::root(), &["trace", "models/handler/GiveUp.cfg", "--checker", "spin"], "invalid value 'spin'");
}
