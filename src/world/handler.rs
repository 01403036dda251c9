//! A handler: runs a family's [`Protocol`] on one input at a time, talking to the broker, the
//! stores and downstream, with the failure plumbing every family shares.

use super::{Durable, Fate, Input, Key, Msg, Node, Rand, Topology, Version, WriteResult};
use serde::Serialize;
use stateright::actor::{Id, Out};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

/// A family's handler logic: what to do on each event. It never sees crashes, tags or fates.
pub trait Protocol: Clone + Debug + PartialEq + Eq + Hash + Serialize + Send + Sync + 'static {
    type Doc: Clone + Debug + Default + Eq + Hash + Ord + Serialize + Send + Sync;
    type Output: Clone + Debug + Eq + Hash + Ord + Serialize + Send + Sync;
    /// What the handler remembers while it works on an input (lost in a crash).
    type Work: Clone + Debug + Eq + Hash + Serialize + Send + Sync;

    /// Reacts to `event` while working on `work` (None: idle, and the event is a delivery).
    /// Returns the work in progress afterwards; None once the input is acked, nacked or dropped.
    fn on_event(&self, work: Option<&Self::Work>, event: Event<Self::Doc>, fx: &mut Effects<Self>) -> Option<Self::Work>;

    /// The endpoint a store serves (only for a family that calls one, [`Effects::call`]): request
    /// `op` on the document `doc` under `key`. One atomic step of the store; the call's fate (the
    /// request lost, or the response lost) is drawn when it is issued, as a write's is.
    fn serve(&self, key: Key, doc: &Self::Doc, op: &Self::Doc) -> Served<Self::Doc, Self::Output> {
        let _ = (key, doc, op);
        unreachable!("this family calls no endpoint")
    }

    /// The inputs whose changes the business state in document `doc` under `key` holds, one
    /// entry per change (empty for any other document). The store counts, over the run, how
    /// many times a write added each ([`super::store::StoreState::applied`]), for a family's
    /// `AtMostOnceStateChange`; a family without that property keeps the default (no count).
    fn changes(key: Key, doc: &Self::Doc) -> Vec<Input> {
        let _ = (key, doc);
        Vec::new()
    }

    /// What downstream does with an output copy beyond recording it: a request `op` on the
    /// document under `key` that it sends to store 0, which applies it whenever it arrives, as
    /// it applies a `Later` request ([`Protocol::serve`]; e.g. the check and delete of the
    /// output's token). None, the default: downstream only records the copy.
    fn consume(out: &Self::Output) -> Option<(Key, Self::Doc)> {
        let _ = out;
        None
    }
}

/// What an endpoint does with a request: the document it writes (None: unchanged), the response,
/// and the outputs it sends downstream in the same atomic step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served<D, O> {
    pub write: Option<D>,
    pub response: D,
    pub publish: Vec<O>,
    /// A request the server will apply to the same document later, at any point (a message it
    /// sends itself: e.g. a retention timer's eviction). None for most endpoints.
    pub later: Option<D>,
}

/// What the TLA+ twin calls things the Rust twin numbers: the handlers' model values.
pub struct TlaNames<'a> {
    pub handlers: &'a [String],
}

impl TlaNames<'_> {
    /// Handler `i` (from 0) as its model value.
    pub fn handler(&self, i: u8) -> crate::core::tla::Value {
        crate::core::tla::Value::ModelValue(self.handlers.get(i as usize).cloned().unwrap_or_else(|| format!("h{}", i + 1)))
    }
    /// A fresh id as `FreshId(ctx, i)` writes it: `[handler, tag, n]`.
    pub fn fresh_id(&self, id: &FreshId) -> crate::core::tla::Value {
        crate::core::tla::record([("handler", self.handler(id.handler)), ("tag", crate::core::tla::int(id.tag)), ("n", crate::core::tla::int(id.n))])
    }
    /// A message id as World.tla writes it: `IdOf(m)` = `[input |-> m]`, or a fresh id.
    pub fn msg_id(&self, id: &MsgId) -> crate::core::tla::Value {
        match id {
            MsgId::Of(m) => crate::core::tla::record([("input", crate::core::tla::int(*m))]),
            MsgId::Fresh(f) => self.fresh_id(f),
        }
    }
}

/// What a handler reacts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<D> {
    Delivered(Input),
    Loaded { key: Key, version: Version, doc: D },
    Written { key: Key, result: WriteResult },
}

/// What a protocol asks for in one step. A step's effects are carried out one at a time, in
/// order (the handler may crash between any two); an effect that waits for an answer (a read, a
/// write, a call) comes last.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Effect<P: Protocol> {
    Get { store: usize, key: Key },
    GetWeak { store: usize, key: Key },
    Put { store: usize, put: PendingPut<P> },
    Publish(P::Output),
    Ack(Input),
    Nack(Input),
}

/// An id no other attempt has: the handler, its incarnation, and a count of the ids this
/// incarnation has drawn (a GUID, in a model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FreshId {
    pub handler: u8,
    pub tag: u8,
    pub n: u8,
}

/// An output message's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum MsgId {
    /// Derived from the id of the input (a name-based GUID, in real life).
    Of(Input),
    /// Fresh for this attempt.
    Fresh(FreshId),
}

/// Collects a protocol's effects; they are carried out in order.
pub struct Effects<P: Protocol> {
    pub(crate) effects: Vec<Effect<P>>,
    handler: u8,
    tag: u8,
    ids: u8,
}

impl<P: Protocol> Effects<P> {
    /// A new id, unique across handlers, incarnations and attempts.
    pub fn fresh_id(&mut self) -> FreshId {
        let id = FreshId { handler: self.handler, tag: self.tag, n: self.ids };
        self.ids += 1;
        id
    }
    /// The index (from 0) of the handler taking this step.
    pub fn handler(&self) -> u8 {
        self.handler
    }
    /// Read a document.
    pub fn get(&mut self, store: usize, key: Key) {
        self.effects.push(Effect::Get { store, key });
    }
    /// Read a document at a weak consistency level: if the store keeps the previous committed
    /// version of it, the read may return that one (drawn when the read is issued).
    pub fn get_weak(&mut self, store: usize, key: Key) {
        self.effects.push(Effect::GetWeak { store, key });
    }
    /// Write a document if its version is still `expected`.
    pub fn put(&mut self, store: usize, key: Key, doc: P::Doc, expected: Version) {
        self.put_and_publish(store, key, doc, Some(expected), Vec::new());
    }
    /// Write a document whatever its version (no optimistic concurrency).
    pub fn put_unchecked(&mut self, store: usize, key: Key, doc: P::Doc) {
        self.put_and_publish(store, key, doc, None, Vec::new());
    }
    /// Write a document (if its version is still `expected`, when given) and, in the same atomic
    /// step, publish `outputs`.
    pub fn put_and_publish(&mut self, store: usize, key: Key, doc: P::Doc, expected: Option<Version>, outputs: Vec<P::Output>) {
        self.effects.push(Effect::Put {
            store,
            put: PendingPut { store, key, doc, expected, publish: outputs, call: false },
        });
    }
    /// Call the endpoint `store` serves ([`Protocol::serve`]) with request `op` on `key`. The
    /// answer is `Loaded` (the response, with the document's version after the call) or, for a
    /// call that timed out (request or response lost), `Written` with `Failed`.
    pub fn call(&mut self, store: usize, key: Key, op: P::Doc) {
        self.effects.push(Effect::Put { store, put: PendingPut { store, key, doc: op, expected: None, publish: Vec::new(), call: true } });
    }
    /// Send an output message downstream.
    pub fn publish(&mut self, output: P::Output) {
        self.effects.push(Effect::Publish(output));
    }
    pub fn ack(&mut self, input: Input) {
        self.effects.push(Effect::Ack(input));
    }
    pub fn nack(&mut self, input: Input) {
        self.effects.push(Effect::Nack(input));
    }
}

/// A write whose fate is being drawn.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct PendingPut<P: Protocol> {
    pub store: usize,
    pub key: Key,
    pub doc: P::Doc,
    pub expected: Option<Version>,
    pub publish: Vec<P::Output>,
    /// A call of the store's endpoint (`doc` is the request), not a write.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub call: bool,
}

/// What the handler is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Wait {
    Nothing,
    Doc,
    PutReply,
    /// The fate of `pending` is being drawn.
    Fate,
    /// Whether the weak read of `key` in `store` returns an older version is being drawn.
    Level { store: usize, key: Key },
    /// The answer to a call: a response (`Doc`) or a timeout (a failed `PutReply`).
    Reply,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct HandlerState<P: Protocol> {
    /// The incarnation: the number of failures this handler has had (equal to its storage).
    pub tag: u8,
    /// Fresh ids drawn by this incarnation.
    pub ids: u8,
    pub work: Option<P::Work>,
    pub wait: Wait,
    pub pending: Option<PendingPut<P>>,
    /// The input and the delivery number of the copy the handler works on (0 when idle): its
    /// acks and nacks name the delivery.
    pub input: Input,
    pub delivery: u8,
    /// The effects of the last step not carried out yet, in order (empty unless failures are
    /// possible: the next one is carried out by a step of its own, and a crash may come first).
    pub todo: Vec<Effect<P>>,
    /// Writes (or calls) of this handler that failed before applying, in any incarnation: a
    /// history the world's `FailedWrite` reads (kept across crashes in its storage).
    pub failed: u8,
}

impl<P: Protocol> HandlerState<P> {
    /// Working on an input, or with effects still to carry out: only then can a crash lose
    /// anything.
    pub fn is_busy(&self) -> bool {
        self.work.is_some() || !self.todo.is_empty()
    }

    /// The event `msg` is to this handler, if it is a message the handler takes now (whether it
    /// is up is the caller's business). Twin of World.tla's `Takes` and `EventOf`.
    pub fn takes(&self, msg: &Msg<P::Doc, P::Output>) -> Option<Event<P::Doc>> {
        let answer = |tag: u8, waits: &[Wait]| tag == self.tag && waits.contains(&self.wait);
        match msg {
            Msg::Deliver { input, .. } if !self.is_busy() && self.wait == Wait::Nothing => Some(Event::Delivered(*input)),
            Msg::Doc { tag, key, version, doc } if answer(*tag, &[Wait::Doc, Wait::Reply]) => {
                Some(Event::Loaded { key: *key, version: *version, doc: (**doc).clone() })
            }
            Msg::PutReply { tag, key, result } if answer(*tag, &[Wait::PutReply, Wait::Reply]) => {
                Some(Event::Written { key: *key, result: *result })
            }
            _ => None,
        }
    }

    /// The effects `protocol` asks for when handler `handler` (its index) in this state takes
    /// `event` (the state itself is left as it is).
    pub fn reaction(&self, protocol: &P, handler: u8, event: Event<P::Doc>) -> Vec<Effect<P>> {
        let mut fx = Effects { effects: Vec::new(), handler, tag: self.tag, ids: self.ids };
        protocol.on_event(self.work.as_ref(), event, &mut fx);
        fx.effects
    }
}

#[derive(Clone, Debug)]
pub struct Handler<P> {
    pub protocol: P,
    pub topology: Topology,
    pub failures_enabled: bool,
}

const FATE: &str = "fate";
const LEVEL: &str = "level";
const NEXT: &str = "next";

impl<P: Protocol> Handler<P> {
    pub fn on_start(&self, storage: &Option<Durable>, o: &mut Out<Node<P>>) -> HandlerState<P> {
        let (tag, failed) = match storage {
            None => (0, 0),
            Some(d) => {
                // Recovering from a crash: count it, and tell the broker the lease is gone.
                o.send(Topology::broker(), Msg::Reconnect);
                (d.failures + 1, d.failed_writes)
            }
        };
        o.save(Durable { failures: tag, failed_writes: failed });
        HandlerState { tag, ids: 0, work: None, wait: Wait::Nothing, pending: None, input: 0, delivery: 0, todo: Vec::new(), failed }
    }

    pub fn on_msg(&self, id: Id, state: &HandlerState<P>, msg: Msg<P::Doc, P::Output>, o: &mut Out<Node<P>>) -> Option<HandlerState<P>> {
        let delivery = if let Msg::Deliver { input, n } = msg { Some((input, n)) } else { None };
        // Anything else (a reply to an earlier incarnation, a delivery while busy) waits.
        let event = state.takes(&msg)?;
        let mut next = state.clone();
        next.wait = Wait::Nothing;
        if let Some((input, n)) = delivery {
            next.input = input;
            next.delivery = n;
        }
        self.step(id, &mut next, event, o);
        Some(next)
    }

    pub fn on_random(&self, id: Id, state: &HandlerState<P>, random: &Rand, o: &mut Out<Node<P>>) -> HandlerState<P> {
        let mut next = state.clone();
        if *random == Rand::Next {
            let effect = next.todo.remove(0);
            self.carry(&mut next, effect, o);
            if !next.todo.is_empty() {
                o.choose_random(NEXT, vec![Rand::Next]);
            }
            settle(&mut next);
            return next;
        }
        if let (Rand::Read { stale }, Wait::Level { store, key }) = (*random, state.wait) {
            let tag = next.tag;
            o.send(self.topology.store(store), if stale { Msg::GetStale { tag, key } } else { Msg::Get { tag, key } });
            next.wait = Wait::Doc;
            return next;
        }
        let Rand::Fate(fate) = *random else { unreachable!("handlers only draw fates, read levels and their next effect") };
        let put = next.pending.take().expect("a fate is drawn for a pending write");
        if fate != Fate::Ok {
            next.tag += 1;
            next.failed += u8::from(fate == Fate::FailBefore);
            o.save(Durable { failures: next.tag, failed_writes: next.failed });
        }
        let key = put.key;
        match fate {
            Fate::Ok => self.send_put(&mut next, put, false, o),
            Fate::FailBefore => {
                next.wait = Wait::Nothing;
                self.step(id, &mut next, Event::Written { key, result: WriteResult::Failed }, o);
            }
            Fate::Timeout => {
                // Told it failed at once; the write goes on its way and lands whenever it does.
                self.send_put(&mut next, put, true, o);
                next.wait = Wait::Nothing;
                self.step(id, &mut next, Event::Written { key, result: WriteResult::Failed }, o);
            }
        }
        next
    }

    fn step(&self, id: Id, state: &mut HandlerState<P>, event: Event<P::Doc>, o: &mut Out<Node<P>>) {
        let mut fx = Effects { effects: Vec::new(), handler: self.topology.handler_index(id) as u8, tag: state.tag, ids: state.ids };
        state.work = self.protocol.on_event(state.work.as_ref(), event, &mut fx);
        state.ids = fx.ids;
        let waits = |e: &Effect<P>| matches!(e, Effect::Get { .. } | Effect::GetWeak { .. } | Effect::Put { .. });
        assert!(
            fx.effects.iter().rev().skip(1).all(|e| !waits(e)),
            "an effect that waits for an answer must be the last of its step"
        );
        let mut effects = fx.effects.into_iter();
        if let Some(first) = effects.next() {
            self.carry(state, first, o);
        }
        if self.failures_enabled {
            // The rest one at a time: a crash may come between any two.
            state.todo = effects.collect();
            if !state.todo.is_empty() {
                o.choose_random(NEXT, vec![Rand::Next]);
            }
        } else {
            // No failure can come between them: carried out at once, as one step.
            for effect in effects {
                self.carry(state, effect, o);
            }
        }
        settle(state);
    }

    /// Carries out one effect: a message, and for a read or a write what the handler waits for.
    fn carry(&self, state: &mut HandlerState<P>, effect: Effect<P>, o: &mut Out<Node<P>>) {
        match effect {
            Effect::Get { store, key } => {
                o.send(self.topology.store(store), Msg::Get { tag: state.tag, key });
                state.wait = Wait::Doc;
            }
            Effect::GetWeak { store, key } => {
                state.wait = Wait::Level { store, key };
                o.choose_random(LEVEL, vec![Rand::Read { stale: false }, Rand::Read { stale: true }]);
            }
            Effect::Put { put, .. } => {
                if self.failures_enabled {
                    state.pending = Some(put);
                    state.wait = Wait::Fate;
                    o.choose_random(FATE, vec![Rand::Fate(Fate::Ok), Rand::Fate(Fate::FailBefore), Rand::Fate(Fate::Timeout)]);
                } else {
                    self.send_put(state, put, false, o);
                }
            }
            Effect::Publish(out) => o.send(self.topology.downstream(), Msg::Output(out)),
            Effect::Ack(input) => o.send(Topology::broker(), Msg::Ack { input, n: state.delivery }),
            Effect::Nack(input) => o.send(Topology::broker(), Msg::Nack { input, n: state.delivery }),
        }
    }

    fn send_put(&self, state: &mut HandlerState<P>, put: PendingPut<P>, late: bool, o: &mut Out<Node<P>>) {
        if put.call {
            o.send(self.topology.store(put.store), Msg::Call { tag: state.tag, key: put.key, op: Arc::new(put.doc), late });
            state.wait = Wait::Reply;
            return;
        }
        o.send(
            self.topology.store(put.store),
            Msg::Put { tag: state.tag, key: put.key, doc: Arc::new(put.doc), expected: put.expected, late, publish: put.publish },
        );
        state.wait = Wait::PutReply;
    }
}

/// An idle handler (no work, no effects left) holds no delivery.
fn settle<P: Protocol>(state: &mut HandlerState<P>) {
    if !state.is_busy() {
        state.input = 0;
        state.delivery = 0;
    }
}
