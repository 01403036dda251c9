//! The shared world every family is built from (section 1 of the catalog), as Stateright actors.
//!
//! - [`broker`]: the at-least-once input queue. It holds copies of the logical inputs (one copy
//!   of each, plus `DupCount` sender duplicates), leases one copy at a time to an idle handler
//!   (a random choice: competing consumers, any order), and takes a copy back when the handler
//!   nacks it or reconnects after a crash, or when the lease expires (a random choice that
//!   spends a failure; the handler is not told). Options: in-order delivery (`ordered`), and a causal
//!   order of the inputs (`causal`: an input is sent only once the inputs it follows have been
//!   processed, so the broker holds it back until a copy of each of those has been acked).
//! - [`handler`]: a handler runs a family's [`Protocol`] one input at a time, and carries out the
//!   effects of each step one at a time (when failures are possible). It may crash while busy
//!   (Stateright's `Crash`), between any two effects too, and each store write it issues may fail
//!   before it applies or time out and apply later (a random choice drawn when the write is
//!   issued).
//! - [`store`]: versioned documents with optimistic concurrency; one document is written
//!   atomically. Stores never crash (their durability is the premise). Option: stale reads
//!   (`stale_keys`: the store keeps the previous committed version of those documents, and a
//!   read at a weak level, [`Effects::get_weak`], may return it; drawn when the read is issued).
//! - [`downstream`]: records every copy of every output message; a family's downstream may also
//!   send the store a request for each copy ([`Protocol::consume`], e.g. token's use of a token).
//!
//! **The failure budget.** Crashes, failed writes, timed-out writes and expired leases draw on
//! one budget per run, `MaxFailures`. A handler keeps the number of failures it has had in its
//! durable storage (Stateright's `Storage`); a crash is counted while the handler is down and
//! added to the storage when it recovers; the broker counts the expiries. The model's boundary
//! keeps the sum (plus the handlers down right now) within `MaxFailures`, allows only handlers to crash, and only while
//! they are busy (a crash of an idle handler loses nothing). The TLA+ twins leave the
//! out-of-budget actions out, so both checkers explore the same finite, acyclic graph.

pub mod as_tla;
pub mod broker;
pub mod fast;
pub mod handler;
pub mod json;
pub mod node;
pub mod store;
pub mod symmetry;
pub mod view;

use serde::Serialize;
use stateright::actor::Id;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

pub use as_tla::TlaMap;
pub use handler::{Effects, Event, FreshId, HandlerState, MsgId, Protocol, Served, TlaNames};
use crate::core::vocab::{ConstDef, ConstType, Consts};
pub use node::{build, within_budget, Durable, Node, NodeMsg, NodeState, WorldModel, WorldState};
pub use view::{Property, View};

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
    /// The write times out: the handler is told it failed at once, while the write is still on
    /// its way; it applies (version check included) whenever it reaches the store, after the
    /// handler has moved on, and no one hears of it.
    Timeout,
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
    /// Broker to handler: a copy of an input, with its delivery number `n` (a delivery tag, a
    /// receipt handle: the number of lease expiries before its dispatch).
    Deliver { input: Input, n: u8 },
    /// Handler to broker: done with the copy of delivery `n`.
    Ack { input: Input, n: u8 },
    /// Handler to broker: give the copy of delivery `n` back for redelivery.
    Nack { input: Input, n: u8 },
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
    /// `late`: the write timed out (its writer was told it failed) and the store does not answer.
    Put { tag: u8, key: Key, doc: Arc<D>, expected: Option<Version>, late: bool, publish: Vec<O> },
    PutReply { tag: u8, key: Key, result: WriteResult },
    /// Handler to store: a call of an endpoint the store serves (an HTTP server whose state is
    /// the store's documents, [`Protocol::serve`]), request `op` on the document under `key`. The
    /// store answers with `Doc` (the response), or not at all when `late` (the call timed out:
    /// its caller was told it failed, and the request reaches the server later).
    Call { tag: u8, key: Key, op: Arc<D>, late: bool },
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
    /// A handler carries out the next effect of its last step (a crash may come first).
    Next,
    /// The broker takes back the copy leased to handler `handler` (an actor index): its lease
    /// expired, or its ack was lost. Draws on the failure budget.
    Expire { handler: usize },
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
    /// The index of the store `id` is, if it is one.
    pub fn store_index(&self, id: Id) -> Option<usize> {
        usize::from(id).checked_sub(1 + self.handlers).filter(|i| *i < self.stores)
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

/// The constants every family of the shared world has.
pub const WORLD_CONSTANTS: &[ConstDef] = &[
    ConstDef { name: "Msgs", ty: ConstType::Int { min: 1, max: 6 }, doc: "logical input messages, numbered 1..Msgs" },
    ConstDef { name: "Handlers", ty: ConstType::ModelValues { max: 4 }, doc: "competing handlers, as model values" },
    ConstDef { name: "DupCount", ty: ConstType::Int { min: 0, max: 6 }, doc: "sender duplicates: extra copies, given to inputs 1, 2, ... in turn" },
    ConstDef { name: "MaxFailures", ty: ConstType::Int { min: 0, max: 6 }, doc: "crashes, failed and timed-out writes and expired leases per run, all together" },
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
            Some(crate::core::cfg::Value::Set(items)) => items.iter().map(|v| v.to_string()).collect(),
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

