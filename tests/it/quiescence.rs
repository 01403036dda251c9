//! `View::has_successor`, which the properties that speak at quiescence ask of every state,
//! answers from the state without building successors. It must give the answer of trying every
//! action (`view::any_successor`) on every reachable state: checked on each committed model
//! file of every family (the first states of the larger ones).


use exactly::world::view::any_successor;
use exactly::world::{View, WorldState};
use exactly::families::world_family::WorldFamily;
use std::collections::{HashSet, VecDeque};

/// States explored per model file.
const LIMIT: usize = 20_000;

/// Explores each model file of `family` breadth-first (up to `LIMIT` states) and compares the two
/// answers on every state. Returns how many states were quiescent and how many were not.
fn compare<F: WorldFamily>(family: &F) -> (usize, usize) {
    use stateright::Model;
    let root = crate::common::root();
    let (mut quiescent, mut busy) = (0, 0);
    for path in exactly::catalog::model_files(&root, family) {
        let job = exactly::catalog::load_job(&root, &path, &[]).unwrap_or_else(|e| panic!("{}: {}", path.display(), e.message));
        let model = family.model(&job.consts, &[]);
        let mut seen: HashSet<WorldState<F::P>> = HashSet::new();
        let mut queue: VecDeque<WorldState<F::P>> = model.init_states().into();
        let mut actions = Vec::new();
        while let Some(s) = queue.pop_front() {
            if seen.len() >= LIMIT || !seen.insert(s.clone()) {
                continue;
            }
            let fast = View::of_actor(&model, &s).has_successor();
            assert_eq!(fast, any_successor(&model, &s), "{}: has_successor is wrong on {s:?}", job.name);
            if fast { busy += 1 } else { quiescent += 1 }
            model.actions(&s, &mut actions);
            for a in actions.drain(..) {
                if let Some(t) = model.next_state(&s, a).filter(|t| Model::within_boundary(&model, t)) {
                    queue.push_back(t);
                }
            }
        }
    }
    (quiescent, busy)
}

macro_rules! families {
    ($($module:ident: $family:ident,)*) => {$(
        #[test]
        fn $module() {
            let (quiescent, busy) = compare(&exactly::families::$module::$family);
            // Both answers occur, so a constant answer would fail.
            assert!(quiescent > 0 && busy > 0, "{quiescent} quiescent and {busy} other states");
        }
    )*};
}

exactly::for_each_family!(families);
