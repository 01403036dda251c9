//! The shared world every family is built from (section 1 of the catalog), as Stateright actors.
//!
//! - [`broker`]: the at-least-once input queue. It holds copies of the logical inputs (one copy
//!   of each, plus `DupCount` sender duplicates), leases one copy at a time to an idle handler
//!   (a random choice: competing consumers, any order), and takes a copy back when the handler
//!   nacks it or reconnects after a crash. Options: in-order delivery (`ordered`), and a causal
//!   order of the inputs (`causal`: an input is sent only once the inputs it follows have been
//!   processed, so the broker holds it back until a copy of each of those has been acked).
//! - [`handler`]: a handler runs a family's [`Protocol`] one input at a time. It may crash while
//!   busy (Stateright's `Crash`), and each store write it issues may fail before it applies or
//!   apply and report failure (a random choice drawn when the write is issued).
//! - [`store`]: versioned documents with optimistic concurrency; one document is written
//!   atomically. Stores never crash (their durability is the premise). Option: stale reads
//!   (`stale_keys`: the store keeps the previous committed version of those documents, and a
//!   read at a weak level, [`Effects::get_weak`], may return it; drawn when the read is issued).
//! - [`downstream`]: records every copy of every output message.
//!
//! **The failure budget.** Crashes, failed writes and ambiguous writes draw on one budget per
//! run, `MaxFailures`. A handler keeps the number of failures it has had in its durable
//! storage (Stateright's `Storage`); a crash is counted while the handler is down and added to
//! the storage when it recovers. The model's boundary keeps the sum over all handlers (plus the
//! handlers down right now) within `MaxFailures`, allows only handlers to crash, and only while
//! they are busy (a crash of an idle handler loses nothing). The TLA+ twins leave the
//! out-of-budget actions out, so both checkers explore the same finite, acyclic graph.

pub mod as_tla;
pub mod broker;
pub mod fast;
pub mod handler;
pub mod store;
pub mod symmetry;

use serde::Serialize;
use stateright::actor::{Actor, ActorModel, ActorModelState, Id, Out};
use stateright::Model;
use std::borrow::Cow;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

pub use handler::{Effects, Event, FreshId, HandlerState, Protocol, Served, TlaNames};
use crate::family::{ConstDef, ConstType, Consts};

/// A logical input message, numbered from 1.
pub type Input = u8;

/// A document key in a store.
pub type Key = u8;

/// A document's version: 0 before the first write, one more after each.
pub type Version = u32;

/// How a store write issued by a handler turns out. Drawn when the write is issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Fate {
    /// The write reaches the store and its result is reported.
    Ok,
    /// The write fails before it applies; the handler sees a failure.
    FailBefore,
    /// The write applies (if its version check passes) but the handler sees a failure.
    Ambiguous,
}

/// What a store reports for a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum WriteResult {
    Ok,
    /// The document's version changed since it was read: nothing applied.
    Conflict,
    /// The write failed (it may or may not have applied).
    Failed,
}

/// Every message of the shared world. `D` is the family's document, `O` its output message.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Msg<D, O> {
    /// Broker to handler: a copy of an input.
    Deliver(Input),
    /// Handler to broker: done with the copy.
    Ack(Input),
    /// Handler to broker: give the copy back for redelivery.
    Nack(Input),
    /// Handler to broker, after a crash: the copy it held is to be redelivered.
    Reconnect,
    /// Handler to store. `tag` is the handler's incarnation: replies to an earlier incarnation
    /// are ignored.
    Get { tag: u8, key: Key },
    /// Handler to store: a read at a weak consistency level that returned an older committed
    /// version (see [`store`]: the previous version of a document the store keeps it for).
    GetStale { tag: u8, key: Key },
    Doc { tag: u8, key: Key, version: Version, doc: Arc<D> },
    /// Write `doc` if the version is still `expected` (always, when `expected` is None: a write
    /// with no version check); with `publish`, the store also sends these outputs in the same
    /// atomic step (a transaction spanning state and messages).
    Put { tag: u8, key: Key, doc: Arc<D>, expected: Option<Version>, ambiguous: bool, publish: Vec<O> },
    PutReply { tag: u8, key: Key, result: WriteResult },
    /// Handler to store: a call of an endpoint the store serves (an HTTP server whose state is
    /// the store's documents, [`Protocol::serve`]), request `op` on the document under `key`. The
    /// store answers with `Doc` (the response), or, when `ambiguous` (the response is lost on
    /// the way back), with a failed `PutReply`.
    Call { tag: u8, key: Key, op: Arc<D>, ambiguous: bool },
    /// Store to itself: request `op` on `key`, applied whenever it is delivered (a timer of the
    /// endpoint, such as a retention window's eviction); no reply.
    Later { key: Key, op: Arc<D> },
    /// To downstream.
    Output(O),
}

/// The actors' random choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Rand {
    /// The broker leases a copy of `input` to handler `handler` (an actor index).
    Dispatch { handler: usize, input: Input },
    /// The fate of the write a handler is issuing.
    Fate(Fate),
    /// Whether a read at a weak consistency level returns an older committed version.
    Read { stale: bool },
}

/// Where each actor sits: broker, handlers, stores, downstream, in this order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Topology {
    pub handlers: usize,
    pub stores: usize,
}

impl Topology {
    pub fn broker() -> Id {
        Id::from(0)
    }
    /// Handler `i` (from 0); handlers come right after the broker.
    pub fn handler(i: usize) -> Id {
        Id::from(1 + i)
    }
    pub fn handler_ids(&self) -> impl Iterator<Item = Id> + '_ {
        (0..self.handlers).map(Topology::handler)
    }
    pub fn is_handler(&self, id: Id) -> bool {
        let i = usize::from(id);
        i >= 1 && i <= self.handlers
    }
    pub fn handler_index(&self, id: Id) -> usize {
        usize::from(id) - 1
    }
    pub fn store(&self, i: usize) -> Id {
        Id::from(1 + self.handlers + i)
    }
    pub fn downstream(&self) -> Id {
        Id::from(1 + self.handlers + self.stores)
    }
    pub fn actor_count(&self) -> usize {
        2 + self.handlers + self.stores
    }
}

/// What the model's boundary and the actors need to know: the world's sizes and bounds.
#[derive(Clone, Debug)]
pub struct World<P> {
    pub protocol: P,
    pub topology: Topology,
    /// Copies the broker starts with, one entry per copy, sorted.
    pub copies: Vec<Input>,
    pub inputs: u8,
    pub max_failures: u8,
    /// The handlers' names (the model values of `Handlers`, sorted), for traces.
    pub handler_names: Vec<String>,
    /// The broker hands out copies in input order (only the lowest queued input that has been
    /// sent is offered).
    pub ordered: bool,
    /// The causal order of the inputs: `(a, b)` means `b` is sent only once `a` has been
    /// processed (a copy of `a` acked); until then no copy of `b` is offered.
    pub causal: Vec<(Input, Input)>,
    /// Keys whose documents the store keeps the previous committed version of, so that a read at
    /// a weak consistency level ([`Effects::get_weak`]) may return it (empty: none).
    pub stale_keys: Vec<Key>,
    /// Jobs and the handlers that run them (empty: none): the broker offers an input in `jobs`
    /// (a relay's poll, say) only to a handler in `relays`, and other inputs only to the others.
    pub relays: Vec<usize>,
    pub jobs: Vec<Input>,
}

impl<P> World<P> {
    /// The orders in which a run could process each input exactly once: the permutations of the
    /// inputs with `a` before `b` for each `(a, b)` in `causal`.
    pub fn exactly_once_orders(&self) -> Vec<Vec<Input>> {
        fn extend(n: u8, causal: &[(Input, Input)], prefix: &mut Vec<Input>, out: &mut Vec<Vec<Input>>) {
            if prefix.len() == n as usize {
                out.push(prefix.clone());
                return;
            }
            for m in 1..=n {
                let ready = causal.iter().all(|&(a, b)| b != m || prefix.contains(&a));
                if !prefix.contains(&m) && ready {
                    prefix.push(m);
                    extend(n, causal, prefix, out);
                    prefix.pop();
                }
            }
        }
        let mut out = Vec::new();
        extend(self.inputs, &self.causal, &mut Vec::new(), &mut out);
        out
    }
}

/// The actors. One enum so that a family's whole system is one Stateright `Actor` type.
#[derive(Clone, Debug)]
pub enum Node<P: Protocol> {
    Broker(broker::Broker),
    Handler(handler::Handler<P>),
    Store(store::Store<P>),
    Downstream,
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
    type Storage = u8;

    fn on_start(&self, id: Id, storage: &Option<u8>, o: &mut Out<Self>) -> Self::State {
        match self {
            Node::Broker(b) => NodeState::Broker(b.on_start(o)),
            Node::Handler(h) => NodeState::Handler(h.on_start(storage, o)),
            Node::Store(s) => NodeState::Store(s.on_start()),
            Node::Downstream => {
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
            (Node::Downstream, NodeState::Downstream(received)) => {
                if let Msg::Output(out) = msg {
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
        .actor(Node::Downstream)
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
/// storage (for the fast path's compact states, [`fast`]).
pub fn within_budget_of<'a, P: Protocol>(
    world: &World<P>,
    actors: usize,
    crashed: impl Fn(usize) -> bool,
    state: impl Fn(usize) -> &'a NodeState<P>,
    storage: impl Fn(usize) -> Option<u8>,
) -> bool {
    fits(world, failures_used_of(world, actors, crashed, state, storage))
}

/// The failures a state has drawn on the budget: those in the handlers' storage plus the handlers
/// down right now. None if an actor other than a busy handler is down (outside the boundary).
fn failures_used<P: Protocol>(world: &World<P>, state: &WorldState<P>) -> Option<usize> {
    failures_used_of(world, state.crashed.len(), |i| state.crashed[i], |i| &state.actor_states[i], |i| state.actor_storages[i])
}

fn failures_used_of<'a, P: Protocol>(
    world: &World<P>,
    actors: usize,
    crashed: impl Fn(usize) -> bool,
    state: impl Fn(usize) -> &'a NodeState<P>,
    storage: impl Fn(usize) -> Option<u8>,
) -> Option<usize> {
    let topo = &world.topology;
    let mut used = 0usize;
    for i in 0..actors {
        if crashed(i) {
            if !topo.is_handler(Id::from(i)) {
                return None;
            }
            match state(i) {
                NodeState::Handler(h) if h.is_busy() => used += 1,
                _ => return None,
            }
        }
        if let Some(n) = storage(i) {
            used += n as usize;
        }
    }
    Some(used)
}

/// True if some action leads to a state within the boundary: the state is not quiescent. The
/// properties that speak at quiescence ask this of every state, so it answers without building
/// the successors (the same answer as trying every action, [`any_successor`]; tests/quiescence.rs
/// compares the two on every reachable state of a model file of each family):
/// - a pending random choice (a dispatch, a read level, a write's fate) always has an option
///   within the budget: a dispatch and a read level spend nothing, and a fate may be `Ok`;
/// - a handler that is down can recover, which spends nothing (its crash, counted while it is
///   down, moves to its storage);
/// - a busy handler that is up can crash if the budget has a failure left;
/// - a message whose delivery changes its recipient's state or makes it send something is a
///   step, and spends nothing (only crashes and fates do).
pub fn has_successor<P: Protocol>(model: &WorldModel<P>, state: &WorldState<P>) -> bool {
    if state.random_choices.iter().any(|r| !r.map.is_empty()) || state.crashed.iter().any(|c| *c) {
        return true;
    }
    let world = &model.cfg;
    if failures_used(world, state).is_some_and(|used| used < world.max_failures as usize) && model.max_crashes > 0 {
        let busy = |id: Id| matches!(&*state.actor_states[usize::from(id)], NodeState::Handler(h) if h.is_busy());
        if world.topology.handler_ids().any(busy) {
            return true;
        }
    }
    state.network.iter_deliverable().any(|env| {
        let i = usize::from(env.dst);
        if i >= model.actors.len() || state.crashed[i] {
            return false;
        }
        let mut next = Cow::Borrowed(&*state.actor_states[i]);
        let mut out = Out::new();
        model.actors[i].on_msg(env.dst, &mut next, env.src, env.msg.clone(), &mut out);
        !stateright::actor::is_no_op(&next, &out)
    })
}

/// True if some action of any model leads to a state within its boundary, by building every
/// successor (what [`has_successor`] answers faster for a world).
pub fn any_successor<M: Model>(model: &M, state: &M::State) -> bool {
    let mut actions = Vec::new();
    model.actions(state, &mut actions);
    actions
        .into_iter()
        .any(|a| model.next_state(state, a).is_some_and(|next| model.within_boundary(&next)))
}

/// Read access to a world state, for properties.
pub struct View<'a, P: Protocol> {
    pub world: &'a World<P>,
    pub state: &'a WorldState<P>,
}

impl<'a, P: Protocol> View<'a, P> {
    pub fn new(model: &'a WorldModel<P>, state: &'a WorldState<P>) -> Self {
        View { world: &model.cfg, state }
    }
    pub fn broker(&self) -> &'a broker::BrokerState {
        match &*self.state.actor_states[0] {
            NodeState::Broker(b) => b,
            _ => unreachable!(),
        }
    }
    pub fn store(&self, i: usize) -> &'a store::StoreState<P::Doc> {
        match &*self.state.actor_states[usize::from(self.world.topology.store(i))] {
            NodeState::Store(s) => s,
            _ => unreachable!(),
        }
    }
    pub fn outputs(&self) -> &'a [P::Output] {
        match &*self.state.actor_states[usize::from(self.world.topology.downstream())] {
            NodeState::Downstream(v) => v,
            _ => unreachable!(),
        }
    }
    /// Each handler's state and whether it is down.
    pub fn handlers(&self) -> impl Iterator<Item = (&'a HandlerState<P>, bool)> + '_ {
        self.world.topology.handler_ids().map(|id| {
            let i = usize::from(id);
            match &*self.state.actor_states[i] {
                NodeState::Handler(h) => (h, self.state.crashed[i]),
                _ => unreachable!(),
            }
        })
    }
    /// The messages in flight.
    pub fn in_flight(&self) -> impl Iterator<Item = &'a NodeMsg<P>> + 'a {
        self.state.network.iter_deliverable().map(|e| e.msg)
    }
    /// Every input consumed: nothing left in the queue, nothing leased.
    pub fn input_consumed(&self) -> bool {
        let b = self.broker();
        b.queue.is_empty() && b.leases.iter().all(Option::is_none)
    }
}

/// The constants every family of the shared world has.
pub const WORLD_CONSTANTS: &[ConstDef] = &[
    ConstDef { name: "Msgs", ty: ConstType::Int { min: 1, max: 6 }, doc: "logical input messages, numbered 1..Msgs" },
    ConstDef { name: "Handlers", ty: ConstType::ModelValues { max: 4 }, doc: "competing handlers, as model values" },
    ConstDef { name: "DupCount", ty: ConstType::Int { min: 0, max: 6 }, doc: "sender duplicates: extra copies, given to inputs 1, 2, ... in turn" },
    ConstDef { name: "MaxFailures", ty: ConstType::Int { min: 0, max: 6 }, doc: "crashes, failed and ambiguous writes per run, all together" },
    ConstDef { name: "Variant", ty: ConstType::Variant, doc: "the variant of the algorithm" },
];

/// The shared world of a model file's constants.
pub fn world<P: Protocol>(protocol: P, consts: &Consts, stores: usize) -> World<P> {
    let inputs = consts.int("Msgs") as u8;
    let mut copies: Vec<Input> = (1..=inputs).collect();
    for d in 0..consts.int("DupCount") as u8 {
        copies.push(d % inputs + 1);
    }
    copies.sort();
    World {
        protocol,
        topology: Topology { handlers: consts.set_len("Handlers"), stores },
        copies,
        inputs,
        max_failures: consts.int("MaxFailures") as u8,
        handler_names: match consts.0.get("Handlers") {
            Some(crate::cfg::Value::Set(items)) => items.iter().map(|v| v.to_string()).collect(),
            _ => Vec::new(),
        },
        ordered: false,
        causal: Vec::new(),
        stale_keys: Vec::new(),
        relays: Vec::new(),
        jobs: Vec::new(),
    }
}


impl<P: Protocol> World<P> {
    /// An actor's name in traces: broker, the handlers' model values, store(s), downstream.
    pub fn actor_name(&self, id: Id) -> String {
        let i = usize::from(id);
        let t = &self.topology;
        if i == 0 {
            "broker".into()
        } else if t.is_handler(id) {
            self.handler_names.get(i - 1).cloned().unwrap_or_else(|| format!("h{i}"))
        } else if i < 1 + t.handlers + t.stores {
            if t.stores == 1 { "store".into() } else { format!("store{}", i - t.handlers) }
        } else {
            "downstream".into()
        }
    }
}

/// A world state as JSON, for traces: each actor's state by name (handlers with their crashed
/// flag and failure count), and the messages in flight with their copies.
pub fn state_json<P: Protocol>(world: &World<P>, s: &WorldState<P>) -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let mut handlers = Map::new();
    let mut stores = Map::new();
    let mut out = Map::new();
    for (i, st) in s.actor_states.iter().enumerate() {
        let id = Id::from(i);
        let name = world.actor_name(id);
        match &**st {
            NodeState::Broker(b) => {
                out.insert("broker".into(), serde_json::to_value(b).unwrap_or(Value::Null));
            }
            NodeState::Handler(h) => {
                let mut v = serde_json::to_value(h).unwrap_or(Value::Null);
                v["crashed"] = json!(s.crashed[i]);
                v["failures"] = json!(s.actor_storages[i]);
                handlers.insert(name, v);
            }
            NodeState::Store(d) => {
                stores.insert(name, serde_json::to_value(d).unwrap_or(Value::Null));
            }
            NodeState::Downstream(received) => {
                out.insert("downstream".into(), serde_json::to_value(received).unwrap_or(Value::Null));
            }
        }
    }
    out.insert("handlers".into(), Value::Object(handlers));
    for (k, v) in stores {
        out.insert(k, v);
    }
    let mut network: Vec<Value> = match &s.network {
        stateright::actor::Network::UnorderedNonDuplicating(map) => map
            .iter()
            .map(|(e, copies)| {
                json!({
                    "src": world.actor_name(e.src),
                    "dst": world.actor_name(e.dst),
                    "msg": serde_json::to_value(&e.msg).unwrap_or(Value::Null),
                    "copies": copies,
                })
            })
            .collect(),
        other => other
            .iter_all()
            .map(|e| json!({"src": world.actor_name(e.src), "dst": world.actor_name(e.dst), "msg": serde_json::to_value(e.msg).unwrap_or(Value::Null)}))
            .collect(),
    };
    network.sort_by_key(|v| v.to_string());
    out.insert("network".into(), Value::Array(network));
    Value::Object(out)
}
