//! `inbox`: the outbox plus a separate dedup store (the "improving outbox"). The entity document
//! holds the business state and the pending outbox entries; the ids of processed inputs live in
//! an inbox store, one document per id (an id is in the inbox once its document exists). The
//! handler loads the entity; if it holds a pending entry for the input, it dispatches it;
//! otherwise it checks the inbox, and if the id is not there it runs the business logic and
//! commits state and entry in one entity write (with a version check). Then it dispatches the
//! entry, adds the id to the inbox, removes the entry from the entity and acks.
//!
//! The two stores are documents of the one store actor (entity under key 0, the inbox record of
//! input `m` under key 10 + m): nothing is atomic across documents, so this is the same as two
//! stores. Twin of `specs/inbox/Inbox.tla`.

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

pub struct InboxFamily;
pub static INBOX: InboxFamily = InboxFamily;

crate::variants! {
    pub enum Variant {
        /// Load the entity, check the inbox, commit state and entry, dispatch, mark, clean up, ack.
        Correct,
        /// Check the inbox before loading the entity: a copy racing its original commits twice.
        CheckBeforeLoad,
        /// Correct, with inbox reads at a weak consistency level: a stale read misses the id.
        StaleInbox,
        /// Remove the entry before adding the id to the inbox: a crash in between loses both.
        CleanupBeforeMark,
        /// Dispatch the output before the commit: ghost messages.
        DispatchBeforeCommit,
        /// On a failed or conflicting write, drop the input without nacking it.
        GiveUp,
    }
}



/// A document: the entity's state and pending outbox entries (sorted by input). An inbox record
/// is the empty document: what counts is that it exists (version > 0).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Doc {
    pub ledger: Ledger,
    pub outbox: Vec<(Input, Output)>,
}

impl Doc {
    pub fn entry(&self, input: Input) -> Option<Output> {
        ledger::entry_of(&self.outbox, input)
    }
    /// The business logic's result committed with a pending entry.
    fn committed(&self, input: Input, out: Output) -> Doc {
        Doc { ledger: self.ledger.with(input, out.position), outbox: ledger::with_entry(&self.outbox, input, out) }
    }
    /// The entity with the input's entry removed.
    fn cleaned(&self, input: Input) -> Doc {
        Doc { ledger: self.ledger.clone(), outbox: ledger::without_entry(&self.outbox, input) }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    /// Loading the entity.
    Loading,
    /// Reading the input's inbox record; with the entity (and its version) when already loaded.
    Checking { entity: Option<(Doc, Version)> },
    /// The commit of `doc` (read at `version`) is on its way; `out` is its entry's output.
    Committing { doc: Doc, version: Version, out: Output },
    /// Adding the id to the inbox; then remove the entry from `clean` (at its version), if any.
    Marking { clean: Option<(Doc, Version)> },
    /// Removing the entry; then add the id to the inbox, if `mark`.
    Cleaning { mark: bool },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Work {
    pub input: Input,
    pub phase: Phase,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct InboxProtocol {
    pub variant: Variant,
}

const STORE: usize = 0;
const ENTITY: Key = 0;
/// The inbox record of input `m` is under `INBOX_KEYS + m`.
const INBOX_KEYS: Key = 10;

impl InboxProtocol {
    fn check_inbox(&self, fx: &mut Effects<Self>, input: Input) {
        if self.variant == Variant::StaleInbox {
            fx.get_weak(STORE, INBOX_KEYS + input);
        } else {
            fx.get(STORE, INBOX_KEYS + input);
        }
    }

    fn work(input: Input, phase: Phase) -> Option<Work> {
        Some(Work { input, phase })
    }

    /// Dispatch the entry's output of `doc` (at `version`), then mark and clean up in the
    /// variant's order.
    fn dispatch_entry(&self, fx: &mut Effects<Self>, input: Input, doc: &Doc, version: Version, out: Output) -> Option<Work> {
        fx.publish(out);
        if self.variant == Variant::CleanupBeforeMark {
            fx.put(STORE, ENTITY, doc.cleaned(input), version);
            return Self::work(input, Phase::Cleaning { mark: true });
        }
        fx.put_unchecked(STORE, INBOX_KEYS + input, Doc::default());
        Self::work(input, Phase::Marking { clean: Some((doc.cleaned(input), version)) })
    }

    /// Run the business logic on the entity `doc` (at `version`) and commit.
    fn commit(&self, fx: &mut Effects<Self>, input: Input, doc: &Doc, version: Version) -> Option<Work> {
        let out = Output { input, position: doc.ledger.next_position() };
        if self.variant == Variant::DispatchBeforeCommit {
            fx.publish(out);
        }
        let committed = doc.committed(input, out);
        fx.put(STORE, ENTITY, committed.clone(), version);
        Self::work(input, Phase::Committing { doc: committed, version, out })
    }
}

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are.
impl InboxProtocol {
    /// Idle: an input is delivered; load the entity (check the inbox first in `CheckBeforeLoad`).
    fn on_delivered(&self, input: Input, fx: &mut Effects<Self>) -> Option<Work> {
        if self.variant == Variant::CheckBeforeLoad {
            self.check_inbox(fx, input);
            return Self::work(input, Phase::Checking { entity: None });
        }
        fx.get(STORE, ENTITY);
        Self::work(input, Phase::Loading)
    }

    /// The entity is loaded: dispatch a pending entry, or check the inbox.
    fn on_entity(&self, input: Input, version: Version, doc: Doc, fx: &mut Effects<Self>) -> Option<Work> {
        match doc.entry(input) {
            Some(out) => self.dispatch_entry(fx, input, &doc, version, out),
            None if self.variant == Variant::CheckBeforeLoad => self.commit(fx, input, &doc, version),
            None => {
                self.check_inbox(fx, input);
                Self::work(input, Phase::Checking { entity: Some((doc, version)) })
            }
        }
    }

    /// The inbox record is read (`record`: its version, 0 if it does not exist): the id is
    /// known, or process (load the entity first if not loaded).
    fn on_record(&self, input: Input, entity: Option<&(Doc, Version)>, record: Version, fx: &mut Effects<Self>) -> Option<Work> {
        if record > 0 {
            fx.ack(input);
            return None;
        }
        match entity {
            Some((doc, version)) => self.commit(fx, input, doc, *version),
            None => {
                fx.get(STORE, ENTITY);
                Self::work(input, Phase::Loading)
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
            Phase::Committing { doc, version, out } => self.dispatch_entry(fx, input, doc, version + 1, *out),
            Phase::Marking { clean: Some((doc, version)) } => {
                fx.put(STORE, ENTITY, doc.clone(), *version);
                Self::work(input, Phase::Cleaning { mark: false })
            }
            Phase::Cleaning { mark: true } => {
                fx.put_unchecked(STORE, INBOX_KEYS + input, Doc::default());
                Self::work(input, Phase::Marking { clean: None })
            }
            Phase::Marking { clean: None } | Phase::Cleaning { mark: false } => {
                fx.ack(input);
                None
            }
            Phase::Loading | Phase::Checking { .. } => unreachable!("a write answered while reading"),
        }
    }
}

impl Protocol for InboxProtocol {
    type Doc = Doc;
    type Output = Output;
    type Work = Work;

    /// Picks the step by the work's phase, as `OnEvent` does.
    fn on_event(&self, work: Option<&Work>, event: Event<Doc>, fx: &mut Effects<Self>) -> Option<Work> {
        match (work, event) {
            (None, Event::Delivered(input)) => self.on_delivered(input, fx),
            (Some(&Work { input, phase: Phase::Loading }), Event::Loaded { version, doc, .. }) => self.on_entity(input, version, doc, fx),
            (Some(Work { input, phase: Phase::Checking { entity } }), Event::Loaded { version: record, .. }) => {
                self.on_record(*input, entity.as_ref(), record, fx)
            }
            (Some(Work { input, phase }), Event::Written { result, .. }) => self.on_written(*input, phase, result, fx),
            (work, event) => unreachable!("inbox handler got {event:?} while {work:?}"),
        }
    }

    fn changes(key: Key, doc: &Doc) -> Vec<Input> {
        ledger::changes_in::<Self>(key, doc)
    }
}

impl LedgerProtocol for InboxProtocol {
    const KEY: u8 = ENTITY;
    fn ledger(doc: &Doc) -> &Ledger {
        &doc.ledger
    }
}

type V<'a> = View<'a, InboxProtocol>;

/// The ids in the inbox: the inbox records that exist.
fn inbox_ids(v: &View<'_, InboxProtocol>) -> usize {
    (1..=v.world.inputs).filter(|m| v.store(STORE).get(INBOX_KEYS + m).0 > 0).count()
}

/// The inbox holds no more ids than there are inputs the broker may still deliver.
fn bounded_dedup_state(v: &V) -> bool {
    inbox_ids(v) <= situations::inputs_in_flight(v)
}

/// A handler is loading the entity for a copy of an input whose change is already committed.
fn duplicate_delivered(v: &V) -> bool {
    let e = v.store(STORE).doc(ENTITY);
    situations::some_handler_holds(v, |w: &Work, _| w.phase == Phase::Loading && e.ledger.stored(w.input).is_some())
}


/// A handler is down between two of its store writes: its input's change is committed, and the
/// entity still holds the entry or the inbox does not hold the id.
fn crash_between_writes(v: &V) -> bool {
    let e = v.store(STORE).doc(ENTITY);
    let store = v.store(STORE);
    situations::some_handler_holds(v, |w: &Work, down| {
        down && matches!(w.phase, Phase::Committing { .. } | Phase::Marking { .. } | Phase::Cleaning { .. })
            && e.ledger.stored(w.input).is_some()
            && (e.entry(w.input).is_some() || store.get(INBOX_KEYS + w.input).0 == 0)
    })
}

const PROPERTIES: &[Property<InboxProtocol>] = &[
    ledger::no_ghost_messages(),
    ledger::no_lost_messages(),
    ledger::at_most_once_state_change(),
    ledger::consistent_output(),
    ledger::exactly_once_outcome(),
    property!("BoundedDedupState", Invariant, "the inbox holds no more ids than inputs the broker may still deliver", bounded_dedup_state),
    situations::termination(),
    property!("DuplicateDelivered", Sometimes, "a handler is loading the entity for a copy of an input whose change is committed", duplicate_delivered),
    property!("DuplicateRace", Sometimes, ledger::DUPLICATE_RACE, |v| ledger::duplicate_race(v, |w: &Work| w.input)),
    property!("CrashBetweenWrites", Sometimes, "a handler is down after its commit, with the entry not yet removed or the id not yet in the inbox", crash_between_writes),
];


impl WorldFamily for InboxFamily {
    type P = InboxProtocol;
    const ID: &'static str = "inbox";
    const MODULE: &'static str = "Inbox";
    const SUMMARY: &'static str =
        "The outbox plus a separate inbox store of processed ids: commit state and entry, dispatch, mark the id, remove the entry.";
    const VARIANTS: &'static [&'static str] = Variant::NAMES;
    const READS_WEAKLY: bool = true;
    const UNREACHABLE: &'static [(&'static str, &'static str)] = &[
        ("CrashAfterPublishBeforeAck", "its handler acks only after the write that follows its publish (removing the inbox entry)"),
        ("StaleRead", "its correct variant reads the inbox strongly (StaleInbox reads it weakly and reaches it)"),
    ];
    const PROPERTIES: &'static [Property<InboxProtocol>] = PROPERTIES;
    /// No fresh ids: nothing in a state names a handler but its own slot.
    const SYMMETRIC: bool = true;
    fn world(&self, consts: &Consts) -> crate::world::World<InboxProtocol> {
        let variant = Variant::parse(consts.string("Variant"));
        let mut world = crate::world::world(InboxProtocol { variant }, consts, 1);
        if variant == Variant::StaleInbox {
            // The inbox store is eventually consistent: it may serve the previous version.
            world.stale_keys = (1..=world.inputs).map(|m| INBOX_KEYS + m).collect();
        }
        world
    }
}

/// The TLA+ twin's names for this family's work, documents and outputs.
impl TlaMap for InboxProtocol {
    /// `[input, phase, ent, out, mark]`: `ent` is `{<<doc, version>>}` or `{}`, `out` is
    /// `{output}` or `{}`, `mark` is FALSE where the phase does not use it.
    fn tla_work(&self, w: &Work, names: &TlaNames) -> Value {
        let ent = |e: Option<(&Doc, Version)>| opt(e.map(|(d, v)| Value::Seq(vec![self.tla_doc(d, names), int(v)])));
        let (phase, ent, out, mark) = match &w.phase {
            Phase::Loading => ("Loading", ent(None), None, false),
            Phase::Checking { entity } => ("Checking", ent(entity.as_ref().map(|(d, v)| (d, *v))), None, false),
            Phase::Committing { doc, version, out } => ("Committing", ent(Some((doc, *version))), Some(out), false),
            Phase::Marking { clean } => ("Marking", ent(clean.as_ref().map(|(d, v)| (d, *v))), None, false),
            Phase::Cleaning { mark } => ("Cleaning", ent(None), None, *mark),
        };
        record([
            ("input", int(w.input)),
            ("phase", string(phase)),
            ("ent", ent),
            ("out", opt(out.map(tla::from_serde))),
            ("mark", Value::Bool(mark)),
        ])
    }

    /// `[ledger, outbox]`, the outbox a function from input to output.
    fn tla_doc(&self, d: &Doc, _: &TlaNames) -> Value {
        let outbox = d.outbox.iter().map(|(m, o)| (int(*m), tla::from_serde(o)));
        record([("ledger", tla::from_serde(&d.ledger)), ("outbox", Value::Function(outbox.collect()))])
    }
}
