//! `outbox`: the classic outbox inside the entity document. The handler loads the entity; if the
//! input's id is not in the document, it runs the business logic and commits the new state, the
//! input's id and an outbox entry holding the output in one document write (with a version
//! check); then it dispatches the entry's output, clears the entry (keeping the id) and acks. A
//! copy whose id is known dispatches the entry if it is still pending, else it just acks.
//!
//! The business state is a ledger of applied changes (as in `handler`); the output of input `m`
//! reports the position its change took. Twin of `specs/outbox/Outbox.tla`.

use crate::actors::{Effects, Event, Input, Protocol, TlaNames, Version, View, WorldModel, WorldState, WriteResult};
use crate::tla::{self, int, opt, record, string, Value};
use crate::check::Cond;
use crate::families::handler::{Ledger, Output};
use crate::families::ledger_world::{self, LedgerProtocol};
use crate::family::{Consts, Kind, PropertyDef};
use super::common::WorldFamily;
use serde::Serialize;

pub struct OutboxFamily;
pub static OUTBOX: OutboxFamily = OutboxFamily;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
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

const VARIANTS: &[&str] =
    &["Correct", "DispatchBeforeCommit", "ClearBeforeDispatch", "NoVersionCheck", "RemoveIdOnClear", "GiveUp"];

impl Variant {
    fn parse(s: &str) -> Variant {
        match s {
            "Correct" => Variant::Correct,
            "DispatchBeforeCommit" => Variant::DispatchBeforeCommit,
            "ClearBeforeDispatch" => Variant::ClearBeforeDispatch,
            "NoVersionCheck" => Variant::NoVersionCheck,
            "RemoveIdOnClear" => Variant::RemoveIdOnClear,
            "GiveUp" => Variant::GiveUp,
            other => unreachable!("variant {other} was validated"),
        }
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
        ledger_world::entry_of(&self.outbox, input)
    }
    /// The business logic's result committed with the input's id and a pending entry.
    fn committed(&self, input: Input, out: Output) -> Entity {
        Entity { ledger: self.ledger.with(input, out.position), outbox: ledger_world::with_entry(&self.outbox, input, Some(out)) }
    }
    /// The entity with the input's entry cleared; without `keep_id`, the id goes too.
    fn cleared(&self, input: Input, keep_id: bool) -> Entity {
        let mut next = self.clone();
        if keep_id {
            next.outbox.iter_mut().filter(|(m, _)| *m == input).for_each(|(_, o)| *o = None);
        } else {
            next.outbox = ledger_world::without_entry(&next.outbox, input);
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

impl Protocol for OutboxProtocol {
    type Doc = Entity;
    type Output = Output;
    type Work = Work;

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

    fn on_event(&self, work: Option<&Work>, event: Event<Entity>, fx: &mut Effects<Self>) -> Option<Work> {
        match (work, event) {
            (None, Event::Delivered(input)) => {
                fx.get(STORE, KEY);
                Some(Work { input, phase: Phase::Loading })
            }
            (Some(&Work { input, phase: Phase::Loading }), Event::Loaded { version, doc, .. }) => match doc.entry(input) {
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
            },
            (Some(Work { input, phase }), Event::Written { result: WriteResult::Ok, .. }) => match phase {
                Phase::Committing { .. } if self.variant == Variant::DispatchBeforeCommit => {
                    fx.ack(*input);
                    None
                }
                Phase::Committing { doc, version, out } => self.dispatch_and_clear(fx, *input, doc, version + 1, *out),
                Phase::Clearing { publish_after } => {
                    if let Some(out) = publish_after {
                        fx.publish(*out);
                    }
                    fx.ack(*input);
                    None
                }
                Phase::Loading => unreachable!("a write answered while loading"),
            },
            (Some(w), Event::Written { .. }) => {
                if self.variant != Variant::GiveUp {
                    fx.nack(w.input);
                }
                None
            }
            (work, event) => unreachable!("outbox handler got {event:?} while {work:?}"),
        }
    }
}

impl LedgerProtocol for OutboxProtocol {
    const KEY: u8 = KEY;
    fn ledger(doc: &Entity) -> &Ledger {
        &doc.ledger
    }
}

type M = WorldModel<OutboxProtocol>;
type S = WorldState<OutboxProtocol>;

fn entity(v: &View<'_, OutboxProtocol>) -> Entity {
    v.store(STORE).doc(KEY)
}

/// The document holds no more ids than there are inputs the broker may still deliver.
fn bounded_dedup_state(m: &M, s: &S) -> bool {
    let v = View::new(m, s);
    entity(&v).outbox.len() <= ledger_world::inputs_in_flight(&v)
}

/// A handler is loading a copy of an input whose id is already in the document.
fn duplicate_delivered(m: &M, s: &S) -> bool {
    let v = View::new(m, s);
    let e = entity(&v);
    let found = v.handlers().any(|(h, _)| {
        h.work.as_ref().is_some_and(|w| w.phase == Phase::Loading && e.entry(w.input).is_some())
    });
    found
}

/// A handler is down after its commit applied and before the entry's output was dispatched.
fn crash_mid_processing(m: &M, s: &S) -> bool {
    let v = View::new(m, s);
    let e = entity(&v);
    let found = v.handlers().any(|(h, crashed)| {
        crashed
            && h.work.as_ref().is_some_and(|w| {
                matches!(w.phase, Phase::Committing { .. })
                    && matches!(e.entry(w.input), Some(Some(_)))
                    && !ledger_world::output_sent(&v, w.input)
            })
    });
    found
}

/// A handler is about to load a document in which its input's entry is still pending: it will
/// dispatch an output committed by an earlier attempt.
fn pending_entry_found(m: &M, s: &S) -> bool {
    ledger_world::about_to_load(&View::new(m, s), |w: &Work, doc: &Entity| {
        w.phase == Phase::Loading && matches!(doc.entry(w.input), Some(Some(_)))
    })
}

const PROPERTIES: &[PropertyDef] = &[
    PropertyDef { name: "NoGhostMessages", kind: Kind::Invariant, doc: "no output for an input whose change is not in the business state" },
    PropertyDef { name: "NoLostMessages", kind: Kind::Invariant, doc: "at quiescence every input is applied and has an output" },
    PropertyDef { name: "AtMostOnceStateChange", kind: Kind::Invariant, doc: "each input's change is in the business state at most once" },
    PropertyDef { name: "ConsistentOutput", kind: Kind::Invariant, doc: "all outputs of an input agree with each other and with its committed change" },
    PropertyDef { name: "ExactlyOnceOutcome", kind: Kind::Invariant, doc: "at quiescence the state and the distinct outputs are those of processing each input once" },
    PropertyDef { name: "BoundedDedupState", kind: Kind::Invariant, doc: "the document holds no more ids than inputs the broker may still deliver" },
    PropertyDef { name: "Termination", kind: Kind::Liveness, doc: "every run ends with the input consumed" },
    PropertyDef { name: "DuplicateDelivered", kind: Kind::Sometimes, doc: "a handler is loading a copy of an input whose id is already in the document" },
    PropertyDef { name: "CrashMidProcessing", kind: Kind::Sometimes, doc: "a handler is down between its commit and the dispatch of the entry" },
    PropertyDef { name: "ConcurrencyConflict", kind: Kind::Sometimes, doc: "a write of a handler that never failed will fail its version check: the other handler wrote" },
    PropertyDef { name: "PendingEntryFound", kind: Kind::Sometimes, doc: "a handler is about to load its input's entry still pending, committed by an earlier attempt" },
];

const CONDITIONS: &[(&str, Cond<M>)] = &[
    ("NoGhostMessages", ledger_world::no_ghost_messages),
    ("NoLostMessages", ledger_world::no_lost_messages),
    ("AtMostOnceStateChange", ledger_world::at_most_once_state_change),
    ("ConsistentOutput", ledger_world::consistent_output),
    ("ExactlyOnceOutcome", ledger_world::exactly_once_outcome),
    ("BoundedDedupState", bounded_dedup_state),
    ("Termination", ledger_world::termination),
    ("DuplicateDelivered", duplicate_delivered),
    ("CrashMidProcessing", crash_mid_processing),
    ("ConcurrencyConflict", ledger_world::concurrency_conflict),
    ("PendingEntryFound", pending_entry_found),
];

impl WorldFamily for OutboxFamily {
    type P = OutboxProtocol;
    const ID: &'static str = "outbox";
    const MODULE: &'static str = "Outbox";
    const SUMMARY: &'static str =
        "The outbox inside the entity document: state, id and outgoing messages committed together, then dispatched.";
    const VARIANTS: &'static [&'static str] = VARIANTS;
    const PROPERTIES: &'static [PropertyDef] = PROPERTIES;
    const CONDITIONS: &'static [(&'static str, Cond<M>)] = CONDITIONS;
    /// No fresh ids: nothing in a state names a handler but its own slot.
    const SYMMETRIC: bool = true;
    fn world(&self, consts: &Consts) -> crate::actors::World<OutboxProtocol> {
        crate::actors::world(OutboxProtocol { variant: Variant::parse(consts.string("Variant")) }, consts, 1)
    }
}
