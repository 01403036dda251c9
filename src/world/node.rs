//! The actors of the world as one Stateright `Actor` type, the actor model they make, and the
//! failure budget that bounds it (see the [module documentation](super)).

use super::handler::{self, HandlerState, Protocol};
use super::{broker, store, Msg, Rand, World};
use stateright::actor::{Actor, ActorModel, ActorModelState, Id, Out};
use serde::Serialize;
use std::borrow::Cow;

/// What a handler keeps across crashes (its Stateright storage): the failures it has drawn on
/// the budget (its incarnation), and how many of them were writes that failed before applying.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Durable {
    pub failures: u8,
    pub failed_writes: u8,
}

/// The actors. One enum so that a family's whole system is one Stateright `Actor` type.
#[derive(Clone, Debug)]
pub enum Node<P: Protocol> {
    Broker(broker::Broker),
    Handler(handler::Handler<P>),
    Store(store::Store<P>),
    /// Downstream, and the store it sends its requests to ([`Protocol::consume`]).
    Downstream { store: Id },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum NodeState<P: Protocol> {
    Broker(broker::BrokerState),
    Handler(HandlerState<P>),
    Store(store::StoreState<P::Doc>),
    /// Every copy of every output received, sorted.
    Downstream(Vec<P::Output>),
}

pub type NodeMsg<P> = Msg<<P as Protocol>::Doc, <P as Protocol>::Output>;

impl<P: Protocol> Actor for Node<P> {
    type Msg = NodeMsg<P>;
    type State = NodeState<P>;
    type Timer = ();
    type Random = Rand;
    /// Handlers keep the number of failures they have had.
    type Storage = Durable;

    fn on_start(&self, id: Id, storage: &Option<Durable>, o: &mut Out<Self>) -> Self::State {
        match self {
            Node::Broker(b) => NodeState::Broker(b.on_start(o)),
            Node::Handler(h) => NodeState::Handler(h.on_start(storage, o)),
            Node::Store(s) => NodeState::Store(s.on_start()),
            Node::Downstream { .. } => {
                let _ = id;
                NodeState::Downstream(Vec::new())
            }
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<Self::State>, src: Id, msg: Self::Msg, o: &mut Out<Self>) {
        match (self, &**state) {
            (Node::Broker(b), NodeState::Broker(s)) => {
                if let Some(next) = b.on_msg(s, src, msg, o) {
                    *state.to_mut() = NodeState::Broker(next);
                }
            }
            (Node::Handler(h), NodeState::Handler(s)) => {
                if let Some(next) = h.on_msg(id, s, msg, o) {
                    *state.to_mut() = NodeState::Handler(next);
                }
            }
            (Node::Store(st), NodeState::Store(s)) => {
                if let Some(next) = st.on_msg(id, s, src, msg, o) {
                    *state.to_mut() = NodeState::Store(next);
                }
            }
            (Node::Downstream { store }, NodeState::Downstream(received)) => {
                if let Msg::Output(out) = msg {
                    if let Some((key, op)) = P::consume(&out) {
                        o.send(*store, Msg::Later { key, op: std::sync::Arc::new(op) });
                    }
                    let mut next = received.clone();
                    let at = next.partition_point(|x| *x <= out);
                    next.insert(at, out);
                    *state.to_mut() = NodeState::Downstream(next);
                }
            }
            _ => unreachable!("an actor's state always matches its kind"),
        }
    }

    fn on_random(&self, id: Id, state: &mut Cow<Self::State>, random: &Rand, o: &mut Out<Self>) {
        match (self, &**state) {
            (Node::Broker(b), NodeState::Broker(s)) => {
                *state.to_mut() = NodeState::Broker(b.on_random(s, random, o));
            }
            (Node::Handler(h), NodeState::Handler(s)) => {
                *state.to_mut() = NodeState::Handler(h.on_random(id, s, random, o));
            }
            _ => unreachable!("only the broker and handlers make random choices"),
        }
    }
}

/// The Stateright model of a family: its actors over an unordered, non-duplicating network.
pub type WorldModel<P> = ActorModel<Node<P>, World<P>, ()>;
pub type WorldState<P> = ActorModelState<Node<P>, ()>;

/// Builds the actor system of `world`: broker, handlers, stores, downstream.
pub fn build<P: Protocol>(world: World<P>) -> WorldModel<P> {
    let topo = world.topology.clone();
    let broker = broker::Broker {
        handlers: topo.handlers,
        copies: world.copies.clone(),
        ordered: world.ordered,
        causal: world.causal.clone(),
        relays: world.relays.clone(),
        jobs: world.jobs.clone(),
        expiry: world.max_failures > 0,
    };
    let mut model = ActorModel::new(world.clone(), ())
        .actor(Node::Broker(broker))
        .actors((0..topo.handlers).map(|_| {
            Node::Handler(handler::Handler {
                protocol: world.protocol.clone(),
                topology: topo.clone(),
                failures_enabled: world.max_failures > 0,
            })
        }))
        .actors((0..topo.stores).map(|_| {
            Node::Store(store::Store::new(topo.downstream()).keeping_previous(&world.stale_keys).serving(world.protocol.clone()))
        }))
        .actor(Node::Downstream { store: topo.store(0) })
        .init_network(stateright::actor::Network::new_unordered_nonduplicating([]))
        .max_crashes(topo.handlers)
        .within_boundary(within_budget::<P>);
    model.max_crashes = topo.handlers;
    model
}

/// The failure budget (see the module documentation).
pub fn within_budget<P: Protocol>(world: &World<P>, state: &WorldState<P>) -> bool {
    fits(world, failures_used(world, state))
}

/// The failures used fit the budget (None: outside the boundary anyway).
fn fits<P: Protocol>(world: &World<P>, used: Option<usize>) -> bool {
    used.is_some_and(|used| used <= world.max_failures as usize)
}

/// [`within_budget`] of a state given by accessors: whether actor `i` is down, its state, and its
/// storage (for the fast path's compact states, [`super::fast`]).
pub fn within_budget_of<'a, P: Protocol>(
    world: &World<P>,
    actors: usize,
    crashed: impl Fn(usize) -> bool,
    state: impl Fn(usize) -> &'a NodeState<P>,
    storage: impl Fn(usize) -> Option<Durable>,
) -> bool {
    fits(world, failures_used_of(world, actors, crashed, state, storage))
}

/// The failures a state has drawn on the budget: those in the handlers' storage plus the handlers
/// down right now. None if an actor other than a busy handler is down (outside the boundary).
fn failures_used<P: Protocol>(world: &World<P>, state: &WorldState<P>) -> Option<usize> {
    failures_used_of(world, state.crashed.len(), |i| state.crashed[i], |i| &state.actor_states[i], |i| state.actor_storages[i])
}

pub(super) fn failures_used_of<'a, P: Protocol>(
    world: &World<P>,
    actors: usize,
    crashed: impl Fn(usize) -> bool,
    state: impl Fn(usize) -> &'a NodeState<P>,
    storage: impl Fn(usize) -> Option<Durable>,
) -> Option<usize> {
    let topo = &world.topology;
    let mut used = 0usize;
    for i in 0..actors {
        if let NodeState::Broker(b) = state(i) {
            used += b.expired as usize;
        }
        if crashed(i) {
            if !topo.is_handler(Id::from(i)) {
                return None;
            }
            match state(i) {
                NodeState::Handler(h) if h.is_busy() => used += 1,
                _ => return None,
            }
        }
        if let Some(d) = storage(i) {
            used += d.failures as usize;
        }
    }
    Some(used)
}

