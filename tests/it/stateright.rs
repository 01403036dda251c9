//! Every committed model file, checked by the Stateright twin against its expectations; and the
//! catalog's own promises: every check can fail, every non-vacuity check is reached.


use exactly::engine::stateright::RunOptions;
use exactly::catalog::expect;
use exactly::core::vocab::{Kind, Verdict};

#[test]
fn every_model_file_meets_its_expectations_in_stateright() {
    let mut misses = Vec::new();
    for job in crate::common::all_jobs() {
        let e = job.expectation.as_ref().unwrap();
        let outcome = job.family.check(&job.consts, &job.props, &RunOptions { threads: 2, ..RunOptions::default() });
        for m in expect::misses(e, "stateright", &outcome) {
            misses.push(format!("{}: {m}", job.name));
        }
        // Every property of the file has an expected verdict, and nothing else does.
        let named: Vec<&str> = job.props.iter().map(|p| p.name).collect();
        for p in e.properties.keys() {
            if !named.contains(&p.as_str()) {
                misses.push(format!("{}: expects {p}, which the model file does not check", job.name));
            }
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn every_check_can_fail_and_every_situation_happens() {
    let jobs = crate::common::all_jobs();
    for family in exactly::families::families() {
        let mine: Vec<_> = jobs.iter().filter(|j| j.family.id() == family.id()).collect();
        for p in family.properties() {
            let verdicts: Vec<Verdict> =
                mine.iter().filter_map(|j| j.expectation.as_ref().unwrap().properties.get(p.name).copied()).collect();
            match p.kind {
                Kind::Invariant | Kind::Liveness => assert!(
                    verdicts.contains(&Verdict::Violated),
                    "{}: no model file violates {}: a check that cannot fail",
                    family.id(),
                    p.name
                ),
                Kind::Sometimes => {
                    let correct = family.variants()[0];
                    let reached_by_correct = mine.iter().any(|j| {
                        j.consts.string("Variant") == correct
                            && j.expectation.as_ref().unwrap().properties.get(p.name) == Some(&Verdict::Reached)
                    });
                    // A world situation the family declares unreachable (with the reason) must not be
                    // reached by its correct variant; every other one must be.
                    match family.unreachable().iter().find(|(name, _)| *name == p.name) {
                        None => assert!(reached_by_correct, "{}: the correct variant never reaches {}", family.id(), p.name),
                        Some((_, why)) => assert!(
                            !reached_by_correct,
                            "{}: {} is declared unreachable ({why}), yet the correct variant reaches it",
                            family.id(),
                            p.name
                        ),
                    }
                }
            }
        }
        for (name, _) in family.unreachable() {
            assert!(
                family.world_situations().contains(&name),
                "{}: {name} is declared unreachable, and it is not one of the world's situations",
                family.id()
            );
        }
        // The correct variant passes every safety and liveness property it checks, but those the
        // catalog says it fails by design; it reaches the family's own situations each file names
        // (a world situation may be unreached in one file: every correct file names them all).
        for j in mine.iter().filter(|j| j.consts.string("Variant") == family.variants()[0]) {
            let e = j.expectation.as_ref().unwrap();
            for (name, v) in &e.properties {
                let world = family.world_situations().contains(&name.as_str());
                assert!(
                    matches!(v, Verdict::Holds | Verdict::Reached)
                        || (world && *v == Verdict::Unreached)
                        || e.fails_by_design.contains_key(name),
                    "{}: the correct variant is expected to get {v} for {name}, and fails_by_design does not say why",
                    j.name
                );
            }
        }
        // Every variant has a model file.
        for v in family.variants() {
            assert!(mine.iter().any(|j| j.consts.string("Variant") == *v), "{}: variant {v} has no model file", family.id());
        }
    }
}

#[test]
fn lockstep_files_expect_equal_counts() {
    for job in crate::common::all_jobs() {
        let e = job.expectation.unwrap();
        // Symmetric files are exempt: each checker's counts meet its own expectation (tests/symmetry.rs).
        if e.symmetry {
            continue;
        }
        if e.lockstep {
            assert_eq!(e.tlc.as_ref(), Some(&e.stateright), "{}: lockstep, yet the expected counts differ", job.name);
        } else {
            assert!(e.not_lockstep_because.is_some(), "{}: not lockstep, and no reason given", job.name);
        }
    }
}

#[test]
fn bench_files_are_correct_variants_with_invariants_only() {
    // `exactly bench` runs TLC on them without -continue: a violated invariant would stop it.
    let root = crate::common::root();
    let mut n = 0;
    for f in exactly::families::families() {
        for p in exactly::catalog::bench_files(&root, f) {
            let job = exactly::catalog::load_job(&root, &p, &[]).unwrap_or_else(|e| panic!("{}: {}", p.display(), e.message));
            assert_eq!(job.model.constant("Variant"), Some(&exactly::core::cfg::Value::Str(f.variants()[0].to_string())), "{}: the correct variant", job.name);
            assert!(job.props.iter().all(|p| p.kind == exactly::core::vocab::Kind::Invariant), "{}: invariants only", job.name);
            assert!(job.model.symmetry.is_none(), "{}: no symmetry", job.name);
            assert!(!exactly::catalog::model_files(&root, f).contains(&p), "{}: left out of the catalog's runs", job.name);
            n += 1;
        }
    }
    assert!(n >= 9, "bench files: {n}");
}

#[test]
fn claim_files_check_what_their_variant_checks_elsewhere() {
    // A claim file is the correct variant where the faults meet: it checks every property and
    // situation that the variant's ordinary model files check (a claim file that skipped one
    // would claim less than it seems to).
    let root = crate::common::root();
    let mut misses = Vec::new();
    for f in exactly::families::families() {
        let claims = exactly::catalog::claim_files(&root, f);
        if claims.is_empty() {
            continue;
        }
        let mut checked = std::collections::BTreeSet::new();
        for p in exactly::catalog::model_files(&root, f) {
            let job = exactly::catalog::load_job(&root, &p, &[]).unwrap_or_else(|e| panic!("{}: {}", p.display(), e.message));
            if job.consts.string("Variant") == f.variants()[0] {
                checked.extend(job.props.iter().map(|d| d.name));
            }
        }
        for p in claims {
            let job = exactly::catalog::load_job(&root, &p, &[]).unwrap_or_else(|e| panic!("{}: {}", p.display(), e.message));
            let named: Vec<&str> = job.props.iter().map(|d| d.name).collect();
            misses.extend(checked.iter().filter(|n| !named.contains(n)).map(|n| format!("{}: does not check {n}", job.name)));
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn every_claim_file_holds_in_stateright_where_the_faults_meet() {
    // Claim files (`models/<family>/claim-*.cfg`) are too large for TLC in `make test` (`make deep`
    // checks them with both checkers): here Stateright checks each one exhaustively against its
    // expectations, and each is the family's correct variant at a size where concurrency,
    // failures and duplicates meet.
    let root = crate::common::root();
    let mut misses = Vec::new();
    let mut n = 0;
    for f in exactly::families::families() {
        for p in exactly::catalog::claim_files(&root, f) {
            let job = exactly::catalog::load_job(&root, &p, &[]).unwrap_or_else(|e| panic!("{}: {}", p.display(), e.message));
            let e = job.expectation.as_ref().unwrap_or_else(|| panic!("{}: no expectations file", job.name));
            assert_eq!(job.consts.string("Variant"), f.variants()[0], "{}: a claim file checks the correct variant", job.name);
            assert!(job.consts.set_len("Handlers") >= 2, "{}: at least two handlers", job.name);
            assert!(job.consts.int("MaxFailures") >= 1 && job.consts.int("DupCount") >= 1, "{}: failures and a duplicate", job.name);
            assert!(
                e.properties.iter().all(|(name, v)| *v != Verdict::Violated || e.fails_by_design.contains_key(name)),
                "{}: a claim holds (but what fails by design)",
                job.name
            );
            assert!(!exactly::catalog::model_files(&root, f).contains(&p), "{}: left out of the catalog's runs", job.name);
            let outcome = job.family.check(&job.consts, &job.props, &RunOptions { threads: 2, ..RunOptions::default() });
            misses.extend(expect::misses(e, "stateright", &outcome).into_iter().map(|m| format!("{}: {m}", job.name)));
            n += 1;
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
    assert!(n >= 1, "no claim files");
}
