//! `http`: the exactly-once HTTP protocol between two message-driven systems (the "exactly-once"
//! blog's adaptation of token-based deduplication to HTTP). A handler of system A, processing an
//! input, charges it through an HTTP server, system B: it records a request id for the input,
//! PUTs the request under that id (create-only: the stored request is the token), POSTs to
//! process it (the server charges a stored request once, stores the response and so marks it
//! processed), GETs the response (the follow-up step), records it, DELETEs the request and its
//! response, and acks. Every call is retried after a timeout, with the same id.
//!
//! The server is the store's endpoint ([`Protocol::serve`]): each HTTP call is one atomic step
//! of the store on the request's document, and its fate is drawn when the caller issues it, as a
//! write's is: delivered, the request lost (`FailBefore`), or timed out (`Timeout`: the caller
//! sees a timeout at once, and the request reaches the server later). The charge is the output the server sends in the
//! same atomic step (to a payment ledger, the downstream recorder). A's records live in the same
//! store under the inputs' keys; the requests under keys derived from fresh ids. Twin of
//! `specs/http/Http.tla`.

use super::situations::{self, at_quiescence, some_handler_holds};
use super::world_family::WorldFamily;
use crate::property;
use crate::world::Property;
use crate::world::{TlaMap, Effects, Event, Input, Key, Protocol, Served, Version, View, WriteResult};
use crate::families::ledger::fresh_key;
use crate::core::vocab::{Consts};
use serde::Serialize;

pub struct HttpFamily;
pub static HTTP: HttpFamily = HttpFamily;

crate::variants! {
    pub enum Variant {
        /// The request id is recorded before the PUT and reused by every retry; POST charges a stored
        /// request once.
        Correct,
        /// The server's POST charges whenever the request exists, whether or not it was processed.
        PostWithoutMark,
        /// A retry (after a timed-out PUT or POST, or a redelivery) draws a fresh request id.
        NewRequestIdOnRetry,
        /// The caller never DELETEs the request.
        NoDelete,
        /// After a timed-out call the caller drops its input (neither acks nor nacks it) instead of
        /// retrying.
        GiveUp,
    }
}



/// What a document, a request or a response is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum DocKind {
    /// Never written.
    #[default]
    Unwritten,
    /// A's record of an input: the request id drawn for it (`req`).
    Requested,
    /// A's record of an input: the response of request `req` is in hand.
    Responded,
    /// B's request document: stored by a PUT, not processed.
    Stored,
    /// B's request document: processed (charged); the response is stored with it.
    Processed,
    /// B's request document after a DELETE (a tombstone: the store keeps versions).
    Deleted,
    /// The requests: PUT (of input `input`), POST, GET, DELETE.
    Put,
    Post,
    Get,
    Delete,
}

/// A document of the store, a request to the server or its response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Doc {
    pub kind: DocKind,
    /// The input a request is for (0 where none).
    pub input: Input,
    /// The request id in A's records (0 where none).
    pub req: Key,
}

fn doc(kind: DocKind, input: Input, req: Key) -> Doc {
    Doc { kind, input, req }
}

/// A charge made by the server for input `input` under request `req`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Charge {
    pub input: Input,
    pub req: Key,
}

const STORE: usize = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    /// A's record of the input is requested.
    Loading,
    /// The new request id is being recorded.
    Recording,
    /// The PUT, POST, GET of the request are on their way.
    Putting,
    Posting,
    Getting,
    /// The response is being recorded.
    Responding,
    /// The DELETE is on its way.
    Deleting,
}

/// The input, the phase, the request id (0 before one is drawn), the version of A's record read
/// or written last, and whether the call on its way is a retry after a timeout.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Work {
    pub input: Input,
    pub phase: Phase,
    pub req: Key,
    pub version: Version,
    pub retried: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct HttpProtocol {
    pub variant: Variant,
}

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are.
impl HttpProtocol {
    /// Call the request of `phase` on request `req`.
    fn call_in(&self, fx: &mut Effects<Self>, input: Input, phase: Phase, req: Key, version: Version, retried: bool) -> Option<Work> {
        let op = match phase {
            Phase::Putting => doc(DocKind::Put, input, 0),
            Phase::Posting => doc(DocKind::Post, 0, 0),
            Phase::Getting => doc(DocKind::Get, 0, 0),
            Phase::Deleting => doc(DocKind::Delete, 0, 0),
            _ => unreachable!("no call in {phase:?}"),
        };
        fx.call(STORE, req, op);
        Some(Work { input, phase, req, version, retried })
    }

    /// The request id of a retry of `req`: the same one, but in `NewRequestIdOnRetry`.
    fn retry_id(&self, fx: &mut Effects<Self>, req: Key) -> Key {
        if self.variant == Variant::NewRequestIdOnRetry { fresh_key(fx.fresh_id()) } else { req }
    }

    /// The call of `w` timed out (the request or the response was lost): retry it, with the same
    /// id; in `NewRequestIdOnRetry` a timed-out PUT or POST starts over with a fresh one.
    fn on_timeout(&self, w: &Work, fx: &mut Effects<Self>) -> Option<Work> {
        if self.variant == Variant::GiveUp {
            return None;
        }
        match w.phase {
            // A fresh id starts over with its PUT.
            Phase::Putting | Phase::Posting => {
                let req = self.retry_id(fx, w.req);
                let phase = if req == w.req { w.phase } else { Phase::Putting };
                self.call_in(fx, w.input, phase, req, w.version, true)
            }
            _ => self.call_in(fx, w.input, w.phase, w.req, w.version, true),
        }
    }

    /// Idle: an input is delivered; read A's record of it.
    fn on_delivered(&self, input: Input, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, input);
        Some(Work { input, phase: Phase::Loading, req: 0, version: 0, retried: false })
    }

    /// A's record of the input is read (at `version`).
    fn on_record(&self, w: &Work, record: Doc, version: Version, fx: &mut Effects<Self>) -> Option<Work> {
        let input = w.input;
        match record.kind {
            DocKind::Responded if self.variant == Variant::NoDelete => {
                fx.ack(input);
                None
            }
            // The response is in hand: (again) DELETE the request.
            DocKind::Responded => self.call_in(fx, input, Phase::Deleting, record.req, version, false),
            // A retry of a recorded request.
            DocKind::Requested => {
                let req = self.retry_id(fx, record.req);
                self.call_in(fx, input, Phase::Putting, req, version, false)
            }
            _ => {
                let req = fresh_key(fx.fresh_id());
                fx.put(STORE, input, doc(DocKind::Requested, 0, req), version);
                Some(Work { input, phase: Phase::Recording, req, version, retried: false })
            }
        }
    }

    /// A call is answered with a response.
    fn on_response(&self, w: &Work, response: Doc, fx: &mut Effects<Self>) -> Option<Work> {
        match w.phase {
            Phase::Putting => self.call_in(fx, w.input, Phase::Posting, w.req, w.version, false),
            Phase::Posting => self.call_in(fx, w.input, Phase::Getting, w.req, w.version, false),
            Phase::Getting if response.kind == DocKind::Processed => {
                fx.put(STORE, w.input, doc(DocKind::Responded, 0, w.req), w.version);
                Some(Work { phase: Phase::Responding, retried: false, ..w.clone() })
            }
            // No response to get (the request is gone): start over from the record.
            Phase::Getting => {
                fx.nack(w.input);
                None
            }
            Phase::Deleting => {
                fx.ack(w.input);
                None
            }
            _ => unreachable!("a response while {w:?}"),
        }
    }

    /// A write of A's record is answered, or a call timed out.
    fn on_written(&self, w: &Work, result: WriteResult, fx: &mut Effects<Self>) -> Option<Work> {
        match (w.phase, result) {
            (Phase::Recording, WriteResult::Ok) => self.call_in(fx, w.input, Phase::Putting, w.req, w.version + 1, false),
            (Phase::Responding, WriteResult::Ok) if self.variant == Variant::NoDelete => {
                fx.ack(w.input);
                None
            }
            (Phase::Responding, WriteResult::Ok) => self.call_in(fx, w.input, Phase::Deleting, w.req, w.version + 1, false),
            // A's own write failed or conflicted: the broker redelivers.
            (Phase::Recording | Phase::Responding, _) => {
                fx.nack(w.input);
                None
            }
            // A call timed out.
            _ => self.on_timeout(w, fx),
        }
    }
}

impl Protocol for HttpProtocol {
    type Doc = Doc;
    type Output = Charge;
    type Work = Work;

    /// The server. PUT stores a request if none was ever stored under its id (create-only); POST
    /// charges a stored request and marks it processed (the response is stored with it); GET
    /// returns the document; DELETE removes a stored or processed request.
    fn serve(&self, key: Key, current: &Doc, op: &Doc) -> Served<Doc, Charge> {
        let unchanged = Served { write: None, response: *current, publish: Vec::new(), later: None };
        match (op.kind, current.kind) {
            (DocKind::Put, DocKind::Unwritten) => {
                let stored = doc(DocKind::Stored, op.input, 0);
                Served { write: Some(stored), response: stored, publish: Vec::new(), later: None }
            }
            (DocKind::Post, DocKind::Stored) => charge(key, current.input),
            (DocKind::Post, DocKind::Processed) if self.variant == Variant::PostWithoutMark => charge(key, current.input),
            (DocKind::Delete, DocKind::Stored | DocKind::Processed) => {
                let deleted = doc(DocKind::Deleted, 0, 0);
                Served { write: Some(deleted), response: deleted, publish: Vec::new(), later: None }
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
            (work, event) => unreachable!("http handler got {event:?} while {work:?}"),
        }
    }
}

/// POST on a stored request: charge it, and store the response (processed).
fn charge(key: Key, input: Input) -> Served<Doc, Charge> {
    let processed = doc(DocKind::Processed, input, 0);
    Served { write: Some(processed), response: processed, publish: vec![Charge { input, req: key }], later: None }
}

type V<'a> = View<'a, HttpProtocol>;

/// The document under `key`.
fn doc_at(v: &View<'_, HttpProtocol>, key: Key) -> Doc {
    v.store(STORE).doc(key)
}

/// No input is charged twice: the charges received (every copy) name each input at most once.
pub fn each_input_at_most_once<O>(charges: &[O], input: impl Fn(&O) -> Input) -> bool {
    charges.iter().enumerate().all(|(i, o)| charges.iter().skip(i + 1).all(|p| input(p) != input(o)))
}

fn at_most_once_charge(v: &V) -> bool {
    each_input_at_most_once(v.outputs(), |c| c.input)
}

/// At quiescence every input was charged, and A holds the response of that charge.
fn no_lost_response(v: &V) -> bool {
    at_quiescence(v, |v| {
        (1..=v.world.inputs).all(|i| {
            let record = doc_at(v, i);
            record.kind == DocKind::Responded && v.outputs().contains(&Charge { input: i, req: record.req })
        })
    })
}

/// At quiescence the server keeps no request and no response: every one stored was deleted.
fn no_garbage(v: &V) -> bool {
    at_quiescence(v, |v| {
        v.store(STORE).docs.iter().all(|(_, _, d)| !matches!(d.kind, DocKind::Stored | DocKind::Processed))
    })
}

/// The server holds at most one request record per input, tombstones included (a deleted id
/// stays, so that a late or retried PUT of it cannot store the request again).
fn bounded_dedup_state(v: &V) -> bool {
    let requests = v.store(STORE).docs.iter().filter(|(_, _, d)| matches!(d.kind, DocKind::Stored | DocKind::Processed | DocKind::Deleted)).count();
    requests <= usize::from(v.world.inputs)
}

/// A handler is loading a copy of an input that an earlier attempt already recorded.
fn duplicate_delivered(v: &V) -> bool {
    some_handler_holds(v, |w, _| w.phase == Phase::Loading && doc_at(v, w.input).kind != DocKind::Unwritten)
}

/// A handler is down between two writes: the server charged its request, and A has not recorded
/// the response.
fn crash_after_charge(v: &V) -> bool {
    some_handler_holds(v, |w, down| {
        down && doc_at(v, w.req).kind == DocKind::Processed && doc_at(v, w.input).kind != DocKind::Responded
    })
}

/// A handler retries a POST after a timeout, and the POST that timed out had been processed (its
/// response was lost).
fn retry_after_ambiguous_timeout(v: &V) -> bool {
    some_handler_holds(v, |w, _| w.phase == Phase::Posting && w.retried && doc_at(v, w.req).kind == DocKind::Processed)
}

/// The meanings of the properties `http` and `idempotency-key` share.
pub const AT_MOST_ONCE_CHARGE: &str = "no input is charged twice (every charge copy counts)";
pub const RETRY_AFTER_AMBIGUOUS_TIMEOUT: &str = "a handler retries a POST after a timeout, and the POST that timed out had been processed";

const PROPERTIES: &[Property<HttpProtocol>] = &[
    property!("AtMostOnceCharge", Invariant, AT_MOST_ONCE_CHARGE, at_most_once_charge),
    property!("NoLostResponse", Invariant, "at quiescence every input was charged and its caller holds the response of that charge", no_lost_response),
    property!("NoGarbage", Invariant, "at quiescence the server keeps no stored request or response", no_garbage),
    property!("BoundedDedupState", Invariant, "the server holds at most one request record per input, tombstones included", bounded_dedup_state),
    situations::termination(),
    property!("DuplicateDelivered", Sometimes, "a handler is loading a copy of an input an earlier attempt recorded", duplicate_delivered),
    property!("CrashAfterCharge", Sometimes, "a handler is down after the server charged its request and before A recorded the response", crash_after_charge),
    property!("RetryAfterAmbiguousTimeout", Sometimes, RETRY_AFTER_AMBIGUOUS_TIMEOUT, retry_after_ambiguous_timeout),
];


impl WorldFamily for HttpFamily {
    type P = HttpProtocol;
    const ID: &'static str = "http";
    const MODULE: &'static str = "Http";
    const SUMMARY: &'static str =
        "Exactly-once HTTP between two message-driven systems: PUT the request under a recorded id, POST, GET the response, DELETE; every call retried.";
    const VARIANTS: &'static [&'static str] = Variant::NAMES;
    const UNREACHABLE: &'static [(&'static str, &'static str)] = &super::situations::SENDS_NOTHING_DOWNSTREAM;
    const PROPERTIES: &'static [Property<HttpProtocol>] = PROPERTIES;
    fn world(&self, consts: &Consts) -> crate::world::World<HttpProtocol> {
        crate::world::world(HttpProtocol { variant: Variant::parse(consts.string("Variant")) }, consts, 1)
    }
}

/// The TLA+ twin writes this family's work, documents and outputs as their serde form.
impl TlaMap for HttpProtocol {}
