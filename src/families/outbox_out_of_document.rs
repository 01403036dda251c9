//! `outbox-out-of-document`: the outbox for stores with small documents and no transactions
//! across documents (Cosmos DB, DynamoDB), after the exactly-once workshop. The entity document
//! keeps the business state and one field: its committed, unfinished transaction. A transaction
//! id is fresh for every attempt; the attempt's outbox record (its output, under a fresh id too)
//! lives in another store under that id, and the input's done record under the input's id is the
//! dedup record.
//!
//! The handler loads the entity; if the entity holds an unfinished transaction (of any input),
//! it completes it first (reads its record, dispatches the output, deletes the record, marks the
//! transaction's input done, clears the field) and starts over. Otherwise it reads its input's
//! done record (done: a duplicate, ack), runs the business logic, stages the outbox record under
//! a fresh transaction id (create only), commits the state with the transaction (a version check
//! on the entity) and completes it, then acks. An attempt whose commit conflicted (certainly not
//! applied) deletes its staged record, if it is still the one it wrote (a version check), before
//! giving the input back.
//!
//! Both stores are documents of the one store actor (entity under key 0, the done record of input
//! `m` under key 10 + m, a transaction's record under its fresh key): nothing is atomic across
//! documents. Twin of `specs/outbox-out-of-document/OutboxOutOfDocument.tla`.

use super::situations::{self};
use super::world_family::WorldFamily;
use super::ledger::{fresh_key, Ledger, Reports};
use crate::property;
use crate::world::Property;
use crate::world::{TlaMap, Effects, Event, Input, Key, Protocol, TlaNames, Version, View, WriteResult};
use crate::core::tla::{self, int, opt, record, string, Value};
use crate::families::ledger::{self, LedgerProtocol};
use crate::core::vocab::{Consts};
use serde::Serialize;

pub struct OutboxOutOfDocumentFamily;
pub static OUTBOX_OUT_OF_DOCUMENT: OutboxOutOfDocumentFamily = OutboxOutOfDocumentFamily;

crate::variants! {
    pub enum Variant {
        /// Load the entity (complete its unfinished transaction first), check the input's done
        /// record, stage the outbox record under a fresh transaction id, commit state and
        /// transaction, dispatch, delete the record, mark the input done, clear the transaction.
        Correct,
        /// Dispatch the output before staging and committing: ghost messages.
        DispatchBeforeCommit,
        /// Delete the staged record before dispatching: a crash in between loses the output.
        DeleteBeforeDispatch,
        /// Clear the entity's transaction before marking the input done: a crash in between
        /// leaves an input neither known as processed nor pending, and it is processed again.
        ClearBeforeMark,
        /// Do not complete another input's unfinished transaction first: add a second beside it.
        SkipCompletion,
        /// On a failed or conflicting write, drop the input without nacking it.
        GiveUp,
        /// An attempt whose commit conflicted leaves its staged record behind.
        NoCleanup,
        /// The transaction id is the input's own key, the same for every attempt (the record
        /// beside the done mark): a losing attempt's stage can overwrite a committed record.
        InputTxnId,
    }
}

/// The output message of an input: the position its change took, under a fresh id drawn by the
/// attempt that staged it (as the workshop's outbox gives each attempt's messages new ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Output {
    pub id: Key,
    pub input: Input,
    pub position: u8,
}

impl Reports for Output {
    fn input(&self) -> Input {
        self.input
    }
    fn position(&self) -> u8 {
        self.position
    }
}

/// A transaction: its input, and its id, the key of its outbox record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Txn {
    pub input: Input,
    pub key: Key,
}

/// A document. The entity uses `ledger` and `txns` (its committed, unfinished transactions,
/// sorted: at most one, but in `SkipCompletion`); a transaction's outbox record uses `record`
/// (its output); an input's done record uses `done`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Doc {
    pub ledger: Ledger,
    pub txns: Vec<Txn>,
    pub record: Option<Output>,
    pub done: bool,
}

impl Doc {
    fn with_txn(&self, txn: Txn, out: Output) -> Doc {
        let mut next = Doc { ledger: self.ledger.with(txn.input, out.position), txns: self.txns.clone(), ..Doc::default() };
        let at = next.txns.partition_point(|t| *t < txn);
        next.txns.insert(at, txn);
        next
    }
    fn without_txn(&self, txn: Txn) -> Doc {
        let mut next = self.clone();
        next.txns.retain(|t| *t != txn);
        next
    }
    fn staged(out: Output) -> Doc {
        Doc { record: Some(out), ..Doc::default() }
    }
    fn done() -> Doc {
        Doc { done: true, ..Doc::default() }
    }
}

/// The acts that complete a transaction, in the order `Order` gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    Dispatch,
    Delete,
    Mark,
    Clear,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    /// Loading the entity.
    LoadingEntity,
    /// Reading the record of the entity's (read at `version`) unfinished transaction `txn`.
    LoadingTxn { txn: Txn, entity: Doc, version: Version },
    /// Reading the input's done record; the entity was read at `version`.
    LoadingRecord { entity: Doc, version: Version },
    /// Staging the record under `key` (expected at version `kver`); then commit `entity` (read
    /// at `version`).
    Staging { entity: Doc, version: Version, out: Output, key: Key, kver: Version },
    /// Committing the entity `doc` (read at `version`) with the transaction under `key`, whose
    /// record the stage wrote at version `kver`.
    Committing { doc: Doc, version: Version, out: Output, key: Key, kver: Version },
    /// The commit conflicted: deleting the record staged under `key` if it is still the one the
    /// stage wrote (at version `kver`), then give the input back.
    Discarding { key: Key, kver: Version },
    /// Completing transaction `txn` of `entity` (at `version`), whose output is `out`: the write
    /// of act `step` (from 1) of the order is under way. Then start over (`restart`: it was
    /// found in the entity), or ack.
    Completing { txn: Txn, entity: Doc, version: Version, out: Option<Output>, step: u8, restart: bool },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Work {
    pub input: Input,
    pub phase: Phase,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct OutboxOutOfDocumentProtocol {
    pub variant: Variant,
}

const STORE: usize = 0;
const ENTITY: Key = 0;
/// The done record of input `m` is under `DONE_KEYS + m`.
const DONE_KEYS: Key = 10;

type Step = Option<Work>;

impl OutboxOutOfDocumentProtocol {
    fn work(input: Input, phase: Phase) -> Step {
        Some(Work { input, phase })
    }

    /// The order of the acts that complete a transaction.
    fn order(&self) -> [Act; 4] {
        use Act::*;
        match self.variant {
            Variant::DeleteBeforeDispatch => [Delete, Dispatch, Mark, Clear],
            Variant::ClearBeforeMark => [Dispatch, Delete, Clear, Mark],
            _ => [Dispatch, Delete, Mark, Clear],
        }
    }

    /// Complete transaction `txn` of `entity` (at `version`), whose output is `out` (None: its
    /// record is gone), from act `step` (from 1) on: the acts up to the next write. Once all are
    /// done, start over (`restart`) or ack.
    #[allow(clippy::too_many_arguments)] // the TLA+ twin's parameters, and the effects
    fn advance(&self, fx: &mut Effects<Self>, input: Input, txn: Txn, entity: Doc, version: Version, out: Option<Output>, restart: bool, step: u8) -> Step {
        let order = self.order();
        for i in step..=order.len() as u8 {
            match order[i as usize - 1] {
                Act::Dispatch => {
                    if let Some(o) = out {
                        fx.publish(o);
                    }
                    continue;
                }
                Act::Delete if out.is_none() => continue,
                Act::Delete => fx.put_unchecked(STORE, txn.key, Doc::default()),
                Act::Mark => fx.put_unchecked(STORE, DONE_KEYS + txn.input, Doc::done()),
                Act::Clear => fx.put(STORE, ENTITY, entity.without_txn(txn), version),
            }
            return Self::work(input, Phase::Completing { txn, entity, version, out, step: i, restart });
        }
        self.finished(fx, input, restart)
    }

    /// Done with a completion: start over (`restart`), or ack.
    fn finished(&self, fx: &mut Effects<Self>, input: Input, restart: bool) -> Step {
        if restart {
            fx.get(STORE, ENTITY);
            return Self::work(input, Phase::LoadingEntity);
        }
        fx.ack(input);
        None
    }

    /// The input goes back to the broker (in `GiveUp`, it is dropped).
    fn give_back(&self, fx: &mut Effects<Self>, input: Input) -> Step {
        if self.variant != Variant::GiveUp {
            fx.nack(input);
        }
        None
    }
}

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are.
impl OutboxOutOfDocumentProtocol {
    /// Idle: an input is delivered; load the entity.
    fn on_delivered(&self, input: Input, fx: &mut Effects<Self>) -> Step {
        fx.get(STORE, ENTITY);
        Self::work(input, Phase::LoadingEntity)
    }

    /// The entity is loaded (at `version`): complete an unfinished transaction first (in
    /// `SkipCompletion` only our own), else read the input's done record.
    fn on_entity(&self, input: Input, version: Version, doc: Doc, fx: &mut Effects<Self>) -> Step {
        let pending = doc.txns.iter().copied().find(|t| self.variant != Variant::SkipCompletion || t.input == input);
        if let Some(txn) = pending {
            fx.get(STORE, txn.key);
            return Self::work(input, Phase::LoadingTxn { txn, entity: doc, version });
        }
        fx.get(STORE, DONE_KEYS + input);
        Self::work(input, Phase::LoadingRecord { entity: doc, version })
    }

    /// The transaction id of an attempt of `input` that drew the fresh key `id`: that key (in
    /// `InputTxnId`, the input's own key: the record beside its done mark, the same for every
    /// attempt).
    fn txn_id(&self, input: Input, id: Key) -> Key {
        if self.variant == Variant::InputTxnId { DONE_KEYS + input } else { id }
    }

    /// The input's done record is read (at `read`): done means processed; else run the business
    /// logic and stage the outbox record under the transaction id, expecting the version the
    /// attempt read it at: a fresh key was never written (version 0: create only).
    #[allow(clippy::too_many_arguments)] // the TLA+ twin's parameters, and the effects
    fn on_record(&self, input: Input, entity: &Doc, version: Version, read: Version, doc: Doc, fx: &mut Effects<Self>) -> Step {
        if doc.done {
            fx.ack(input);
            return None;
        }
        let id = fresh_key(fx.fresh_id());
        let out = Output { id, input, position: entity.ledger.next_position() };
        let key = self.txn_id(input, id);
        let kver = if key == DONE_KEYS + input { read } else { 0 };
        if self.variant == Variant::DispatchBeforeCommit {
            fx.publish(out);
        }
        fx.put(STORE, key, Doc::staged(out), kver);
        Self::work(input, Phase::Staging { entity: entity.clone(), version, out, key, kver })
    }

    /// The record of transaction `txn` of `entity` (read at `version`) is read: complete it,
    /// dispatching its output unless the record is gone.
    fn on_txn_record(&self, input: Input, txn: Txn, entity: &Doc, version: Version, doc: Doc, fx: &mut Effects<Self>) -> Step {
        self.advance(fx, input, txn, entity.clone(), version, doc.record, true, 1)
    }

    /// A write is answered.
    fn on_written(&self, input: Input, phase: &Phase, result: WriteResult, fx: &mut Effects<Self>) -> Step {
        if let Phase::Discarding { .. } = phase {
            return self.give_back(fx, input);
        }
        if result != WriteResult::Ok {
            return match phase {
                Phase::Committing { key, kver, .. } if result == WriteResult::Conflict && self.variant != Variant::NoCleanup => {
                    fx.put(STORE, *key, Doc::default(), *kver);
                    Self::work(input, Phase::Discarding { key: *key, kver: *kver })
                }
                _ => self.give_back(fx, input),
            };
        }
        match phase {
            Phase::Staging { entity, version, out, key, kver } => {
                let doc = entity.with_txn(Txn { input, key: *key }, *out);
                fx.put(STORE, ENTITY, doc.clone(), *version);
                Self::work(input, Phase::Committing { doc, version: *version, out: *out, key: *key, kver: kver + 1 })
            }
            Phase::Committing { doc, version, out, key, .. } => {
                self.advance(fx, input, Txn { input, key: *key }, doc.clone(), version + 1, Some(*out), false, 1)
            }
            Phase::Completing { txn, entity, version, out, step, restart } => {
                self.advance(fx, input, *txn, entity.clone(), *version, *out, *restart, step + 1)
            }
            _ => unreachable!("a write answered while reading"),
        }
    }
}

impl Protocol for OutboxOutOfDocumentProtocol {
    type Doc = Doc;

    type Output = Output;
    type Work = Work;

    /// Picks the step by the work's phase, as `OnEvent` does.
    fn on_event(&self, work: Option<&Work>, event: Event<Doc>, fx: &mut Effects<Self>) -> Step {
        match (work, event) {
            (None, Event::Delivered(input)) => self.on_delivered(input, fx),
            (Some(&Work { input, phase: Phase::LoadingEntity }), Event::Loaded { version, doc, .. }) => self.on_entity(input, version, doc, fx),
            (Some(Work { input, phase: Phase::LoadingRecord { entity, version } }), Event::Loaded { version: read, doc, .. }) => {
                self.on_record(*input, entity, *version, read, doc, fx)
            }
            (Some(Work { input, phase: Phase::LoadingTxn { txn, entity, version } }), Event::Loaded { doc, .. }) => {
                self.on_txn_record(*input, *txn, entity, *version, doc, fx)
            }
            (Some(Work { input, phase }), Event::Written { result, .. }) => self.on_written(*input, phase, result, fx),
            (work, event) => unreachable!("outbox-out-of-document handler got {event:?} while {work:?}"),
        }
    }

    fn changes(key: Key, doc: &Doc) -> Vec<Input> {
        ledger::changes_in::<Self>(key, doc)
    }
}

impl LedgerProtocol for OutboxOutOfDocumentProtocol {
    const KEY: u8 = ENTITY;
    fn ledger(doc: &Doc) -> &Ledger {
        &doc.ledger
    }
}

type V<'a> = View<'a, OutboxOutOfDocumentProtocol>;

fn entity(v: &V) -> Doc {
    v.store(STORE).doc(ENTITY)
}

/// The entity never holds more than one transaction.
fn bounded_dedup_state(v: &V) -> bool {
    entity(v).txns.len() <= 1
}

/// At quiescence, no more outbox records are left than failures were spent: a committed
/// transaction's record is deleted once it is complete and a losing attempt's once its commit
/// conflicted; only a failure (a crash, a write in doubt) can leave one behind.
fn no_garbage(v: &V) -> bool {
    situations::at_quiescence(v, |v| {
        let records = v.store(STORE).docs.iter().filter(|(_, _, d)| d.record.is_some()).count();
        v.failures_used().is_some_and(|used| records <= used)
    })
}

/// A handler is loading the entity for a copy of an input whose change is committed.
fn duplicate_delivered(v: &V) -> bool {
    let e = entity(v);
    situations::some_handler_holds(v, |w: &Work, _| w.phase == Phase::LoadingEntity && e.ledger.stored(w.input).is_some())
}

/// A handler is down between two of its store writes: its input's change is committed, and the
/// input is not marked done or its transaction is still in the entity.
fn crash_between_writes(v: &V) -> bool {
    let e = entity(v);
    situations::some_handler_holds(v, |w: &Work, down| {
        down && matches!(w.phase, Phase::Committing { .. } | Phase::Completing { .. })
            && e.ledger.stored(w.input).is_some()
            && (!v.store(STORE).doc(DONE_KEYS + w.input).done || e.txns.iter().any(|t| t.input == w.input))
    })
}

/// A handler is completing the unfinished transaction of another input before its own.
fn completes_other_transaction(v: &V) -> bool {
    situations::some_handler_holds(v, |w: &Work, _| matches!(w.phase, Phase::LoadingTxn { txn, .. } if txn.input != w.input))
}

/// A handler that is up deletes the record it staged, its commit having conflicted.
fn discards_losing_record(v: &V) -> bool {
    situations::some_handler_holds(v, |w: &Work, down| !down && matches!(w.phase, Phase::Discarding { .. }))
}

const PROPERTIES: &[Property<OutboxOutOfDocumentProtocol>] = &[
    ledger::no_ghost_messages(),
    ledger::no_lost_messages(),
    ledger::at_most_once_state_change(),
    ledger::consistent_output(),
    ledger::exactly_once_outcome(),
    property!("BoundedDedupState", Invariant, "the entity never holds more than one transaction", bounded_dedup_state),
    property!("NoGarbage", Invariant, "at quiescence no more outbox records are left than failures were spent", no_garbage),
    situations::termination(),
    property!("DuplicateDelivered", Sometimes, "a handler is loading the entity for a copy of an input whose change is committed", duplicate_delivered),
    property!("DuplicateRace", Sometimes, ledger::DUPLICATE_RACE, |v| ledger::duplicate_race(v, |w: &Work| w.input)),
    property!("CrashBetweenWrites", Sometimes, "a handler is down after its commit, with its input not marked done or its transaction not cleared", crash_between_writes),
    property!("CompletesOtherTransaction", Sometimes, "a handler completes another input's unfinished transaction before its own", completes_other_transaction),
    property!("DiscardsLosingRecord", Sometimes, "a handler that is up deletes the record it staged, its commit having conflicted", discards_losing_record),
];


impl WorldFamily for OutboxOutOfDocumentFamily {
    type P = OutboxOutOfDocumentProtocol;
    const ID: &'static str = "outbox-out-of-document";
    const MODULE: &'static str = "OutboxOutOfDocument";
    const SUMMARY: &'static str =
        "The outbox for small documents: one transaction in the entity, its record under a fresh id in another store.";
    const VARIANTS: &'static [&'static str] = Variant::NAMES;
    const UNREACHABLE: &'static [(&'static str, &'static str)] = &[
        ("CrashAfterPublishBeforeAck", "its handler acks only after the writes that follow its dispatch"),
    ];
    const PROPERTIES: &'static [Property<OutboxOutOfDocumentProtocol>] = PROPERTIES;
    fn world(&self, consts: &Consts) -> crate::world::World<OutboxOutOfDocumentProtocol> {
        crate::world::world(OutboxOutOfDocumentProtocol { variant: Variant::parse(consts.string("Variant")) }, consts, 1)
    }
}

/// The TLA+ twin's names for this family's work, documents and outputs.
impl TlaMap for OutboxOutOfDocumentProtocol {
    /// `[input, phase, txn, ent, ver, out, key, kver, step, restart]`: fields a phase does not
    /// use are `[input |-> 0, key |-> 0]`, the empty document, 0, `{}`, 0, 0, 0 and FALSE; `out`
    /// is `{output}` or `{}`.
    fn tla_work(&self, w: &Work, names: &TlaNames) -> Value {
        let empty = Doc::default();
        let none = Txn::default();
        let (phase, txn, ent, ver, out, key, kver, step, restart) = match &w.phase {
            Phase::LoadingEntity => ("LoadingEntity", none, &empty, 0, None, 0, 0, 0, false),
            Phase::LoadingTxn { txn, entity, version } => ("LoadingTxn", *txn, entity, *version, None, 0, 0, 0, false),
            Phase::LoadingRecord { entity, version } => ("LoadingRecord", none, entity, *version, None, 0, 0, 0, false),
            Phase::Staging { entity, version, out, key, kver } => ("Staging", none, entity, *version, Some(*out), *key, *kver, 0, false),
            Phase::Committing { doc, version, out, key, kver } => ("Committing", none, doc, *version, Some(*out), *key, *kver, 0, false),
            Phase::Discarding { key, kver } => ("Discarding", none, &empty, 0, None, *key, *kver, 0, false),
            Phase::Completing { txn, entity, version, out, step, restart } => {
                ("Completing", *txn, entity, *version, *out, 0, 0, *step, *restart)
            }
        };
        record([
            ("input", int(w.input)),
            ("phase", string(phase)),
            ("txn", tla::from_serde(&txn)),
            ("ent", self.tla_doc(ent, names)),
            ("ver", int(ver)),
            ("out", opt(out.map(|o| tla::from_serde(&o)))),
            ("key", int(key)),
            ("kver", int(kver)),
            ("step", int(step)),
            ("restart", Value::Bool(restart)),
        ])
    }

    /// `[ledger, txns, record, done]`: `txns` a set of `[input, key]`, `record` `{output}` or `{}`.
    fn tla_doc(&self, d: &Doc, _: &TlaNames) -> Value {
        record([
            ("ledger", tla::from_serde(&d.ledger)),
            ("txns", Value::Set(d.txns.iter().map(tla::from_serde).collect())),
            ("record", opt(d.record.map(|r| tla::from_serde(&r)))),
            ("done", Value::Bool(d.done)),
        ])
    }
}
