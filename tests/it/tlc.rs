//! Every committed model file, checked by the real TLC against its expectations.


use exactly::catalog::expect;
use exactly::engine::tlc::Tlc;

#[test]
fn every_model_file_meets_its_expectations_in_tlc() {
    let root = crate::common::root();
    let tlc = Tlc::locate(&root, 1).unwrap_or_else(|e| panic!("{e} (`make test` runs `make setup` first)"));
    let mut misses = Vec::new();
    for job in crate::common::all_jobs() {
        let e = job.expectation.as_ref().unwrap();
        let outcome = tlc
            .check(&job.spec, &job.model, &job.props, &Default::default(), &[])
            .unwrap_or_else(|err| panic!("{}: {err}", job.name))
            .outcome;
        for m in expect::misses(e, "tlc", &e.tlc, &outcome) {
            misses.push(format!("{}: {m}", job.name));
        }
        eprintln!("{}: TLC done in {:.1}s", job.name, outcome.seconds);
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}
