//! Every committed model file, checked by the real TLC against its expectations: two files at
//! a time (one TLC worker each, as `exactly compare` runs them), the largest first, Java's quick
//! compiler for the small ones.

use exactly::catalog::expect;
use exactly::engine::pool;
use exactly::engine::tlc::Tlc;

#[test]
fn every_model_file_meets_its_expectations_in_tlc() {
    let root = crate::common::root();
    let tlc = Tlc::locate(&root, 1).unwrap_or_else(|e| panic!("{e} (`make test` runs `make setup` first)"));
    let mut jobs = crate::common::all_jobs();
    jobs.sort_by_key(|j| std::cmp::Reverse(j.expectation.as_ref().unwrap().stateright.generated_states));
    let done = pool::run(jobs.len(), 2, |k| {
        let job = &jobs[k];
        let e = job.expectation.as_ref().unwrap();
        let outcome = exactly::app::single::small_model_tlc(&tlc, job)
            .check(&job.spec, &job.model, &job.props, &Default::default(), &[])
            .map_err(|err| format!("{}: {err}", job.name))?
            .outcome;
        eprintln!("{}: TLC done in {:.1}s", job.name, outcome.seconds);
        Ok::<Vec<String>, String>(expect::misses(e, "tlc", &outcome).into_iter().map(|m| format!("{}: {m}", job.name)).collect())
    });
    assert_eq!(done.len(), jobs.len(), "every model file was checked");
    let mut misses = Vec::new();
    for (_, r) in done {
        misses.extend(r.unwrap_or_else(|e| panic!("{e}")));
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}
