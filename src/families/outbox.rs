//! `outbox`: the classic outbox inside the entity document. The handler loads the entity; if the
//! input's id is not in the document, it runs the business logic and commits the new state, the
//! input's id and an outbox entry holding the output in one document write (with a version
//! check); then it dispatches the entry's output, clears the entry (keeping the id) and acks. A
//! copy whose id is known dispatches the entry if it is still pending, else it just acks.
//!
//! The business state is a ledger of applied changes (as in `handler`); the output of input `m`
//! reports the position its change took. Twin of `specs/outbox/Outbox.tla`.

use super::situations::{self};
use super::world_family::WorldFamily;
use super::ledger::{Ledger, Output};
use crate::property;
use crate::world::Property;
use crate::world::{TlaMap, Effects, Event, Input, Key, Protocol, TlaNames, Version, View, WriteResult};
use crate::core::tla::{self, int, opt, record, string, Value};
use crate::families::ledger::{self, LedgerProtocol};
use crate::core::vocab::{Consts};
use serde::Serialize;

pub struct OutboxFamily;
pub static OUTBOX: OutboxFamily = OutboxFamily;

crate::variants! {
    pub enum Variant {
        /// Commit state, id and entry in one write; dispatch; clear the entry, keep the id; ack.
        Correct,
        /// Dispatch the output first, then commit (the entry already cleared): ghost messages.
        DispatchBeforeCommit,
        /// Clear the entry, then dispatch: a crash in between loses the output.
        ClearBeforeDispatch,
        /// Every write without a version check: the last writer wins.
        NoVersionCheck,
        /// The clear removes the id with the entry: a later duplicate is processed again.
        RemoveIdOnClear,
        /// On a failed or conflicting write, drop the input without nacking it.
        GiveUp,
    }
}



/// The entity document: the business state and the outbox, written together.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Entity {
    pub ledger: Ledger,
    /// One entry per processed input, sorted by input: its output while not yet dispatched,
    /// None once dispatched (the id stays).
    pub outbox: Vec<(Input, Option<Output>)>,
}

impl Entity {
    /// The input's entry: None if its id is unknown, Some(None) once dispatched.
    pub fn entry(&self, input: Input) -> Option<Option<Output>> {
        ledger::entry_of(&self.outbox, input)
    }
    /// The business logic's result committed with the input's id and a pending entry.
    fn committed(&self, input: Input, out: Output) -> Entity {
        Entity { ledger: self.ledger.with(input, out.position), outbox: ledger::with_entry(&self.outbox, input, Some(out)) }
    }
    /// The entity with the input's entry cleared; without `keep_id`, the id goes too.
    fn cleared(&self, input: Input, keep_id: bool) -> Entity {
        let mut next = self.clone();
        if keep_id {
            next.outbox.iter_mut().filter(|(m, _)| *m == input).for_each(|(_, o)| *o = None);
        } else {
            next.outbox = ledger::without_entry(&next.outbox, input);
        }
        next
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    Loading,
    /// The commit of `doc` (read at `version`) is on its way; `out` is the output it holds.
    Committing { doc: Entity, version: Version, out: Output },
    /// The clear is on its way; then publish `publish_after`, if any, and ack.
    Clearing { publish_after: Option<Output> },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Work {
    pub input: Input,
    pub phase: Phase,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct OutboxProtocol {
    pub variant: Variant,
}

const STORE: usize = 0;
const KEY: u8 = 0;

impl OutboxProtocol {
    /// A document write: with a version check, but in `NoVersionCheck`.
    fn write(&self, fx: &mut Effects<Self>, doc: Entity, version: Version) {
        if self.variant == Variant::NoVersionCheck {
            fx.put_unchecked(STORE, KEY, doc);
        } else {
            fx.put(STORE, KEY, doc, version);
        }
    }

    /// Dispatch the pending entry of `input` in `doc` (at `version`) and clear it.
    fn dispatch_and_clear(&self, fx: &mut Effects<Self>, input: Input, doc: &Entity, version: Version, out: Output) -> Option<Work> {
        let cleared = doc.cleared(input, self.variant != Variant::RemoveIdOnClear);
        if self.variant == Variant::ClearBeforeDispatch {
            self.write(fx, cleared, version);
            return Some(Work { input, phase: Phase::Clearing { publish_after: Some(out) } });
        }
        fx.publish(out);
        self.write(fx, cleared, version);
        Some(Work { input, phase: Phase::Clearing { publish_after: None } })
    }
}

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are.
impl OutboxProtocol {
    /// Idle: an input is delivered; load the entity.
    fn on_delivered(&self, input: Input, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, KEY);
        Some(Work { input, phase: Phase::Loading })
    }

    /// The entity is loaded: process a new input, or dispatch a pending entry, or ack.
    fn on_loaded(&self, input: Input, version: Version, doc: Entity, fx: &mut Effects<Self>) -> Option<Work> {
        match doc.entry(input) {
            None => {
                let out = Output { input, position: doc.ledger.next_position() };
                let mut committed = doc.committed(input, out);
                if self.variant == Variant::DispatchBeforeCommit {
                    // Already dispatched: commit the entry as cleared.
                    fx.publish(out);
                    committed = committed.cleared(input, true);
                }
                self.write(fx, committed.clone(), version);
                Some(Work { input, phase: Phase::Committing { doc: committed, version, out } })
            }
            Some(Some(out)) => self.dispatch_and_clear(fx, input, &doc, version, out),
            Some(None) => {
                fx.ack(input);
                None
            }
        }
    }

    /// A write is answered.
    fn on_written(&self, input: Input, phase: &Phase, result: WriteResult, fx: &mut Effects<Self>) -> Option<Work> {
        if result != WriteResult::Ok {
            if self.variant != Variant::GiveUp {
                fx.nack(input);
            }
            return None;
        }
        match phase {
            Phase::Committing { .. } if self.variant == Variant::DispatchBeforeCommit => {
                fx.ack(input);
                None
            }
            Phase::Committing { doc, version, out } => self.dispatch_and_clear(fx, input, doc, version + 1, *out),
            Phase::Clearing { publish_after } => {
                if let Some(out) = publish_after {
                    fx.publish(*out);
                }
                fx.ack(input);
                None
            }
            Phase::Loading => unreachable!("a write answered while loading"),
        }
    }
}

impl Protocol for OutboxProtocol {
    type Doc = Entity;
    type Output = Output;
    type Work = Work;

    /// Picks the step by the work's phase, as `OnEvent` does.
    fn on_event(&self, work: Option<&Work>, event: Event<Entity>, fx: &mut Effects<Self>) -> Option<Work> {
        match (work, event) {
            (None, Event::Delivered(input)) => self.on_delivered(input, fx),
            (Some(&Work { input, phase: Phase::Loading }), Event::Loaded { version, doc, .. }) => self.on_loaded(input, version, doc, fx),
            (Some(Work { input, phase }), Event::Written { result, .. }) => self.on_written(*input, phase, result, fx),
            (work, event) => unreachable!("outbox handler got {event:?} while {work:?}"),
        }
    }

    fn changes(key: Key, doc: &Entity) -> Vec<Input> {
        ledger::changes_in::<Self>(key, doc)
    }
}

impl LedgerProtocol for OutboxProtocol {
    const KEY: u8 = KEY;
    fn ledger(doc: &Entity) -> &Ledger {
        &doc.ledger
    }
}

type V<'a> = View<'a, OutboxProtocol>;

fn entity(v: &View<'_, OutboxProtocol>) -> Entity {
    v.store(STORE).doc(KEY)
}

/// The document holds no more ids than there are inputs the broker may still deliver.
fn bounded_dedup_state(v: &V) -> bool {
    entity(v).outbox.len() <= situations::inputs_in_flight(v)
}

/// A handler is loading a copy of an input whose id is already in the document.
fn duplicate_delivered(v: &V) -> bool {
    let e = entity(v);
    let found = v.handlers().any(|(h, _)| {
        h.work.as_ref().is_some_and(|w| w.phase == Phase::Loading && e.entry(w.input).is_some())
    });
    found
}

/// A handler is about to load a document in which its input's entry is still pending: it will
/// dispatch an output committed by an earlier attempt.
fn pending_entry_found(v: &V) -> bool {
    situations::about_to_load(v, |w: &Work, doc: &Entity| {
        w.phase == Phase::Loading && matches!(doc.entry(w.input), Some(Some(_)))
    })
}

const PROPERTIES: &[Property<OutboxProtocol>] = &[
    ledger::no_ghost_messages(),
    ledger::no_lost_messages(),
    ledger::at_most_once_state_change(),
    ledger::consistent_output(),
    ledger::exactly_once_outcome(),
    property!("BoundedDedupState", Invariant, "the document holds no more ids than inputs the broker may still deliver", bounded_dedup_state),
    situations::termination(),
    property!("DuplicateDelivered", Sometimes, "a handler is loading a copy of an input whose id is already in the document", duplicate_delivered),
    property!("PendingEntryFound", Sometimes, "a handler is about to load its input's entry still pending, committed by an earlier attempt", pending_entry_found),
];


impl WorldFamily for OutboxFamily {
    type P = OutboxProtocol;
    const ID: &'static str = "outbox";
    const MODULE: &'static str = "Outbox";
    const SUMMARY: &'static str =
        "The outbox inside the entity document: state, id and outgoing messages committed together, then dispatched.";
    const VARIANTS: &'static [&'static str] = Variant::NAMES;
    const UNREACHABLE: &'static [(&'static str, &'static str)] = &[
        ("CrashAfterPublishBeforeAck", "its handler acks only after the write that follows its dispatch (clearing the outbox)"),
    ];
    const PROPERTIES: &'static [Property<OutboxProtocol>] = PROPERTIES;
    /// No fresh ids: nothing in a state names a handler but its own slot.
    const SYMMETRIC: bool = true;
    fn world(&self, consts: &Consts) -> crate::world::World<OutboxProtocol> {
        crate::world::world(OutboxProtocol { variant: Variant::parse(consts.string("Variant")) }, consts, 1)
    }
}

/// The TLA+ twin's names for this family's work, documents and outputs.
impl TlaMap for OutboxProtocol {
    fn tla_work(&self, w: &Work, names: &TlaNames) -> Value {
        let empty = Entity::default();
        let (phase, doc, version, out) = match &w.phase {
            Phase::Loading => ("Loading", &empty, 0, None),
            Phase::Committing { doc, version, out } => ("Committing", doc, *version, Some(out)),
            Phase::Clearing { publish_after } => ("Clearing", &empty, 0, publish_after.as_ref()),
        };
        record([
            ("input", int(w.input)),
            ("phase", string(phase)),
            ("doc", self.tla_doc(doc, names)),
            ("version", int(version)),
            ("out", opt(out.map(tla::from_serde))),
        ])
    }

    fn tla_doc(&self, d: &Entity, _: &TlaNames) -> Value {
        let outbox = d.outbox.iter().map(|(m, o)| (int(*m), opt(o.as_ref().map(tla::from_serde))));
        record([("ledger", tla::from_serde(&d.ledger)), ("outbox", Value::Function(outbox.collect()))])
    }
}
