//! Cross-replay between the twins: a counterexample of one checker is a behaviour of the other,
//! and a trace with one corrupted step is not.


use exactly::catalog;
use exactly::core::tla::{State, Value};
use exactly::engine::tlc::{self, Tlc};

fn job(name: &str) -> catalog::Job {
    let root = crate::common::root();
    catalog::load_job(&root, &root.join(name), &[]).unwrap_or_else(|e| panic!("{name}: {}", e.message))
}

/// State `i` of `states` with its queue replaced by one no run reaches.
fn corrupt(states: &[State], i: usize) -> Vec<State> {
    let mut out = states.to_vec();
    let queue = out[i].iter_mut().find(|(n, _)| n == "queue").expect("a queue variable");
    queue.1 = Value::Function(vec![(Value::Int(9), Value::Int(1))]);
    out
}

#[test]
fn counterexamples_replay_across_the_twins_and_a_corrupted_step_does_not() {
    let root = crate::common::root();
    let tlc = Tlc::locate(&root, 1).unwrap_or_else(|e| panic!("{e} (`make test` runs `make setup` first)"));
    for (model, property) in [
        ("models/handler/GiveUp.cfg", "NoLostMessages"),
        ("models/message-id/RandomIds.cfg", "ConsistentOutput"),
        // TLC's trace from a run reduced by symmetry is a real behaviour too.
        ("models/outbox/NoVersionCheckSymmetric.cfg", "NoGhostMessages"),
    ] {
        let job = job(model);
        let prop = job.props.iter().find(|p| p.name == property).unwrap();
        let sr = job.family.tla_trace(&job.consts, prop).expect("Stateright finds a counterexample");
        let (trace, tl) = tlc.trace(&job.spec, &job.model, prop, &job.name).unwrap().expect("TLC finds one");
        assert_eq!(trace.len() + 1, tl.len());
        assert_eq!(sr.len(), tl.len(), "{model}: both shortest counterexamples have the same length");

        // Each checker's trace is a behaviour of the other twin.
        assert_eq!(job.family.replay(&job.consts, &tl), Ok(()), "{model}: TLC's trace in Stateright");
        assert_eq!(tlc.validate(&job.spec, &job.model, std::slice::from_ref(&sr)).unwrap(), [Ok(())], "{model}: Stateright's trace in TLC");

        // One corrupted step, in the middle: neither replays it.
        let at = tl.len() / 2;
        let err = job.family.replay(&job.consts, &corrupt(&tl, at)).unwrap_err();
        assert!(err.contains(&format!("to state {}", at + 1)), "{model}: {err}");
        let err = tlc.validate(&job.spec, &job.model, &[corrupt(&sr, at)]).unwrap().remove(0).unwrap_err();
        assert!(err.contains("cannot follow"), "{model}: {err}");
        // A trace that starts anywhere but an initial state does not replay either.
        assert!(job.family.replay(&job.consts, &corrupt(&tl, 0)).unwrap_err().contains("state 1"));
    }
}

/// Behaviours of handler/SendThenUpdate and which of them are behaviours of the spec: a
/// counterexample; one with a corrupted step; a prefix; one with a corrupted first state; a
/// suffix (its first state is reachable, not initial); an initial state alone; a reachable state
/// alone that is not initial; a counterexample.
fn batch() -> (catalog::Job, Vec<Vec<State>>, [bool; 8]) {
    let job = job("models/handler/SendThenUpdate.cfg");
    let ghost = job.props.iter().find(|p| p.name == "NoGhostMessages").unwrap();
    let output = job.props.iter().find(|p| p.name == "ConsistentOutput").unwrap();
    let a = job.family.tla_trace(&job.consts, ghost).unwrap();
    let b = job.family.tla_trace(&job.consts, output).unwrap();
    let at = b.len() / 2;
    let batch = vec![a.clone(), corrupt(&b, at), b[..at].to_vec(), corrupt(&a, 0), b[1..].to_vec(), b[..1].to_vec(), b[1..2].to_vec(), b.clone()];
    (job, batch, [true, false, true, false, false, true, false, true])
}

#[test]
fn several_behaviours_replay_in_one_tlc_run_each_on_its_own_merit() {
    let root = crate::common::root();
    let tlc = Tlc::locate(&root, 1).unwrap_or_else(|e| panic!("{e} (`make test` runs `make setup` first)"));
    let (job, batch, expected) = batch();
    let r = tlc.validate(&job.spec, &job.model, &batch).unwrap();
    assert_eq!(r.iter().map(|r| r.is_ok()).collect::<Vec<_>>(), expected, "{r:?}");
    assert!(r[1].as_ref().unwrap_err().contains("cannot follow"), "{:?}", r[1]);
}

#[test]
fn the_checking_run_replays_behaviours_each_on_its_own_merit_and_explores_the_same() {
    // `exactly compare` replays Stateright's counterexamples in TLC's checking run (an invariant
    // and an action constraint that always hold), not in a run of their own.
    let root = crate::common::root();
    let tlc = Tlc::locate(&root, 1).unwrap_or_else(|e| panic!("{e} (`make test` runs `make setup` first)"));
    let (job, batch, expected) = batch();
    let plain = tlc.check(&job.spec, &job.model, &job.props, &Default::default(), &[]).unwrap();
    let checked = tlc.check(&job.spec, &job.model, &job.props, &Default::default(), &batch).unwrap();
    assert_eq!(checked.replayed, expected);
    let outcome = &checked.outcome;
    let plain_reports = &plain.reports;
    let plain = &plain.outcome;
    assert_eq!((outcome.distinct_states, outcome.generated_states), (plain.distinct_states, plain.generated_states));
    assert_eq!(outcome.properties, plain.properties);
    // The same traces, printed alike: TLC orders a record's fields by the order in which it
    // first parsed their names, and the replay's states come in a module parsed after the spec's
    // (else the spec's records are reordered and TLC runs several times slower).
    // (A report runs to the next one: the text after its last state may differ.)
    let states_text = |traces: &std::collections::BTreeMap<String, String>| -> Vec<(String, String)> {
        let cut = |t: &String| t[..t.rfind("@!@!@ENDMSG 2217").unwrap_or(t.len())].to_string();
        traces.iter().map(|(p, t)| (p.clone(), cut(t))).collect()
    };
    assert_eq!(states_text(&checked.reports), states_text(plain_reports));

    // A file whose Termination TLC finds violated: it checks again without it, and replays there.
    let give_up = self::job("models/handler/GiveUp.cfg");
    let lost = give_up.props.iter().find(|p| p.name == "NoLostMessages").unwrap();
    let a = give_up.family.tla_trace(&give_up.consts, lost).unwrap();
    let batch = [a.clone(), corrupt(&a, 1)];
    let checked = tlc.check(&give_up.spec, &give_up.model, &give_up.props, &Default::default(), &batch).unwrap();
    assert_eq!(checked.replayed, [true, false]);
    assert_eq!(checked.outcome.properties["Termination"], exactly::core::vocab::Verdict::Violated);
}

#[test]
fn the_checking_run_prints_the_same_shortest_traces_as_runs_of_their_own() {
    // `exactly compare` takes TLC's counterexamples from the one `-continue` checking run:
    // with one worker each is the first violation of its property in breadth-first order,
    // which a run checking that property alone stops at.
    let root = crate::common::root();
    let tlc = Tlc::locate(&root, 1).unwrap_or_else(|e| panic!("{e} (`make test` runs `make setup` first)"));
    for model in ["models/handler/SendThenUpdate.cfg", "models/outbox/DispatchBeforeCommit.cfg"] {
        let job = job(model);
        let checked = tlc.check(&job.spec, &job.model, &job.props, &Default::default(), &[]).unwrap();
        let outcome = &checked.outcome;
        let mut seen = 0;
        for p in job.props.iter().filter(|p| p.kind != exactly::core::vocab::Kind::Liveness) {
            let Some(out) = checked.reports.get(p.name) else { continue };
            let (_, printed) = tlc::parse_trace_states(out, &job.name, p).unwrap();
            let (_, alone) = tlc.trace(&job.spec, &job.model, p, &job.name).unwrap().unwrap();
            assert_eq!(printed, alone, "{model}: {}", p.name);
            assert_eq!(outcome.counterexample_steps[p.name] + 1, alone.len());
            seen += 1;
        }
        assert!(seen >= 3, "{model}: violations and witnesses were printed ({seen})");
    }
}

#[test]
fn the_tlc_trace_reader_reports_malformed_and_truncated_output() {
    let out = std::fs::read_to_string(crate::common::root().join("tests/corpus/tlc/violation.out")).unwrap();
    let job = job("models/handler/UpdateThenSend.cfg");
    let prop = job.props.iter().find(|p| p.name == "NoLostMessages").unwrap();
    let (trace, states) = tlc::parse_trace_states(&out, &job.name, prop).expect("real output reads");
    assert_eq!(trace.steps.len(), states.len());
    assert!(trace.len() > 10);

    // A state whose value is malformed: the error names the state and where in it.
    let bad = out.replacen("|->", "|-", 1);
    let err = tlc::parse_trace(&bad, &job.name, prop).unwrap_err().to_string();
    assert!(err.contains("trace state 1 does not parse") && err.contains("line"), "{err}");

    // Output cut anywhere: a clean error or a shorter trace, never a panic.
    let mut errors = 0;
    for cut in (0..out.len()).step_by(97).filter(|&c| out.is_char_boundary(c)) {
        match tlc::parse_trace(&out[..cut], &job.name, prop) {
            Ok(t) => assert!(t.steps.len() <= trace.steps.len()),
            Err(e) => {
                errors += 1;
                assert!(!e.to_string().is_empty() && !e.to_string().contains('\n'), "{e}");
            }
        }
    }
    assert!(errors > 0, "cutting the output short gives errors");
    // No trace at all.
    let err = tlc::parse_trace("@!@!@STARTMSG 2110:1 @!@!@\nInvariant X is violated.\n@!@!@ENDMSG 2110 @!@!@\n", &job.name, prop).unwrap_err();
    assert!(err.to_string().contains("printed no trace"), "{err}");
}
