//! `outbox-out-of-document`: the outbox for stores with small documents and no transactions
//! across documents (Cosmos DB, DynamoDB). The entity document keeps the business state and one
//! field: the id of its committed, unfinished transaction. The outbox record of a transaction
//! lives in another store, under the transaction id (here the input's id), and doubles as the
//! dedup record: once marked done, the input is known as processed.
//!
//! The handler reads its input's outbox record; a done record means a duplicate: ack. Then it
//! loads the entity; if the entity holds an unfinished transaction (of any input), it completes
//! it first (reads its record, dispatches its output, marks the record done, clears the field)
//! and starts over. Otherwise it runs the business logic, stages the outbox record (a write with
//! a version check on the record), commits the state with the transaction id (a version check on
//! the entity), dispatches, marks the record done, clears the field and acks.
//!
//! Both stores are documents of the one store actor (entity under key 0, the outbox record of
//! input `m` under key 10 + m): nothing is atomic across documents. Twin of
//! `specs/outbox-out-of-document/OutboxOutOfDocument.tla`.

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
        /// Stage the record, commit state and transaction id, dispatch, mark the record done, clear.
        Correct,
        /// Dispatch the output before staging and committing: ghost messages.
        DispatchBeforeCommit,
        /// Mark the record done before dispatching: a crash in between loses the output.
        MarkBeforeDispatch,
        /// Clear the entity's transaction id before marking the record done: a crash in between
        /// leaves an input neither known as processed nor pending, and it is processed again.
        ClearBeforeMark,
        /// Do not complete another input's unfinished transaction first: add a second id beside it.
        SkipCompletion,
        /// On a failed or conflicting write, drop the input without nacking it.
        GiveUp,
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

/// An outbox record: the transaction's output, and whether it is done (dispatched; the input is
/// then known as processed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Record {
    pub out: Output,
    pub done: bool,
}

/// A document. The entity uses `ledger` and `txns` (the ids of its committed, unfinished
/// transactions, sorted: at most one, but in `SkipCompletion`); an outbox record uses `record`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Doc {
    pub ledger: Ledger,
    pub txns: Vec<Input>,
    pub record: Option<Record>,
}

impl Doc {
    fn with_txn(&self, input: Input, out: Output) -> Doc {
        let mut next = Doc { ledger: self.ledger.with(input, out.position), txns: self.txns.clone(), record: None };
        let at = next.txns.partition_point(|t| *t < input);
        next.txns.insert(at, input);
        next
    }
    fn without_txn(&self, txn: Input) -> Doc {
        let mut next = self.clone();
        next.txns.retain(|t| *t != txn);
        next
    }
    fn record(out: Output, done: bool) -> Doc {
        Doc { record: Some(Record { out, done }), ..Doc::default() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    /// Reading the input's outbox record.
    LoadingRecord,
    /// Loading the entity; the record (not done) was read at `record`.
    LoadingEntity { record: Version },
    /// Reading the record of the entity's unfinished transaction `txn`, to complete it.
    LoadingTxn { txn: Input, entity: Doc, version: Version },
    /// Staging the record; then commit `entity` (read at `version`).
    Staging { entity: Doc, version: Version, out: Output },
    /// Committing the entity `doc` (read at `version`) with the transaction.
    Committing { doc: Doc, version: Version, out: Output },
    /// Completing transaction `txn` of `entity` (at `version`): writing its record done (`marking`)
    /// or clearing its id. Then start over (`restart`: it was found in the entity), or ack.
    Completing { txn: Input, entity: Doc, version: Version, out: Option<Output>, marking: bool, restart: bool },
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
/// The outbox record of transaction (input) `m` is under `RECORD_KEYS + m`.
const RECORD_KEYS: Key = 10;

type Step = Option<Work>;

impl OutboxOutOfDocumentProtocol {
    fn work(input: Input, phase: Phase) -> Step {
        Some(Work { input, phase })
    }

    /// Complete transaction `txn` of `entity` (at `version`), whose output is `out` (None: no
    /// record to dispatch): the first of its steps, in the variant's order. Once it is complete,
    /// start over (`restart`) or ack.
    #[allow(clippy::too_many_arguments)] // the TLA+ twin's parameters, and the effects
    fn complete(&self, fx: &mut Effects<Self>, input: Input, txn: Input, entity: Doc, version: Version, out: Option<Output>, restart: bool) -> Step {
        let dispatch_first = self.variant != Variant::MarkBeforeDispatch;
        if dispatch_first {
            if let Some(o) = out {
                fx.publish(o);
            }
        }
        if self.variant == Variant::ClearBeforeMark {
            fx.put(STORE, ENTITY, entity.without_txn(txn), version);
            return Self::work(input, Phase::Completing { txn, entity, version, out, marking: false, restart });
        }
        match out {
            Some(o) => {
                fx.put_unchecked(STORE, RECORD_KEYS + txn, Doc::record(o, true));
                Self::work(input, Phase::Completing { txn, entity, version, out, marking: true, restart })
            }
            None => {
                fx.put(STORE, ENTITY, entity.without_txn(txn), version);
                Self::work(input, Phase::Completing { txn, entity, version, out, marking: false, restart })
            }
        }
    }

    /// The next step of a completion once a write of it succeeded.
    fn completed_step(&self, fx: &mut Effects<Self>, input: Input, phase: &Phase) -> Step {
        let Phase::Completing { txn, entity, version, out, marking, restart } = phase else { unreachable!() };
        let (txn, version, out, restart) = (*txn, *version, *out, *restart);
        if *marking {
            if self.variant == Variant::MarkBeforeDispatch {
                if let Some(o) = out {
                    fx.publish(o);
                }
            }
            if self.variant == Variant::ClearBeforeMark {
                return self.finished(fx, input, restart);
            }
            fx.put(STORE, ENTITY, entity.without_txn(txn), version);
            return Self::work(input, Phase::Completing { txn, entity: entity.clone(), version, out, marking: false, restart });
        }
        // The id is cleared.
        if self.variant == Variant::ClearBeforeMark {
            if let Some(o) = out {
                fx.put_unchecked(STORE, RECORD_KEYS + txn, Doc::record(o, true));
                return Self::work(input, Phase::Completing { txn, entity: entity.clone(), version, out, marking: true, restart });
            }
        }
        self.finished(fx, input, restart)
    }

    /// Done with a completion: start over (`restart`), or ack.
    fn finished(&self, fx: &mut Effects<Self>, input: Input, restart: bool) -> Step {
        if restart {
            fx.get(STORE, RECORD_KEYS + input);
            return Self::work(input, Phase::LoadingRecord);
        }
        fx.ack(input);
        None
    }
}

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are.
impl OutboxOutOfDocumentProtocol {
    /// Idle: an input is delivered; read its outbox record.
    fn on_delivered(&self, input: Input, fx: &mut Effects<Self>) -> Step {
        fx.get(STORE, RECORD_KEYS + input);
        Self::work(input, Phase::LoadingRecord)
    }

    /// The input's record is read (at `version`): done means processed; else load the entity.
    fn on_record(&self, input: Input, version: Version, doc: Doc, fx: &mut Effects<Self>) -> Step {
        if doc.record.is_some_and(|r| r.done) {
            fx.ack(input);
            return None;
        }
        fx.get(STORE, ENTITY);
        Self::work(input, Phase::LoadingEntity { record: version })
    }

    /// The entity is loaded: complete an unfinished transaction first (in `SkipCompletion` only
    /// our own), else stage the record (read at `record`).
    fn on_entity(&self, input: Input, record: Version, version: Version, doc: Doc, fx: &mut Effects<Self>) -> Step {
        let pending = doc.txns.iter().copied().find(|t| self.variant != Variant::SkipCompletion || *t == input);
        if let Some(txn) = pending {
            fx.get(STORE, RECORD_KEYS + txn);
            return Self::work(input, Phase::LoadingTxn { txn, entity: doc, version });
        }
        let out = Output { id: fresh_key(fx.fresh_id()), input, position: doc.ledger.next_position() };
        if self.variant == Variant::DispatchBeforeCommit {
            fx.publish(out);
        }
        fx.put(STORE, RECORD_KEYS + input, Doc::record(out, false), record);
        Self::work(input, Phase::Staging { entity: doc, version, out })
    }

    /// The record of transaction `txn` of `entity` (read at `version`) is read: dispatch its
    /// output, unless it is done already or missing.
    fn on_txn_record(&self, input: Input, txn: Input, entity: &Doc, version: Version, doc: Doc, fx: &mut Effects<Self>) -> Step {
        let out = doc.record.filter(|r| !r.done).map(|r| r.out);
        self.complete(fx, input, txn, entity.clone(), version, out, true)
    }

    /// A write is answered.
    fn on_written(&self, input: Input, phase: &Phase, result: WriteResult, fx: &mut Effects<Self>) -> Step {
        if result != WriteResult::Ok {
            if self.variant != Variant::GiveUp {
                fx.nack(input);
            }
            return None;
        }
        match phase {
            Phase::Staging { entity, version, out } => {
                let doc = entity.with_txn(input, *out);
                fx.put(STORE, ENTITY, doc.clone(), *version);
                Self::work(input, Phase::Committing { doc, version: *version, out: *out })
            }
            Phase::Committing { doc, version, out } => self.complete(fx, input, input, doc.clone(), version + 1, Some(*out), false),
            Phase::Completing { .. } => self.completed_step(fx, input, phase),
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
            (Some(&Work { input, phase: Phase::LoadingRecord }), Event::Loaded { version, doc, .. }) => self.on_record(input, version, doc, fx),
            (Some(&Work { input, phase: Phase::LoadingEntity { record } }), Event::Loaded { version, doc, .. }) => {
                self.on_entity(input, record, version, doc, fx)
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

fn record_done(v: &View<'_, OutboxOutOfDocumentProtocol>, input: Input) -> bool {
    v.store(STORE).doc(RECORD_KEYS + input).record.is_some_and(|r| r.done)
}

/// The entity never holds more than one transaction id.
fn bounded_dedup_state(v: &V) -> bool {
    v.store(STORE).doc(ENTITY).txns.len() <= 1
}

/// A handler is reading the outbox record of a copy of an input whose change is committed.
fn duplicate_delivered(v: &V) -> bool {
    let e = v.store(STORE).doc(ENTITY);
    situations::some_handler_holds(v, |w: &Work, _| w.phase == Phase::LoadingRecord && e.ledger.stored(w.input).is_some())
}


/// A handler is down between two of its store writes: its input's change is committed, and its
/// record is not done or its transaction id is still in the entity.
fn crash_between_writes(v: &V) -> bool {
    let e = v.store(STORE).doc(ENTITY);
    situations::some_handler_holds(v, |w: &Work, down| {
        down && matches!(w.phase, Phase::Committing { .. } | Phase::Completing { .. })
            && e.ledger.stored(w.input).is_some()
            && (!record_done(v, w.input) || e.txns.contains(&w.input))
    })
}

/// A handler is completing the unfinished transaction of another input before its own.
fn completes_other_transaction(v: &V) -> bool {
    situations::some_handler_holds(v, |w: &Work, _| matches!(w.phase, Phase::LoadingTxn { txn, .. } if txn != w.input))
}

const PROPERTIES: &[Property<OutboxOutOfDocumentProtocol>] = &[
    ledger::no_ghost_messages(),
    ledger::no_lost_messages(),
    ledger::at_most_once_state_change(),
    ledger::consistent_output(),
    ledger::exactly_once_outcome(),
    property!("BoundedDedupState", Invariant, "the entity never holds more than one transaction id", bounded_dedup_state),
    situations::termination(),
    property!("DuplicateDelivered", Sometimes, "a handler is reading the outbox record of a copy of an input whose change is committed", duplicate_delivered),
    property!("DuplicateRace", Sometimes, ledger::DUPLICATE_RACE, |v| ledger::duplicate_race(v, |w: &Work| w.input)),
    property!("CrashBetweenWrites", Sometimes, "a handler is down after its commit, with its record not done or its transaction id not cleared", crash_between_writes),
    property!("CompletesOtherTransaction", Sometimes, "a handler completes another input's unfinished transaction before its own", completes_other_transaction),
];


impl WorldFamily for OutboxOutOfDocumentFamily {
    type P = OutboxOutOfDocumentProtocol;
    const ID: &'static str = "outbox-out-of-document";
    const MODULE: &'static str = "OutboxOutOfDocument";
    const SUMMARY: &'static str =
        "The outbox for small documents: one transaction id in the entity, the outbox record in another store.";
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
    /// `[input, phase, txn, ent, ver, out, marking, restart]`: fields a phase does not use are
    /// 0, the empty document, 0, `{}`, FALSE and FALSE; `out` is `{output}` or `{}`.
    fn tla_work(&self, w: &Work, names: &TlaNames) -> Value {
        let empty = Doc::default();
        let (phase, txn, ent, ver, out, marking, restart) = match &w.phase {
            Phase::LoadingRecord => ("LoadingRecord", 0, &empty, 0, None, false, false),
            Phase::LoadingEntity { record } => ("LoadingEntity", 0, &empty, *record, None, false, false),
            Phase::LoadingTxn { txn, entity, version } => ("LoadingTxn", *txn, entity, *version, None, false, false),
            Phase::Staging { entity, version, out } => ("Staging", 0, entity, *version, Some(*out), false, false),
            Phase::Committing { doc, version, out } => ("Committing", 0, doc, *version, Some(*out), false, false),
            Phase::Completing { txn, entity, version, out, marking, restart } => {
                ("Completing", *txn, entity, *version, *out, *marking, *restart)
            }
        };
        record([
            ("input", int(w.input)),
            ("phase", string(phase)),
            ("txn", int(txn)),
            ("ent", self.tla_doc(ent, names)),
            ("ver", int(ver)),
            ("out", opt(out.map(|o| tla::from_serde(&o)))),
            ("marking", Value::Bool(marking)),
            ("restart", Value::Bool(restart)),
        ])
    }

    /// `[ledger, txns, record]`: `txns` a set, `record` `{[out, done]}` or `{}`.
    fn tla_doc(&self, d: &Doc, _: &TlaNames) -> Value {
        record([
            ("ledger", tla::from_serde(&d.ledger)),
            ("txns", Value::Set(d.txns.iter().map(|t| int(*t)).collect())),
            ("record", opt(d.record.map(|r| tla::from_serde(&r)))),
        ])
    }
}
