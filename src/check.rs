//! Runs a family's Stateright model and reads its verdicts and state counts.

use crate::family::{Kind, PropertyDef, Verdict};
use serde::Serialize;
use stateright::{Checker, Expectation, Model};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub threads: usize,
    pub dfs: bool,
    pub limits: Limits,
    /// Run Stateright's actor model itself, not the fast path that mirrors it
    /// ([`crate::actors::fast`]: the same states and counts, faster).
    pub actor_model: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { threads: 1, dfs: false, limits: Limits::default(), actor_model: false }
    }
}

/// Where a run may stop before it has explored everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// Stop once about this many states have been found.
    pub max_states: Option<u64>,
    /// Stop after this long.
    pub timeout: Option<std::time::Duration>,
}

/// Why a run stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    StateLimit,
    TimeLimit,
    Interrupted,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stop::StateLimit => "stopped at the state limit (--max-states)",
            Stop::TimeLimit => "stopped at the time limit (--timeout)",
            Stop::Interrupted => "interrupted",
        })
    }
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Asks every run in progress to stop (the Ctrl-C handler calls this).
pub fn interrupt() {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// What one checker found for one model file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    pub properties: BTreeMap<String, Verdict>,
    pub distinct_states: u64,
    pub generated_states: u64,
    pub seconds: f64,
    /// Set when the run stopped before exploring everything; undecided properties are then
    /// `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Stop>,
    /// The length in steps of the counterexample (or witness) each discovered property got,
    /// where the checker reports one.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub counterexample_steps: BTreeMap<String, usize>,
    /// TLC only: the output reporting each discovered property (its violation and trace), for
    /// [`crate::tlc::parse_trace_states`].
    #[serde(skip)]
    pub tlc_traces: BTreeMap<String, String>,
}

/// A property condition of model `M`.
pub type Cond<M> = fn(&M, &<M as Model>::State) -> bool;

/// The name of the property that is never discovered, so that every run explores the whole
/// state space and its counts are complete.
pub const SENTINEL: &str = "(complete exploration)";

/// Registers `props` on an actor model, taking each condition from `table`.
pub fn register<A, C, H>(
    mut model: stateright::actor::ActorModel<A, C, H>,
    props: &[PropertyDef],
    table: &[(&'static str, Cond<stateright::actor::ActorModel<A, C, H>>)],
) -> stateright::actor::ActorModel<A, C, H>
where
    A: stateright::actor::Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash,
{
    for p in props {
        let cond = table
            .iter()
            .find(|(n, _)| *n == p.name)
            .unwrap_or_else(|| panic!("property {} has no condition", p.name))
            .1;
        let expectation = match p.kind {
            Kind::Invariant | Kind::Liveness => Expectation::Always,
            Kind::Sometimes => Expectation::Sometimes,
        };
        model = model.property(expectation, p.name, cond);
    }
    model
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

/// Records the first visited path (breadth-first order: the shortest) to a state where
/// `discovered` holds.
struct FirstDiscovery<M: Model> {
    discovered: Box<dyn Fn(&M, &M::State) -> bool + Send + Sync>,
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

/// The shortest path to a violation (or witness) of `prop`, the only property `model` carries:
/// breadth-first, one thread, recorded by a visitor because Stateright 0.31 replaces a
/// property's discovery with every later one while it keeps exploring. Each step comes with the
/// state after it, as JSON.
pub fn shortest_trace<P: crate::actors::Protocol>(
    model: crate::actors::WorldModel<P>,
    prop: &PropertyDef,
    cond: Cond<crate::actors::WorldModel<P>>,
) -> Option<Vec<crate::trace::Step>> {
    let (m, path) = shortest_path(model, prop, cond)?;
    // The Explorer's path: the initial state's index, then each action's index.
    let encoded = path.encode(&m);
    let mut pairs = Vec::new();
    let mut action = "Initial".to_string();
    for (state, next) in path.into_vec() {
        pairs.push((action, crate::actors::state_json(&m.cfg, &state)));
        action = next.map_or_else(String::new, |a| m.format_action(&a));
    }
    let mut steps = crate::trace::steps(pairs);
    for (step, index) in steps.iter_mut().zip(encoded.split('/')) {
        step.action_index = index.parse().ok();
    }
    Some(steps)
}

/// The shortest path (breadth-first, one thread) to a state where `prop` is violated (or, for a
/// non-vacuity check, witnessed), with the model it was found in.
pub fn shortest_path<P: crate::actors::Protocol>(
    model: crate::actors::WorldModel<P>,
    prop: &PropertyDef,
    cond: Cond<crate::actors::WorldModel<P>>,
) -> Option<(crate::actors::WorldModel<P>, stateright::Path<crate::actors::WorldState<P>, <crate::actors::WorldModel<P> as Model>::Action>)> {
    type M<P> = crate::actors::WorldModel<P>;
    let want_true = prop.kind == Kind::Sometimes;
    let found = std::sync::Arc::new(std::sync::Mutex::new(None));
    let visitor = FirstDiscovery::<M<P>> { discovered: Box::new(move |m, s| cond(m, s) == want_true), found: found.clone() };
    let checker = model.checker().threads(1).visitor(visitor).spawn_bfs().join();
    let actions = found.lock().unwrap().take()?;
    let m = checker.model();
    let path = stateright::Path::from_actions(m, m.init_states().into_iter().next()?, actions.iter())?;
    Some((m.clone(), path))
}

/// Explores the whole state space of `model` (which carries the sentinel) and reads the verdicts.
pub fn run<M>(model: M, props: &[PropertyDef], opts: &RunOptions) -> Outcome
where
    M: Model + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync,
    M::Action: Clone + Debug + PartialEq + Send + Sync,
{
    run_reduced(model, props, opts, None)
}

/// [`run`], with symmetry reduction when `symmetry` gives a representative function: then
/// depth-first (Stateright 0.31 reduces only depth-first and simulation runs), and the counts
/// are those of the representatives.
pub fn run_reduced<M>(model: M, props: &[PropertyDef], opts: &RunOptions, symmetry: Option<fn(&M::State) -> M::State>) -> Outcome
where
    M: Model + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync,
    M::Action: Clone + Debug + PartialEq + Send + Sync,
{
    let start = Instant::now();
    let mut builder = model.checker().threads(opts.threads.max(1));
    if let Some(n) = opts.limits.max_states {
        builder = builder.target_state_count(n.max(1) as usize);
    }
    if let Some(t) = opts.limits.timeout {
        builder = builder.timeout(t);
    }
    if let Some(representative) = symmetry {
        finish(builder.symmetry_fn(representative).spawn_dfs(), props, start, &opts.limits)
    } else if opts.dfs {
        finish(builder.spawn_dfs(), props, start, &opts.limits)
    } else {
        finish(builder.spawn_bfs(), props, start, &opts.limits)
    }
}

/// Waits for a spawned checker, or stops waiting on Ctrl-C, and reads its verdicts.
fn finish<M, C>(checker: C, props: &[PropertyDef], start: Instant, limits: &Limits) -> Outcome
where
    M: Model,
    M::State: Clone + Debug + Hash + PartialEq,
    M::Action: Clone + Debug + PartialEq,
    C: Checker<M>,
{
    let state_limit = |c: &C| limits.max_states.is_some_and(|n| c.state_count() as u64 >= n);
    while !checker.is_done() && !state_limit(&checker) {
        if interrupted() {
            // The checker's threads end with the process.
            return read(&checker, props, start, Some(Stop::Interrupted));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let checker = checker.join();
    let stop = if state_limit(&checker) {
        Some(Stop::StateLimit)
    } else if limits.timeout.is_some_and(|t| start.elapsed() >= t) {
        Some(Stop::TimeLimit)
    } else if interrupted() {
        Some(Stop::Interrupted)
    } else {
        None
    };
    read(&checker, props, start, stop)
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
