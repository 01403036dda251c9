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
    /// The shortest path found to each violation or witness, one line per action.
    #[serde(skip)]
    pub traces: BTreeMap<String, Vec<String>>,
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
    model.property(Expectation::Sometimes, SENTINEL, |_, _| false)
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
        let found = checker.discovery(p.name);
        outcome.properties.insert(p.name.to_string(), Verdict::of(p.kind, found.is_some()));
        if let Some(path) = found {
            let m = checker.model();
            let lines = path.into_actions().iter().map(|a| m.format_action(a)).collect();
            outcome.traces.insert(p.name.to_string(), lines);
        }
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
