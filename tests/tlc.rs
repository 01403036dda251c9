//! Every committed model file, checked by the real TLC against its expectations.

mod common;

use exactly::expect;
use exactly::tlc::Tlc;

#[test]
fn every_model_file_meets_its_expectations_in_tlc() {
    let root = common::root();
    let tlc = Tlc::locate(&root, 1).unwrap_or_else(|e| panic!("{e} (`make test` runs `make setup` first)"));
    let mut misses = Vec::new();
    for job in common::all_jobs() {
        let e = job.expectation.as_ref().unwrap();
        let outcome = tlc
            .check(&root, job.family, &job.model, &job.props, 2, &Default::default())
            .unwrap_or_else(|err| panic!("{}: {err}", job.name));
        for m in expect::misses(e, "tlc", &e.tlc, &outcome) {
            misses.push(format!("{}: {m}", job.name));
        }
        eprintln!("{}: TLC done in {:.1}s", job.name, outcome.seconds);
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}
