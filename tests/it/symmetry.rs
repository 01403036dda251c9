//! Symmetry reduction over the handlers (`SYMMETRY HandlerPerms`): the reduced run of a model
//! file gets the verdicts of the unreduced run, with close to the ideal reduction (counts, never
//! times); and the representative function is sound: every renaming of a state has the same
//! representative and the same value of every property condition.


use exactly::world::symmetry::{representative, rename};
use exactly::world::WorldState;
use exactly::engine::stateright::RunOptions;
use exactly::families::world_family::WorldFamily;
use exactly::core::vocab::Consts;
use std::collections::{HashSet, VecDeque};

/// The least reduction (unreduced distinct / reduced distinct) a file with `n` handlers must get:
/// the ideal is n!, less the states that are their own mirror image.
fn least_factor(n: usize) -> f64 {
    match n {
        0 | 1 => 1.0,
        2 => 1.8,
        _ => 4.0,
    }
}

#[test]
fn symmetric_files_keep_their_verdicts_and_reduce() {
    let jobs = crate::common::all_jobs();
    let mut symmetric = 0;
    for job in &jobs {
        let e = job.expectation.as_ref().unwrap();
        assert_eq!(e.symmetry, job.consts.symmetric(), "{}: \"symmetry\" in the expectations must match the SYMMETRY line", job.name);
        if !job.consts.symmetric() {
            continue;
        }
        symmetric += 1;
        let opts = RunOptions { threads: 2, ..RunOptions::default() };
        let reduced = job.family.check(&job.consts, &job.props, &opts);
        let unreduced = job.family.check(&Consts(job.consts.0.clone(), false), &job.props, &opts);
        assert_eq!(reduced.properties, unreduced.properties, "{}: symmetry changed a verdict", job.name);
        let handlers = job.consts.set_len("Handlers");
        let factor = unreduced.distinct_states as f64 / reduced.distinct_states as f64;
        eprintln!(
            "{}: {} handlers, {} -> {} distinct states ({factor:.2}x)",
            job.name, handlers, unreduced.distinct_states, reduced.distinct_states
        );
        assert!(factor >= least_factor(handlers), "{}: only {factor:.2}x fewer states with {handlers} handlers", job.name);
        // TLC's reduced count (its expectation, which tests/tlc.rs holds TLC to) against the
        // unreduced graph, the same in both checkers for a lockstep twin.
        if e.lockstep {
            let tlc_factor = unreduced.distinct_states as f64 / e.tlc.as_ref().unwrap().distinct_states as f64;
            assert!(tlc_factor >= least_factor(handlers), "{}: TLC only {tlc_factor:.2}x fewer states", job.name);
        }
        // The unreduced twin beside it, if any, expects the same verdicts (but Termination, which
        // a symmetric file cannot check).
        let twin = job.path.with_file_name(job.path.file_name().unwrap().to_str().unwrap().replace("Symmetric", ""));
        if let Some(t) = jobs.iter().find(|j| j.path == twin) {
            let mut want = t.expectation.as_ref().unwrap().properties.clone();
            want.remove("Termination");
            assert_eq!(e.properties, want, "{}: expected verdicts differ from {}", job.name, t.name);
        }
    }
    assert!(symmetric >= 3, "fewer than three symmetric model files");
}

/// Explores up to `limit` states of the family's model for `consts` breadth-first and checks,
/// for each state and each renaming of its handlers, that the representative and every
/// property condition are the same.
fn check_invariance<F: WorldFamily>(family: &F, consts: &Consts, limit: usize) {
    use stateright::Model;
    let model = family.model(consts, &[]);
    let n = model.cfg.topology.handlers;
    let perms: Vec<Vec<usize>> = match n {
        2 => vec![vec![1, 0]],
        3 => vec![vec![1, 0, 2], vec![1, 2, 0], vec![2, 0, 1], vec![0, 2, 1], vec![2, 1, 0]],
        _ => panic!("test written for two or three handlers"),
    };
    let mut seen: HashSet<WorldState<F::P>> = HashSet::new();
    let mut queue: VecDeque<WorldState<F::P>> = model.init_states().into();
    for s in &queue {
        for perm in &perms {
            assert_eq!(rename(s, perm), *s, "{}: the initial state is not symmetric", F::ID);
        }
    }
    let mut checked = 0;
    while let Some(s) = queue.pop_front() {
        if !seen.insert(s.clone()) || seen.len() > limit {
            continue;
        }
        let rep = representative(&s);
        for perm in &perms {
            let r = rename(&s, perm);
            assert_eq!(representative(&r), rep, "{}: a renamed state has another representative", F::ID);
            for p in F::PROPERTIES {
                assert_eq!((p.on_actor)(&model, &s), (p.on_actor)(&model, &r), "{}: {} tells a state from its renaming", F::ID, p.name);
            }
            assert_eq!(Model::within_boundary(&model, &s), Model::within_boundary(&model, &r));
            // The renaming is a symmetry of the transition relation: the successors of the
            // renamed state are the renamed successors.
            let renamed: HashSet<_> = successors(&model, &s).iter().map(|t| rename(t, perm)).collect();
            assert_eq!(renamed, successors(&model, &r), "{}: renaming does not commute with a step", F::ID);
        }
        checked += 1;
        queue.extend(successors(&model, &s));
    }
    assert!(checked > 100, "{}: too few states checked ({checked})", F::ID);
}

/// The successors of `s` within the boundary.
fn successors<P: exactly::world::Protocol>(model: &exactly::world::WorldModel<P>, s: &WorldState<P>) -> HashSet<WorldState<P>> {
    use stateright::Model;
    let mut actions = Vec::new();
    model.actions(s, &mut actions);
    actions
        .into_iter()
        .filter_map(|a| model.next_state(s, a))
        .filter(|t| model.within_boundary(t))
        .collect()
}

fn consts_of(model: &str) -> Consts {
    let root = crate::common::root();
    exactly::catalog::load_job(&root, &root.join(model), &[]).unwrap_or_else(|e| panic!("{model}: {}", e.message)).consts
}

#[test]
fn representatives_and_properties_ignore_handler_names() {
    // A family with fresh ids is no symmetry of this renaming: the check sees it.
    let token = std::panic::catch_unwind(|| {
        check_invariance(&exactly::families::token::TOKEN, &consts_of("models/token/CorrectTwoHandlers.cfg"), 3000)
    });
    let why = token.err().and_then(|e| e.downcast_ref::<String>().cloned()).unwrap_or_default();
    assert!(why.contains("does not commute"), "token's fresh ids name handlers, yet renaming went unnoticed: {why:?}");
    use exactly::families::*;
    check_invariance(&handler::HANDLER, &consts_of("models/handler/ResendStoredChange.cfg"), 3000);
    check_invariance(&idempotent_set::IDEMPOTENT_SET, &consts_of("models/idempotent-set/UnorderedWithIds.cfg"), 3000);
    check_invariance(&outbox::OUTBOX, &consts_of("models/outbox/NoVersionCheckSymmetric.cfg"), 3000);
    check_invariance(&inbox::INBOX, &consts_of("models/inbox/CheckBeforeLoadSymmetric.cfg"), 3000);
    // outbox-out-of-document is no longer here: its outputs carry fresh ids (#18), which name
    // handlers, so it declares no symmetry.
}

/// A counterexample of the reduced depth-first run is a real behaviour: Stateright rebuilds it
/// from the actions it took, not from representatives, so it replays step by step in the
/// unreduced model (and TLC replays it: `exactly compare`).
#[test]
fn a_reduced_counterexample_is_a_real_behaviour() {
    use exactly::families::Family;
    use stateright::{Checker, Model};
    let family = &exactly::families::outbox::OUTBOX;
    let consts = consts_of("models/outbox/NoVersionCheckSymmetric.cfg");
    let prop = *family.properties().iter().find(|p| p.name == "NoGhostMessages").unwrap();
    let model = family.model(&consts, &[prop]);
    let checker = model.checker().symmetry_fn(representative).spawn_dfs().join();
    let path = checker.discovery("NoGhostMessages").expect("the reduced run finds the ghost message");
    let states: Vec<_> = path.into_states().iter().map(|s| checker.model().cfg.tla_state(s)).collect();
    assert!(states.len() > 2);
    assert_eq!(family.replay(&consts, &states), Ok(()));
}

/// Bad input: an unknown symmetry, symmetry with liveness, symmetry in a family whose states
/// carry handler ids: one line on stderr and exit code 2.
#[test]
fn the_reader_refuses_what_symmetry_cannot_do() {
    let dir = std::env::temp_dir().join(format!("exactly-symmetry-{}", std::process::id()));
    let body = "SPECIFICATION Spec\nCONSTANTS\n  Msgs = 1\n  Handlers = {h1, h2}\n  DupCount = 0\n  MaxFailures = 0\n";
    for (family, variant, tail, needle) in [
        ("outbox", "Correct", "INVARIANT NoLostMessages\nSYMMETRY Perms\n", "line 9, column 1: unknown SYMMETRY Perms (known: HandlerPerms)"),
        ("outbox", "Correct", "INVARIANT NoLostMessages\nSYMMETRY HandlerPerms\nPROPERTY Termination\n", "line 9, column 1: SYMMETRY cannot go with PROPERTY"),
        ("token", "Correct", "INVARIANT NoLostMessages\nSYMMETRY HandlerPerms\n", "family token does not support SYMMETRY"),
    ] {
        let folder = dir.join("models").join(family);
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("Bad.cfg");
        std::fs::write(&path, format!("{body}  Variant = \"{variant}\"\n{tail}")).unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_exactly"))
            .args(["check", path.to_str().unwrap()])
            .env("EXACTLY_ROOT", crate::common::root())
        .env("EXACTLY_DATA", crate::common::scratch("data"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{family}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{family}: not one line: {err}");
        assert!(err.contains(needle), "{family}: {err:?} lacks {needle:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
