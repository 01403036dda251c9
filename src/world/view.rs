//! What a property sees of a world state, and the properties themselves.
//!
//! A world state has two forms that stand for each other one to one: Stateright's
//! `ActorModelState` (the actor model, the oracle, [`WorldModel`]) and the fast path's compact
//! state ([`super::fast`]). A [`View`] reads either without converting it: the actors' states,
//! the messages in flight, the crashed flags and the failure counts, and whether the state is
//! quiescent. A family writes each property once, as a condition on a view, and
//! [`property!`](crate::property) gives it to both models.

use super::fast::{Fast, FastState};
use super::Durable;
use super::handler::{HandlerState, Protocol};
use super::node::{failures_used_of, Node, NodeMsg, NodeState, WorldModel, WorldState};
use super::{broker, store, World};
use crate::core::vocab::{Kind, PropertyDef};
use itertools::Either;
use stateright::actor::{Actor, Envelope, Id, Network, Out};
use stateright::Model;
use std::borrow::Cow;
use std::sync::Arc;

/// A property of a family: its name, kind and one-line meaning, and its condition on a view,
/// as each of the two models evaluates it. Written with [`property!`](crate::property), which
/// takes the condition once.
pub struct Property<P: Protocol> {
    pub name: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
    /// The condition in the actor model.
    pub on_actor: fn(&WorldModel<P>, &WorldState<P>) -> bool,
    /// The same condition in the fast path.
    pub on_fast: fn(&Fast<P>, &FastState<P>) -> bool,
}

impl<P: Protocol> Clone for Property<P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P: Protocol> Copy for Property<P> {}

impl<P: Protocol> Property<P> {
    /// What the catalog knows of the property: name, kind, meaning.
    pub const fn def(&self) -> PropertyDef {
        PropertyDef { name: self.name, kind: self.kind, doc: self.doc }
    }
}

/// A property: `property!("Name", Kind, "one-line meaning", condition)`, the condition a
/// function (or a closure that captures nothing) from `&View<P>` to `bool`.
#[macro_export]
macro_rules! property {
    ($name:expr, $kind:ident, $doc:expr, $cond:expr) => {
        $crate::world::Property {
            name: $name,
            kind: $crate::core::vocab::Kind::$kind,
            doc: $doc,
            on_actor: |m, s| {
                let cond: fn(&$crate::world::View<_>) -> bool = $cond;
                cond(&$crate::world::View::of_actor(m, s))
            },
            on_fast: |m, s| {
                let cond: fn(&$crate::world::View<_>) -> bool = $cond;
                cond(&$crate::world::View::of_fast(m, s))
            },
        }
    };
}

/// The messages in flight, in either form.
#[derive(Clone, Copy)]
enum Net<'a, P: Protocol> {
    Actor(&'a Network<NodeMsg<P>>),
    Fast(&'a [(Envelope<NodeMsg<P>>, u32)]),
}

/// Which actors are down, in either form.
#[derive(Clone, Copy)]
enum Down<'a> {
    Flags(&'a [bool]),
    Bits(u16),
}

/// Read access to a world state, for properties (and for the boundary and quiescence).
pub struct View<'a, P: Protocol> {
    pub world: &'a World<P>,
    nodes: &'a [Node<P>],
    max_crashes: usize,
    actors: &'a [Arc<NodeState<P>>],
    net: Net<'a, P>,
    down: Down<'a>,
    storages: &'a [Option<Durable>],
    /// Some actor has a random choice pending with an option that spends nothing.
    choosing: bool,
    /// The broker offers to expire a lease (which spends a failure).
    expiring: bool,
}

/// A random choice's option spends a failure (a lease's expiry).
fn spends(r: &super::Rand) -> bool {
    matches!(r, super::Rand::Expire { .. })
}

impl<'a, P: Protocol> View<'a, P> {
    /// A state of the actor model.
    pub fn of_actor(model: &'a WorldModel<P>, s: &'a WorldState<P>) -> Self {
        View {
            world: &model.cfg,
            nodes: &model.actors,
            max_crashes: model.max_crashes,
            actors: &s.actor_states,
            net: Net::Actor(&s.network),
            down: Down::Flags(&s.crashed),
            storages: &s.actor_storages,
            choosing: s.random_choices.iter().flat_map(|r| r.map.values().flatten()).any(|r| !spends(r)),
            expiring: s.random_choices.iter().flat_map(|r| r.map.values().flatten()).any(spends),
        }
    }

    /// A state of the fast path.
    pub fn of_fast(model: &'a Fast<P>, s: &'a FastState<P>) -> Self {
        let actor = &model.actor;
        View {
            world: &actor.cfg,
            nodes: &actor.actors,
            max_crashes: actor.max_crashes,
            actors: &s.actors,
            net: Net::Fast(&s.network),
            down: Down::Bits(s.crashed),
            storages: &s.storages[..s.actors.len()],
            choosing: s.random.iter().flat_map(|(_, _, rs)| rs.iter()).any(|r| !spends(r)),
            expiring: s.random.iter().flat_map(|(_, _, rs)| rs.iter()).any(spends),
        }
    }

    /// Actor `i`'s state.
    pub fn actor(&self, i: usize) -> &'a NodeState<P> {
        &self.actors[i]
    }

    /// Actor `i` is down.
    pub fn is_down(&self, i: usize) -> bool {
        match self.down {
            Down::Flags(f) => f[i],
            Down::Bits(b) => b & (1 << i) != 0,
        }
    }

    /// Each distinct message in flight, once however many copies: (source, destination, message).
    pub fn envelopes(&self) -> impl Iterator<Item = (Id, Id, &'a NodeMsg<P>)> + 'a {
        match self.net {
            Net::Actor(n) => Either::Left(n.iter_deliverable().map(|e| (e.src, e.dst, e.msg))),
            Net::Fast(v) => Either::Right(v.iter().map(|(e, _)| (e.src, e.dst, &e.msg))),
        }
    }

    /// The messages in flight.
    pub fn in_flight(&self) -> impl Iterator<Item = &'a NodeMsg<P>> + 'a {
        self.envelopes().map(|(_, _, m)| m)
    }

    pub fn broker(&self) -> &'a broker::BrokerState {
        match self.actor(0) {
            NodeState::Broker(b) => b,
            _ => unreachable!("actor 0 is the broker"),
        }
    }

    pub fn store(&self, i: usize) -> &'a store::StoreState<P::Doc> {
        match self.actor(usize::from(self.world.topology.store(i))) {
            NodeState::Store(s) => s,
            _ => unreachable!("a store's slot holds a store"),
        }
    }

    pub fn outputs(&self) -> &'a [P::Output] {
        match self.actor(usize::from(self.world.topology.downstream())) {
            NodeState::Downstream(v) => v,
            _ => unreachable!("the last slot holds downstream"),
        }
    }

    /// The state of the handler with actor id `id`.
    pub fn handler(&self, id: Id) -> &'a HandlerState<P> {
        match self.actor(usize::from(id)) {
            NodeState::Handler(h) => h,
            _ => unreachable!("{id:?} is not a handler"),
        }
    }

    /// Each handler's state and whether it is down.
    pub fn handlers(&self) -> impl Iterator<Item = (&'a HandlerState<P>, bool)> + '_ {
        self.world.topology.handler_ids().map(|id| (self.handler(id), self.is_down(usize::from(id))))
    }

    /// Every input consumed: nothing left in the queue, nothing leased.
    pub fn input_consumed(&self) -> bool {
        let b = self.broker();
        b.queue.is_empty() && b.leases.iter().all(Option::is_none)
    }

    /// The failures drawn on the budget (None: outside the boundary).
    pub fn failures_used(&self) -> Option<usize> {
        failures_used_of(self.world, self.actors.len(), |i| self.is_down(i), |i| self.actor(i), |i| self.storages[i])
    }

    /// True if some action leads to a state within the boundary: the state is not quiescent. The
    /// properties that speak at quiescence ask this of every state, so it answers without
    /// building the successors (the same answer as trying every action, [`any_successor`];
    /// the quiescence test compares the two on every reachable state of a model file of each
    /// family):
    /// - a pending random choice (a dispatch, a read level, a write's fate, the next effect)
    ///   always has an option within the budget: a dispatch, a read level and a next effect
    ///   spend nothing, and a fate may be `Ok`; a lease's expiry spends a failure, so it is a
    ///   step only if the budget has one left;
    /// - a handler that is down can recover, which spends nothing (its crash, counted while it
    ///   is down, moves to its storage);
    /// - a busy handler that is up can crash if the budget has a failure left;
    /// - a message whose delivery changes its recipient's state or makes it send something is a
    ///   step, and spends nothing (only crashes and fates do).
    pub fn has_successor(&self) -> bool {
        if self.choosing || (0..self.actors.len()).any(|i| self.is_down(i)) {
            return true;
        }
        let world = self.world;
        if self.failures_used().is_some_and(|used| used < world.max_failures as usize) {
            let busy = |id: Id| self.handler(id).is_busy();
            if self.expiring || (self.max_crashes > 0 && world.topology.handler_ids().any(busy)) {
                return true;
            }
        }
        self.envelopes().any(|(src, dst, msg)| {
            let i = usize::from(dst);
            if i >= self.nodes.len() || self.is_down(i) {
                return false;
            }
            let mut next = Cow::Borrowed(self.actor(i));
            let mut out = Out::new();
            self.nodes[i].on_msg(dst, &mut next, src, msg.clone(), &mut out);
            !stateright::actor::is_no_op(&next, &out)
        })
    }

    /// No step is left within the boundary: the run has ended here.
    pub fn quiescent(&self) -> bool {
        !self.has_successor()
    }
}

/// True if some action of any model leads to a state within its boundary, by building every
/// successor (what [`View::has_successor`] answers faster for a world).
pub fn any_successor<M: Model>(model: &M, state: &M::State) -> bool {
    let mut actions = Vec::new();
    model.actions(state, &mut actions);
    actions.into_iter().any(|a| model.next_state(state, a).is_some_and(|next| model.within_boundary(&next)))
}
