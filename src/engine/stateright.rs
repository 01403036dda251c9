//! Runs a Stateright model and reads its verdicts and state counts: a whole exploration (with a
//! sentinel property so that it never stops early), a shortest path to a property's discovery,
//! and the Explorer. Generic over the model: nothing here knows the world or its families.

use crate::core::cancel::interrupted;
use crate::core::outcome::{Limits, Outcome, Stop};
use crate::core::vocab::{PropertyDef, Verdict};
use stateright::{Checker, Expectation, Model};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub threads: usize,
    pub dfs: bool,
    pub limits: Limits,
    /// Run Stateright's actor model itself, not the fast path that mirrors it
    /// (`src/world/fast.rs`: the same states and counts, faster).
    pub actor_model: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { threads: 1, dfs: false, limits: Limits::default(), actor_model: false }
    }
}

/// The name of the property that is never discovered, so that every run explores the whole
/// state space and its counts are complete.
pub const SENTINEL: &str = "(complete exploration)";

/// The sentinel property of any model: never discovered, so that a run explores everything.
pub fn sentinel<M: Model>() -> stateright::Property<M> {
    stateright::Property { expectation: Expectation::Sometimes, name: SENTINEL, condition: |_, _| false }
}

/// Adds the sentinel property, so that a run explores the whole state space.
pub fn with_sentinel<A, C, H>(model: stateright::actor::ActorModel<A, C, H>) -> stateright::actor::ActorModel<A, C, H>
where
    A: stateright::actor::Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash,
{
    model.property(Expectation::Sometimes, SENTINEL, |_, _| false)
}

/// A condition on a model's states.
type Discovered<M> = Box<dyn Fn(&M, &<M as Model>::State) -> bool + Send + Sync>;

/// A path found in a model, with the model.
pub type Found<M> = (M, stateright::Path<<M as Model>::State, <M as Model>::Action>);

/// A symmetry reduction: the representative of a state's class.
pub type Representative<S> = fn(&S) -> S;

/// Records the first visited path (breadth-first order: the shortest) to a state where
/// `discovered` holds.
struct FirstDiscovery<M: Model> {
    discovered: Discovered<M>,
    found: std::sync::Arc<std::sync::Mutex<Option<Vec<M::Action>>>>,
}

impl<M: Model> stateright::CheckerVisitor<M> for FirstDiscovery<M>
where
    M::State: Clone,
    M::Action: Clone,
{
    fn visit(&self, model: &M, path: stateright::Path<M::State, M::Action>) {
        let mut found = self.found.lock().unwrap();
        if found.is_none() && (self.discovered)(model, path.last_state()) {
            *found = Some(path.into_actions());
        }
    }
}

/// The shortest path (breadth-first, one thread) to a state where `discovered` holds (a property's
/// violation, or a non-vacuity check's witness), recorded by a visitor because Stateright 0.31
/// replaces a property's discovery with every later one while it keeps exploring; with the model
/// it was found in.
pub fn shortest_path<M>(model: M, discovered: impl Fn(&M, &M::State) -> bool + Send + Sync + 'static) -> Option<Found<M>>
where
    M: Model + Clone + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync,
    M::Action: Clone + Debug + PartialEq + Send + Sync,
{
    let found = std::sync::Arc::new(std::sync::Mutex::new(None));
    let visitor = FirstDiscovery::<M> { discovered: Box::new(discovered), found: found.clone() };
    let checker = model.checker().threads(1).visitor(visitor).spawn_bfs().join();
    let actions = found.lock().unwrap().take()?;
    let m = checker.model();
    let path = stateright::Path::from_actions(m, m.init_states().into_iter().next()?, actions.iter())?;
    Some((m.clone(), path))
}

/// Explores the whole state space of `model` (which carries the sentinel and stops when `halt` is
/// set: it then offers no property and no step) and reads the verdicts. The limits are kept
/// here, as they say: the state limit counts distinct states, and a run stops within moments of
/// reaching either limit, whatever its size.
pub fn run_halting<M>(model: M, props: &[PropertyDef], opts: &RunOptions, halt: Arc<AtomicBool>) -> Outcome
where
    M: Model + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync,
    M::Action: Clone + Debug + PartialEq + Send + Sync,
{
    let start = Instant::now();
    let builder = model.checker().threads(opts.threads.max(1));
    if opts.dfs {
        finish_halting(builder.spawn_dfs(), props, start, &opts.limits, &halt)
    } else {
        finish_halting(builder.spawn_bfs(), props, start, &opts.limits, &halt)
    }
}

/// Waits for a spawned checker of a halting model; at a limit or on Ctrl-C sets `halt`, so that
/// its threads end, and reads its verdicts.
fn finish_halting<M, C>(checker: C, props: &[PropertyDef], start: Instant, limits: &Limits, halt: &AtomicBool) -> Outcome
where
    M: Model,
    M::State: Clone + Debug + Hash + PartialEq,
    M::Action: Clone + Debug + PartialEq,
    C: Checker<M>,
{
    let mut stop = None;
    while !checker.is_done() {
        stop = if interrupted() {
            Some(Stop::Interrupted)
        } else if limits.max_states.is_some_and(|n| checker.unique_state_count() as u64 >= n) {
            Some(Stop::StateLimit)
        } else if limits.timeout.is_some_and(|t| start.elapsed() >= t) {
            Some(Stop::TimeLimit)
        } else {
            None
        };
        if stop.is_some() {
            halt.store(true, Ordering::Relaxed);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let checker = checker.join();
    // The threads have ended: the model steps again, for the paths of the discoveries.
    halt.store(false, Ordering::Relaxed);
    read(&checker, props, start, stop)
}

/// Explores the whole state space of `model` (which carries the sentinel), with symmetry
/// reduction when `symmetry` gives a representative function: then depth-first (Stateright 0.31
/// reduces only depth-first and simulation runs), and the counts are those of the
/// representatives. The model is wrapped in [`Halting`], so that its limits are kept as the fast
/// path's are: distinct states, and a stop within moments of reaching either limit.
pub fn run_reduced<M>(model: M, props: &[PropertyDef], opts: &RunOptions, symmetry: Option<Representative<M::State>>) -> Outcome
where
    M: Model + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync,
    M::Action: Clone + Debug + PartialEq + Send + Sync,
{
    let halting = Halting::new(model);
    let halt = Arc::clone(&halting.halt);
    match symmetry {
        Some(representative) => {
            let start = Instant::now();
            let checker = halting.checker().threads(opts.threads.max(1)).symmetry_fn(representative).spawn_dfs();
            finish_halting(checker, props, start, &opts.limits, &halt)
        }
        None => run_halting(halting, props, opts, halt),
    }
}

/// Any model, with a switch that stops it: once `halt` is set it offers no step and no property
/// (a Stateright 0.31 checker is done when every property has a discovery, and its threads drain
/// their queues without expanding a state). What [`crate::world::fast::Fast`] does for itself.
pub struct Halting<M: Model> {
    inner: M,
    inner_properties: Vec<stateright::Property<M>>,
    properties: Vec<stateright::Property<Halting<M>>>,
    halt: Arc<AtomicBool>,
}

/// A property's condition is a plain `fn`: the wrapper's `I`-th property asks the model's `I`-th.
fn condition<M: Model, const I: usize>(h: &Halting<M>, s: &M::State) -> bool {
    (h.inner_properties[I].condition)(&h.inner, s)
}

/// The conditions of the wrapper's properties, by position (more than a model of the catalog
/// has: a family's own, the world's situations and the sentinel).
macro_rules! conditions {
    ($($i:literal)*) => {
        fn conditions<M: Model>() -> Vec<fn(&Halting<M>, &M::State) -> bool> {
            vec![$(condition::<M, $i>),*]
        }
    };
}
conditions!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
            32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63);

impl<M: Model> Halting<M> {
    pub fn new(inner: M) -> Self {
        let inner_properties = inner.properties();
        let conditions = conditions::<M>();
        assert!(inner_properties.len() <= conditions.len(), "a model with more than {} properties", conditions.len());
        let properties = inner_properties
            .iter()
            .zip(conditions)
            .map(|(p, condition)| stateright::Property { expectation: p.expectation.clone(), name: p.name, condition })
            .collect();
        Halting { inner, inner_properties, properties, halt: Arc::new(AtomicBool::new(false)) }
    }
    fn halted(&self) -> bool {
        self.halt.load(Ordering::Relaxed)
    }
}

impl<M: Model> Model for Halting<M> {
    type State = M::State;
    type Action = M::Action;
    fn init_states(&self) -> Vec<M::State> {
        self.inner.init_states()
    }
    fn actions(&self, s: &M::State, actions: &mut Vec<M::Action>) {
        if !self.halted() {
            self.inner.actions(s, actions);
        }
    }
    fn next_state(&self, s: &M::State, action: M::Action) -> Option<M::State> {
        self.inner.next_state(s, action)
    }
    fn properties(&self) -> Vec<stateright::Property<Self>> {
        if self.halted() {
            return Vec::new();
        }
        self.properties.clone()
    }
    fn within_boundary(&self, s: &M::State) -> bool {
        self.inner.within_boundary(s)
    }
}

fn read<M, C>(checker: &C, props: &[PropertyDef], start: Instant, stopped: Option<Stop>) -> Outcome
where
    M: Model,
    M::State: Clone + Debug + Hash + PartialEq,
    M::Action: Clone + Debug + PartialEq,
    C: Checker<M>,
{
    let seconds = start.elapsed().as_secs_f64();
    let mut outcome = Outcome {
        distinct_states: checker.unique_state_count() as u64,
        generated_states: checker.state_count() as u64,
        seconds,
        stopped,
        ..Outcome::default()
    };
    for p in props {
        let found = checker.discovery(p.name).is_some();
        let verdict = if !found && stopped.is_some() { Verdict::Unknown } else { Verdict::of(p.kind, found) };
        outcome.properties.insert(p.name.to_string(), verdict);
    }
    outcome
}

/// Serves Stateright's Explorer for `model` on `addr`; blocks.
pub fn explore<M>(model: M, addr: std::net::SocketAddr)
where
    M: Model + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync,
    M::Action: Clone + Debug + PartialEq + Send + Sync,
{
    model.checker().serve(addr);
}
