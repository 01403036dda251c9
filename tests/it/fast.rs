//! The fast path (`world::fast`) is the actor model, faster: on every model file it gives the
//! actor model's verdicts and exactly its distinct and generated counts, and state by state its
//! initial states and successors (with their multiplicity) are the actor model's.


use exactly::world::fast::Fast;
use exactly::world::WorldState;
use exactly::engine::stateright::{sentinel, with_sentinel, RunOptions};
use exactly::families::world_family::WorldFamily;
use exactly::core::vocab::Consts;
use std::collections::{HashMap, HashSet, VecDeque};

#[test]
fn same_verdicts_and_counts_as_the_actor_model_on_every_model_file() {
    let jobs = crate::common::all_jobs();
    for job in &jobs {
        // Symmetric files run the actor model (reduced); compare their unreduced runs.
        let consts = Consts(job.consts.0.clone(), false);
        let fast = job.family.check(&consts, &job.props, &RunOptions { threads: 2, ..RunOptions::default() });
        let actor = job.family.check(&consts, &job.props, &RunOptions { threads: 2, actor_model: true, ..RunOptions::default() });
        assert_eq!(fast.properties, actor.properties, "{}: verdicts differ", job.name);
        assert_eq!(
            (fast.distinct_states, fast.generated_states),
            (actor.distinct_states, actor.generated_states),
            "{}: counts differ (fast, actor)",
            job.name
        );
    }
    assert!(jobs.len() >= 13);
}

/// The successors of a state as a multiset.
fn multiset<T: std::hash::Hash + Eq>(items: impl IntoIterator<Item = T>) -> HashMap<T, usize> {
    let mut m = HashMap::new();
    for t in items {
        *m.entry(t).or_insert(0) += 1;
    }
    m
}

/// Explores up to `limit` states of each model file of `family` with the fast path and compares
/// each state's successors within the boundary, converted, with the actor model's successors of
/// the converted state, and the properties' values.
/// (Each family's bench files too: a million states and more each, where the fast path does its
/// work in `make bench`.)
fn step_by_step<F: WorldFamily>(family: &F, limit: usize) {
    use stateright::Model;
    let root = crate::common::root();
    let files = exactly::catalog::model_files(&root, family).into_iter().chain(exactly::catalog::bench_files(&root, family));
    for path in files {
        let job = exactly::catalog::load_job(&root, &path, &[]).unwrap_or_else(|e| panic!("{}: {}", path.display(), e.message));
        let consts = Consts(job.consts.0.clone(), false);
        let fast = Fast::new(exactly::world::build(family.world(&consts)), &F::selected(&job.props), vec![sentinel()]);
        let actor = &with_sentinel(family.model(&consts, &job.props));
        let inits: Vec<WorldState<F::P>> = fast.init_states().iter().map(|s| fast.world_state(s)).collect();
        assert_eq!(inits, actor.init_states(), "{}: initial states differ", job.name);
        let mut seen = HashSet::new();
        let mut queue: VecDeque<_> = fast.init_states().into();
        let (mut actions, mut actor_actions) = (Vec::new(), Vec::new());
        let props = fast.properties();
        while let Some(s) = queue.pop_front() {
            if seen.len() >= limit || !seen.insert(s.clone()) {
                continue;
            }
            let w = fast.world_state(&s);
            fast.actions(&s, &mut actions);
            let next: Vec<_> = actions.drain(..).filter_map(|a| fast.next_state(&s, a)).filter(|t| fast.within_boundary(t)).collect();
            actor.actions(&w, &mut actor_actions);
            let want = multiset(actor_actions.drain(..).filter_map(|a| actor.next_state(&w, a)).filter(|t| Model::within_boundary(actor, t)));
            assert_eq!(multiset(next.iter().map(|t| fast.world_state(t))), want, "{}: successors differ", job.name);
            for (p, q) in props.iter().zip(actor.properties()) {
                assert_eq!((p.condition)(&fast, &s), (q.condition)(actor, &w), "{}: {} differs", job.name, p.name);
            }
            queue.extend(next);
        }
        assert!(seen.len() > 10, "{}: too few states", job.name);
    }
}

macro_rules! families {
    ($($module:ident: $family:ident,)*) => {$(
        #[test]
        fn $module() {
            step_by_step(&exactly::families::$module::$family, 5_000);
        }
    )*};
}

exactly::for_each_family!(families);
