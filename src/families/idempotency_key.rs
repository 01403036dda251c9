//! `idempotency-key`: what most HTTP APIs do. The caller (a handler of system A) sends its POST
//! with an operation-id header (derived from the input's id, so every retry and every redelivery
//! carries the same one); the server keeps a table of processed ids with their responses: an id
//! it knows is answered from the table, an unknown one is charged and entered. The caller
//! retries a timed-out POST, then records the response and acks. `Window` evicts entries after a
//! retention window (modelled as an eviction the server sends itself when it enters an id,
//! applied at any later point); `GetBeforePost` has no table: the caller GETs the operation's
//! result and POSTs only if there is none.
//!
//! The server is the store's endpoint, as in `http` ([`Protocol::serve`]): one atomic step per
//! call, the call's fate drawn when it is issued. A's records under the inputs' keys; the table
//! entries under `ENTRY_BASE + input`. Twin of `specs/idempotency-key/IdempotencyKey.tla`.

use super::situations::{self, at_quiescence, some_handler_holds};
use super::world_family::WorldFamily;
use crate::property;
use crate::world::Property;
use crate::world::{TlaMap, Effects, Event, Input, Key, Msg, Protocol, Served, Version, View, WriteResult};
use crate::families::http::{each_input_at_most_once, AT_MOST_ONCE_CHARGE, RETRY_AFTER_AMBIGUOUS_TIMEOUT};
use crate::core::vocab::{Consts};
use serde::Serialize;

pub struct IdempotencyKeyFamily;
pub static IDEMPOTENCY_KEY: IdempotencyKeyFamily = IdempotencyKeyFamily;

crate::variants! {
    pub enum Variant {
        /// The server keeps every processed id forever.
        KeepForever,
        /// The server evicts an id after its retention window.
        Window,
        /// No table: the caller GETs the result first and POSTs only if there is none.
        GetBeforePost,
        /// After a timed-out call the caller drops its input (neither acks nor nacks it).
        GiveUp,
    }
}



/// What a document, a request or a response is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum DocKind {
    #[default]
    Unwritten,
    /// A's record of an input: the response is in hand.
    Responded,
    /// The server's entry of an operation id: processed (charged), the response stored with it.
    Processed,
    /// An evicted entry (the id is unknown again).
    Evicted,
    /// The requests: POST (of input `input`), GET, and the server's own eviction.
    Post,
    Get,
    Evict,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Doc {
    pub kind: DocKind,
    pub input: Input,
}

fn doc(kind: DocKind, input: Input) -> Doc {
    Doc { kind, input }
}

/// A charge made by the server for input `input`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Charge {
    pub input: Input,
}

const STORE: usize = 0;
/// The operation id of input `m` is `ENTRY_BASE + m`.
const ENTRY_BASE: Key = 8;

fn entry_key(m: Input) -> Key {
    ENTRY_BASE + m
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    /// A's record of the input is requested.
    Loading,
    /// The GET of the operation's result is on its way (`GetBeforePost`).
    Checking,
    /// The POST is on its way.
    Posting,
    /// The response is being recorded.
    Responding,
}

/// The input, the phase, the version of A's record read, and whether the call on its way is a
/// retry after a timeout.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Work {
    pub input: Input,
    pub phase: Phase,
    pub version: Version,
    pub retried: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct IdempotencyKeyProtocol {
    pub variant: Variant,
}

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are.
impl IdempotencyKeyProtocol {
    /// Call the request of `phase` (GET in `Checking`, else POST) on the input's entry.
    fn call_in(&self, fx: &mut Effects<Self>, input: Input, phase: Phase, version: Version, retried: bool) -> Option<Work> {
        let op = if phase == Phase::Checking { doc(DocKind::Get, 0) } else { doc(DocKind::Post, input) };
        fx.call(STORE, entry_key(input), op);
        Some(Work { input, phase, version, retried })
    }

    /// The first call: GET in `GetBeforePost`, else POST.
    fn first_call(&self) -> Phase {
        if self.variant == Variant::GetBeforePost { Phase::Checking } else { Phase::Posting }
    }

    /// Idle: an input is delivered; read A's record of it.
    fn on_delivered(&self, input: Input, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, input);
        Some(Work { input, phase: Phase::Loading, version: 0, retried: false })
    }

    /// A's record of the input is read (at `version`): a recorded response means done, else make
    /// the first call.
    fn on_record(&self, w: &Work, record: Doc, version: Version, fx: &mut Effects<Self>) -> Option<Work> {
        if record.kind == DocKind::Responded {
            fx.ack(w.input);
            None
        } else {
            self.call_in(fx, w.input, self.first_call(), version, false)
        }
    }

    /// A call is answered with a response: POST after a GET that found no entry, else record the
    /// response.
    fn on_response(&self, w: &Work, response: Doc, fx: &mut Effects<Self>) -> Option<Work> {
        match w.phase {
            Phase::Checking if response.kind != DocKind::Processed => self.call_in(fx, w.input, Phase::Posting, w.version, false),
            Phase::Checking | Phase::Posting => {
                fx.put(STORE, w.input, doc(DocKind::Responded, 0), w.version);
                Some(Work { phase: Phase::Responding, retried: false, ..w.clone() })
            }
            _ => unreachable!("a response while {w:?}"),
        }
    }

    /// A call timed out: retry (GET first in `GetBeforePost`), or give up.
    fn on_timeout(&self, w: &Work, fx: &mut Effects<Self>) -> Option<Work> {
        if self.variant == Variant::GiveUp {
            return None; // dropped: neither acked nor nacked
        }
        self.call_in(fx, w.input, self.first_call(), w.version, true)
    }

    /// The write of the response is answered, or a call timed out.
    fn on_written(&self, w: &Work, result: WriteResult, fx: &mut Effects<Self>) -> Option<Work> {
        match (w.phase, result) {
            (Phase::Responding, WriteResult::Ok) => {
                fx.ack(w.input);
                None
            }
            (Phase::Responding, _) => {
                fx.nack(w.input);
                None
            }
            _ => self.on_timeout(w, fx),
        }
    }
}

impl Protocol for IdempotencyKeyProtocol {
    type Doc = Doc;
    type Output = Charge;
    type Work = Work;

    /// POST charges an unknown id and enters it (in `Window` with its eviction to come), and
    /// answers a known one from the table; without a table (`GetBeforePost`) it always charges.
    /// GET returns the entry. The eviction forgets the id.
    fn serve(&self, _key: Key, current: &Doc, op: &Doc) -> Served<Doc, Charge> {
        let unchanged = Served { write: None, response: *current, publish: Vec::new(), later: None };
        let known = current.kind == DocKind::Processed && self.variant != Variant::GetBeforePost;
        match op.kind {
            DocKind::Post if !known => {
                let processed = doc(DocKind::Processed, op.input);
                let later = (self.variant == Variant::Window).then(|| doc(DocKind::Evict, 0));
                Served { write: Some(processed), response: processed, publish: vec![Charge { input: op.input }], later }
            }
            DocKind::Evict if current.kind == DocKind::Processed => {
                let evicted = doc(DocKind::Evicted, 0);
                Served { write: Some(evicted), response: evicted, publish: Vec::new(), later: None }
            }
            _ => unchanged,
        }
    }

    /// Picks the step by the work's phase and the event, as `OnEvent` does.
    fn on_event(&self, work: Option<&Work>, event: Event<Doc>, fx: &mut Effects<Self>) -> Option<Work> {
        match (work, event) {
            (None, Event::Delivered(input)) => self.on_delivered(input, fx),
            (Some(w), Event::Loaded { version, doc: record, .. }) if w.phase == Phase::Loading => self.on_record(w, record, version, fx),
            (Some(w), Event::Loaded { doc: response, .. }) => self.on_response(w, response, fx),
            (Some(w), Event::Written { result, .. }) => self.on_written(w, result, fx),
            (work, event) => unreachable!("idempotency-key handler got {event:?} while {work:?}"),
        }
    }
}

type V<'a> = View<'a, IdempotencyKeyProtocol>;

fn doc_at(v: &View<'_, IdempotencyKeyProtocol>, key: Key) -> Doc {
    v.store(STORE).doc(key)
}

/// No input is charged twice (every charge copy counts).
fn at_most_once_charge(v: &V) -> bool {
    each_input_at_most_once(v.outputs(), |c| c.input)
}

/// At quiescence every input was charged and its caller recorded the response.
fn no_lost_response(v: &V) -> bool {
    at_quiescence(v, |v| {
        (1..=v.world.inputs).all(|i| doc_at(v, i).kind == DocKind::Responded && v.outputs().contains(&Charge { input: i }))
    })
}

/// The table holds only ids within their retention window: every entry has its eviction to come.
fn bounded_dedup_state(v: &V) -> bool {
    let pending: Vec<Key> = v.in_flight().filter_map(|msg| if let Msg::Later { key, .. } = msg { Some(*key) } else { None }).collect();
    v.store(STORE).docs.iter().all(|(k, _, d)| d.kind != DocKind::Processed || pending.contains(k))
}

fn duplicate_delivered(v: &V) -> bool {
    some_handler_holds(v, |w, _| w.phase == Phase::Loading && doc_at(v, w.input).kind == DocKind::Responded)
}

fn crash_after_charge(v: &V) -> bool {
    some_handler_holds(v, |w, down| {
        down && doc_at(v, entry_key(w.input)).kind == DocKind::Processed && doc_at(v, w.input).kind != DocKind::Responded
    })
}

fn retry_after_ambiguous_timeout(v: &V) -> bool {
    some_handler_holds(v, |w, _| w.phase == Phase::Posting && w.retried && doc_at(v, entry_key(w.input)).kind == DocKind::Processed)
}

const PROPERTIES: &[Property<IdempotencyKeyProtocol>] = &[
    property!("AtMostOnceCharge", Invariant, AT_MOST_ONCE_CHARGE, at_most_once_charge),
    property!("NoLostResponse", Invariant, "at quiescence every input was charged and its caller recorded the response", no_lost_response),
    property!("BoundedDedupState", Invariant, "the server's table holds only ids within their retention window (each with its eviction to come)", bounded_dedup_state),
    situations::termination(),
    property!("DuplicateDelivered", Sometimes, "a handler is loading a copy of an input whose response is recorded", duplicate_delivered),
    property!("CrashAfterCharge", Sometimes, "a handler is down after the server charged its input and before A recorded the response", crash_after_charge),
    property!("RetryAfterAmbiguousTimeout", Sometimes, RETRY_AFTER_AMBIGUOUS_TIMEOUT, retry_after_ambiguous_timeout),
];


impl WorldFamily for IdempotencyKeyFamily {
    type P = IdempotencyKeyProtocol;
    const ID: &'static str = "idempotency-key";
    const MODULE: &'static str = "IdempotencyKey";
    const SUMMARY: &'static str =
        "An operation-id header and a server-side table of processed ids, kept forever or for a retention window; GET-before-POST.";
    const VARIANTS: &'static [&'static str] = Variant::NAMES;
    const UNREACHABLE: &'static [(&'static str, &'static str)] = &super::situations::SENDS_NOTHING_DOWNSTREAM;
    const PROPERTIES: &'static [Property<IdempotencyKeyProtocol>] = PROPERTIES;
    fn world(&self, consts: &Consts) -> crate::world::World<IdempotencyKeyProtocol> {
        crate::world::world(IdempotencyKeyProtocol { variant: Variant::parse(consts.string("Variant")) }, consts, 1)
    }
}

/// The TLA+ twin writes this family's work, documents and outputs as their serde form.
impl TlaMap for IdempotencyKeyProtocol {}
