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
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { threads: 1, dfs: false }
    }
}

/// What one checker found for one model file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    pub properties: BTreeMap<String, Verdict>,
    pub distinct_states: u64,
    pub generated_states: u64,
    pub seconds: f64,
    /// The length in steps of the counterexample (or witness) each discovered property got,
    /// where the checker reports one.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub counterexample_steps: BTreeMap<String, usize>,
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
/// property's discovery with every later one while it keeps exploring.
pub fn shortest_trace<M>(model: M, prop: &PropertyDef, cond: Cond<M>) -> Option<Vec<String>>
where
    M: Model + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync,
    M::Action: Clone + Debug + PartialEq + Send + Sync,
{
    let want_true = prop.kind == Kind::Sometimes;
    let found = std::sync::Arc::new(std::sync::Mutex::new(None));
    let visitor = FirstDiscovery::<M> { discovered: Box::new(move |m, s| cond(m, s) == want_true), found: found.clone() };
    let checker = model.checker().threads(1).visitor(visitor).spawn_bfs().join();
    let actions = found.lock().unwrap().take()?;
    Some(actions.iter().map(|a| checker.model().format_action(a)).collect())
}

/// Explores the whole state space of `model` (which carries the sentinel) and reads the verdicts.
pub fn run<M>(model: M, props: &[PropertyDef], opts: &RunOptions) -> Outcome
where
    M: Model + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync,
    M::Action: Clone + Debug + PartialEq + Send + Sync,
{
    let start = Instant::now();
    let builder = model.checker().threads(opts.threads.max(1));
    if opts.dfs {
        read(builder.spawn_dfs().join(), props, start)
    } else {
        read(builder.spawn_bfs().join(), props, start)
    }
}

fn read<M, C>(checker: C, props: &[PropertyDef], start: Instant) -> Outcome
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
        ..Outcome::default()
    };
    for p in props {
        let found = checker.discovery(p.name).is_some();
        outcome.properties.insert(p.name.to_string(), Verdict::of(p.kind, found));
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
