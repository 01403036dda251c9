//! `exactly new`: in a scratch copy of the source tree, a new family is written, the binary
//! rebuilt, and `exactly compare <id>` passes, with the broken variant refuted by both checkers.


use std::path::Path;
use std::process::Command;

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_name() == "node_modules" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

fn run(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn a_new_family_passes_both_checkers_after_a_rebuild() {
    let root = crate::common::root();
    let scratch = crate::common::scratch("new");
    for dir in ["src", "specs", "models", "templates", "web"] {
        copy_tree(&root.join(dir), &scratch.join(dir));
    }
    for file in ["Cargo.toml", "Cargo.lock"] {
        std::fs::create_dir_all(scratch.join(file).parent().unwrap()).unwrap();
        std::fs::copy(root.join(file), scratch.join(file)).unwrap();
    }
    // The dependencies built already (by this very test run, in the profile that built the
    // binary under test): only the crate itself is rebuilt.
    let exactly = env!("CARGO_BIN_EXE_exactly");
    let profile = Path::new(exactly).parent().unwrap();
    copy_tree(profile, &scratch.join("target/release"));

    // Bad ids and an existing family are refused, and nothing is written.
    for bad in ["Demo", "handler", "a--b", "type"] {
        let (code, text) = run(Command::new(exactly).args(["new", bad]).env("EXACTLY_ROOT", &scratch));
        assert_eq!(code, 2, "{bad}: {text}");
        assert_eq!(text.lines().count(), 1, "{bad}: {text}");
    }
    let (code, text) = run(Command::new(exactly).args(["new", "demo"]).env("EXACTLY_ROOT", &scratch));
    assert_eq!(code, 0, "{text}");
    assert!(scratch.join("models/demo/SendThenUpdate.expect.json").is_file());
    // One line in the registry, which the catalog and the per-family tests read.
    let registry = std::fs::read_to_string(scratch.join("src/families/mod.rs")).unwrap();
    assert_eq!(registry.lines().filter(|l| l.trim() == "demo: DEMO,").count(), 1, "the registry does not list demo once");
    let changed: Vec<_> = text.lines().filter(|l| l.starts_with("wrote ") && !l.contains("/demo") && !l.contains("demo.rs")).collect();
    assert_eq!(changed, ["wrote src/families/mod.rs"], "{text}");
    let (code, text) = run(Command::new(exactly).args(["new", "demo"]).env("EXACTLY_ROOT", &scratch));
    assert_eq!(code, 2, "a second `new demo` is refused: {text}");

    // The README's rebuild step.
    let (code, text) = run(Command::new(env!("CARGO")).args(["build", "--release", "--quiet"]).current_dir(&scratch).env("CARGO_TARGET_DIR", scratch.join("target")));
    assert_eq!(code, 0, "the rebuild fails:\n{text}");
    let jar = root.join(".tools/tla2tools.jar");
    let out = Command::new(scratch.join("target/release/exactly"))
        .args(["compare", "demo", "--json"])
        .current_dir(&scratch)
        .env("EXACTLY_DATA", scratch.join(".exactly"))
        .env("TLA2TOOLS", &jar)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let broken = json["results"].as_array().unwrap().iter().find(|r| r["variant"] == "SendThenUpdate").unwrap();
    assert_eq!(broken["tlc"]["properties"]["NoGhostMessages"], "violated");
    assert_eq!(broken["stateright"]["properties"]["NoGhostMessages"], "violated");
    assert_eq!(broken["counterexamples"][0]["replayed"]["stateright_in_tlc"], true);
    let _ = std::fs::remove_dir_all(&scratch);
}
