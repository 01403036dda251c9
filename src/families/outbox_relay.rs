//! `outbox-relay`: the outbox as most teams build it. The handler commits the business state and
//! an outbox row holding the output in one document write (version check) and acks; it never
//! publishes. A relay, a process of its own, polls the outbox: it takes the oldest row not yet
//! sent, publishes its output and marks the row sent, then polls again, until no row is left; a
//! failed write makes it poll again. The mark is a row-level update (`UPDATE outbox SET sent`):
//! a call the store serves on its current document (`Protocol::serve`), with no version check,
//! so that it never conflicts with a commit of another row.
//!
//! The relay's polls are jobs of the broker that only the relays take (the world's `relays` and
//! `jobs`): `Polls` polls per relay that may run at any time, and one final sweep per relay that
//! the broker offers only once every input has been processed (a causal order), standing for the
//! relay's polls that never stop. Variants: `MarkBeforePublish` marks the row before publishing
//! it; `CompetingRelays` runs two relays that claim a row (a version-checked write of the
//! relay's name, as `SELECT ... FOR UPDATE SKIP LOCKED` does) before publishing it, so that they
//! share the work; `DualWrite` has the handler publish before its commit (no outbox at all);
//! `GiveUp` has the relay drop its poll after a failed write.
//!
//! The business state is a ledger of applied changes, as in `outbox`; one entity, so that the
//! order of its outputs can be checked. Twin of `specs/outbox-relay/OutboxRelay.tla`.

use super::situations;
use super::world_family::WorldFamily;
use super::ledger::{Ledger, Output};
use crate::property;
use crate::world::Property;
use crate::world::{TlaMap, Effects, Event, Input, Key, Protocol, Served, TlaNames, Version, View, WriteResult, WORLD_CONSTANTS};
use crate::families::ledger::{self, LedgerProtocol};
use crate::core::vocab::{ConstDef, ConstType, Consts};
use crate::core::tla::{self, int, opt, record, string, Value};
use serde::Serialize;

pub struct OutboxRelayFamily;
pub static OUTBOX_RELAY: OutboxRelayFamily = OutboxRelayFamily;

crate::variants! {
    pub enum Variant {
        /// One relay: publish the oldest unsent row, then mark it sent.
        SingleRelay,
        /// Mark the row sent, then publish: a failure in between loses the output.
        MarkBeforePublish,
        /// Two relays, each claiming a row before publishing it: a later row can be published first.
        CompetingRelays,
        /// No outbox: the handler publishes, then commits (the row already marked sent).
        DualWrite,
        /// As `SingleRelay`, but after a failed or conflicting write the relay drops its poll, neither
        /// acked nor nacked.
        GiveUp,
    }
}



/// An outbox row: the output, whether it has been marked sent, and the relay that claimed it
/// (a handler index; only `CompetingRelays` claims).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Row {
    pub out: Output,
    pub sent: bool,
    pub claim: Option<u8>,
}

/// The entity document: the business state and the outbox rows, written together.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Entity {
    pub ledger: Ledger,
    /// One row per processed input, sorted by input; rows are never deleted.
    pub outbox: Vec<(Input, Row)>,
}

impl Entity {
    pub fn row(&self, input: Input) -> Option<Row> {
        ledger::entry_of(&self.outbox, input)
    }
    fn committed(&self, input: Input, out: Output, sent: bool) -> Entity {
        let row = Row { out, sent, claim: None };
        Entity { ledger: self.ledger.with(input, out.position), outbox: ledger::with_entry(&self.outbox, input, row) }
    }
    fn with_row(&self, input: Input, f: impl Fn(&mut Row)) -> Entity {
        let mut next = self.clone();
        next.outbox.iter_mut().filter(|(m, _)| *m == input).for_each(|(_, r)| f(r));
        next
    }
    fn marked(&self, input: Input) -> Entity {
        self.with_row(input, |r| r.sent = true)
    }
    /// The request of a row-level mark of `out`'s row, written as a document: only that row,
    /// marked sent.
    fn mark_request(out: Output) -> Entity {
        Entity { ledger: Ledger::default(), outbox: vec![(out.input, Row { out, sent: true, claim: None })] }
    }
    /// The oldest (in commit order) row not sent and not claimed by another relay than `me`.
    fn oldest_open(&self, me: u8) -> Option<Row> {
        let open = self.outbox.iter().map(|(_, r)| *r).filter(|r| !r.sent && r.claim.is_none_or(|c| c == me));
        open.min_by_key(|r| r.out.position)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    /// The handler, or a relay polling, waits for the document.
    Loading,
    /// The handler's commit is on its way.
    Committing,
    /// A relay's claim of `out`'s row is on its way.
    Claiming { out: Output },
    /// A relay has published `out` and its mark is on its way.
    Marking { out: Output },
    /// A relay's mark of `out`'s row is on its way; it publishes after it (`MarkBeforePublish`).
    MarkThenPublish { out: Output },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Work {
    /// The input, or for a relay the job (a poll or the final sweep) it runs.
    pub input: Input,
    pub phase: Phase,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct OutboxRelayProtocol {
    pub variant: Variant,
    /// The logical inputs; the jobs are numbered above them.
    pub msgs: u8,
}

const STORE: usize = 0;
const KEY: u8 = 0;

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are: the
/// handler's (`on_input_loaded`, `on_committed`) and a relay's (`on_polled`, `on_relay_written`).
impl OutboxRelayProtocol {
    /// Poll again: read the outbox.
    fn poll_again(&self, job: Input, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, KEY);
        Some(Work { input: job, phase: Phase::Loading })
    }

    /// Idle: an input (or a relay's job) is delivered; load the entity.
    fn on_delivered(&self, input: Input, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, KEY);
        Some(Work { input, phase: Phase::Loading })
    }

    /// The handler has loaded the entity: ack a known input, else commit.
    fn on_input_loaded(&self, m: Input, version: Version, doc: Entity, fx: &mut Effects<Self>) -> Option<Work> {
        if doc.row(m).is_some() {
            fx.ack(m);
            return None;
        }
        let out = Output { input: m, position: doc.ledger.next_position() };
        let dual = self.variant == Variant::DualWrite;
        if dual {
            fx.publish(out);
        }
        fx.put(STORE, KEY, doc.committed(m, out, dual), version);
        Some(Work { input: m, phase: Phase::Committing })
    }

    /// The handler's commit is answered.
    fn on_committed(&self, m: Input, result: WriteResult, fx: &mut Effects<Self>) -> Option<Work> {
        if result == WriteResult::Ok {
            fx.ack(m);
        } else {
            fx.nack(m);
        }
        None
    }

    /// A relay has read the outbox: take the oldest open row, or ack the job.
    fn on_polled(&self, job: Input, version: Version, doc: Entity, fx: &mut Effects<Self>) -> Option<Work> {
        let me = fx.handler();
        let Some(row) = doc.oldest_open(me) else {
            fx.ack(job);
            return None;
        };
        let m = row.out.input;
        let phase = if self.variant == Variant::CompetingRelays && row.claim.is_none() {
            fx.put(STORE, KEY, doc.with_row(m, |r| r.claim = Some(me)), version);
            Phase::Claiming { out: row.out }
        } else if self.variant == Variant::MarkBeforePublish {
            fx.call(STORE, KEY, Entity::mark_request(row.out));
            Phase::MarkThenPublish { out: row.out }
        } else {
            fx.publish(row.out);
            fx.call(STORE, KEY, Entity::mark_request(row.out));
            Phase::Marking { out: row.out }
        };
        Some(Work { input: job, phase })
    }

    /// A relay's write (a claim) or mark is answered; a failed or conflicting one makes it poll
    /// again (or drop the poll, in `GiveUp`). A mark's answer is the document after it (`Ok`
    /// here), or `Failed` if it timed out.
    fn on_relay_written(&self, job: Input, phase: &Phase, result: WriteResult, fx: &mut Effects<Self>) -> Option<Work> {
        if result != WriteResult::Ok {
            return if self.variant == Variant::GiveUp { None } else { self.poll_again(job, fx) };
        }
        match phase {
            Phase::Claiming { out } => {
                fx.publish(*out);
                fx.call(STORE, KEY, Entity::mark_request(*out));
                Some(Work { input: job, phase: Phase::Marking { out: *out } })
            }
            Phase::MarkThenPublish { out } => {
                fx.publish(*out);
                self.poll_again(job, fx)
            }
            _ => self.poll_again(job, fx),
        }
    }
}

impl Protocol for OutboxRelayProtocol {
    type Doc = Entity;
    type Output = Output;
    type Work = Work;

    /// Picks the step by the work's phase and whether it is an input or a relay's job, as
    /// `OnEvent` does.
    fn on_event(&self, work: Option<&Work>, event: Event<Entity>, fx: &mut Effects<Self>) -> Option<Work> {
        match (work, event) {
            (None, Event::Delivered(input)) => self.on_delivered(input, fx),
            (Some(&Work { input, phase: Phase::Loading }), Event::Loaded { version, doc, .. }) if input <= self.msgs => {
                self.on_input_loaded(input, version, doc, fx)
            }
            (Some(&Work { input, phase: Phase::Committing }), Event::Written { result, .. }) if input <= self.msgs => {
                self.on_committed(input, result, fx)
            }
            (Some(&Work { input: job, phase: Phase::Loading }), Event::Loaded { version, doc, .. }) if job > self.msgs => {
                self.on_polled(job, version, doc, fx)
            }
            (Some(Work { input: job, phase }), Event::Written { result, .. }) if *job > self.msgs => {
                self.on_relay_written(*job, phase, result, fx)
            }
            // The answer to a mark: the document after it.
            (Some(Work { input: job, phase }), Event::Loaded { .. }) if *job > self.msgs => {
                self.on_relay_written(*job, phase, WriteResult::Ok, fx)
            }
            (work, event) => unreachable!("outbox-relay got {event:?} while {work:?}"),
        }
    }

    /// The row-level mark: the rows of the request are marked sent in the current document.
    fn serve(&self, _key: Key, doc: &Entity, op: &Entity) -> Served<Entity, Output> {
        let marked = op.outbox.iter().fold(doc.clone(), |d, (m, _)| d.marked(*m));
        Served { write: Some(marked.clone()), response: marked, publish: Vec::new(), later: None }
    }
}

impl LedgerProtocol for OutboxRelayProtocol {
    const KEY: u8 = KEY;
    fn ledger(doc: &Entity) -> &Ledger {
        &doc.ledger
    }
}

type V<'a> = View<'a, OutboxRelayProtocol>;

fn entity(v: &View<'_, OutboxRelayProtocol>) -> Entity {
    v.store(STORE).doc(KEY)
}

/// Downstream has received no output twice.
fn at_most_once_delivery(v: &V) -> bool {
    v.outputs().windows(2).all(|w| w[0] != w[1])
}

/// For two committed rows, if the later one's output has been published (on its way downstream
/// or received), so has the earlier one's: the entity's outputs are first published in commit
/// order.
fn per_entity_order(v: &V) -> bool {
    let e = entity(v);
    e.outbox.iter().all(|(_, later)| {
        !ledger::output_sent(v, later.out.input)
            || e.outbox.iter().all(|(_, earlier)| earlier.out.position >= later.out.position || ledger::output_sent(v, earlier.out.input))
    })
}


/// A relay is down between publishing a row and marking it sent (or, marking first, between the
/// mark and the publication).
fn crash_between_publish_and_mark(v: &V) -> bool {
    let e = entity(v);
    let found = v.handlers().any(|(h, down)| {
        down && h.work.as_ref().is_some_and(|w| match w.phase {
            Phase::Marking { out } => e.row(out.input).is_some_and(|r| !r.sent),
            Phase::MarkThenPublish { out } => {
                e.row(out.input).is_some_and(|r| r.sent) && !ledger::output_sent(v, out.input)
            }
            _ => false,
        })
    });
    found
}

const PROPERTIES: &[Property<OutboxRelayProtocol>] = &[
    ledger::no_ghost_messages(),
    ledger::no_lost_messages(),
    ledger::exactly_once_outcome(),
    property!("AtMostOnceDelivery", Invariant, "downstream receives no output twice", at_most_once_delivery),
    property!("PerEntityOrder", Invariant, "the entity's outputs are first published in commit order", per_entity_order),
    property!("Termination", Liveness, "every run ends with the input and the relay's polls consumed", situations::terminated),
    property!("CrashBetweenPublishAndMark", Sometimes, "a relay is down between publishing a row and marking it sent", crash_between_publish_and_mark),
];


const CONSTANTS: &[ConstDef] = &[
    WORLD_CONSTANTS[0],
    WORLD_CONSTANTS[1],
    WORLD_CONSTANTS[2],
    WORLD_CONSTANTS[3],
    WORLD_CONSTANTS[4],
    ConstDef { name: "Relays", ty: ConstType::ModelValues { max: 2 }, doc: "the handlers that are relays (model values, a subset of Handlers)" },
    ConstDef { name: "Polls", ty: ConstType::Int { min: 0, max: 3 }, doc: "polls per relay that may run at any time, before its final sweep" },
];

impl WorldFamily for OutboxRelayFamily {
    type P = OutboxRelayProtocol;
    const ID: &'static str = "outbox-relay";
    const MODULE: &'static str = "OutboxRelay";
    const SUMMARY: &'static str =
        "The outbox with a separate relay: the handler commits state and outbox row, a relay polls, publishes and marks rows sent.";
    const VARIANTS: &'static [&'static str] = Variant::NAMES;
    const UNREACHABLE: &'static [(&'static str, &'static str)] = &[
        ("CrashAfterCommitBeforePublish", "no step publishes on a write's answer: the handler commits rows and acks, the relay publishes what it read"),
        ("CrashAfterPublishBeforeAck", "the relay marks a row (a write) between publishing it and acking its poll"),
    ];
    const PROPERTIES: &'static [Property<OutboxRelayProtocol>] = PROPERTIES;
    const CONSTANTS: &'static [ConstDef] = CONSTANTS;
    fn world(&self, consts: &Consts) -> crate::world::World<OutboxRelayProtocol> {
        let msgs = consts.int("Msgs") as u8;
        let protocol = OutboxRelayProtocol { variant: Variant::parse(consts.string("Variant")), msgs };
        let mut world = crate::world::world(protocol, consts, 1);
        let relay_names: Vec<String> = match consts.0.get("Relays") {
            Some(crate::core::cfg::Value::Set(items)) => items.iter().map(|v| v.to_string()).collect(),
            _ => Vec::new(),
        };
        world.relays = world.handler_names.iter().enumerate().filter(|(_, n)| relay_names.contains(n)).map(|(i, _)| i).collect();
        let (poll, sweep) = (msgs + 1, msgs + 2);
        world.jobs = vec![poll, sweep];
        let relays = relay_names.len();
        world.copies.extend(std::iter::repeat_n(poll, consts.int("Polls") as usize * relays));
        world.copies.extend(std::iter::repeat_n(sweep, relays));
        world.copies.sort();
        world.causal = (1..=msgs).map(|m| (m, sweep)).collect();
        world
    }
}

/// The TLA+ twin's names for this family's work, documents and outputs.
impl TlaMap for OutboxRelayProtocol {
    fn tla_work(&self, w: &Work, names: &TlaNames) -> Value {
        let _ = names;
        let (phase, out) = match &w.phase {
            Phase::Loading => ("Loading", None),
            Phase::Committing => ("Committing", None),
            Phase::Claiming { out } => ("Claiming", Some(out)),
            Phase::Marking { out } => ("Marking", Some(out)),
            Phase::MarkThenPublish { out } => ("MarkThenPublish", Some(out)),
        };
        record([("input", int(w.input)), ("phase", string(phase)), ("out", opt(out.map(tla::from_serde)))])
    }

    fn tla_doc(&self, d: &Entity, names: &TlaNames) -> Value {
        let outbox = d.outbox.iter().map(|(m, r)| {
            let row = record([
                ("out", tla::from_serde(&r.out)),
                ("sent", Value::Bool(r.sent)),
                ("claim", opt(r.claim.map(|h| names.handler(h)))),
            ]);
            (int(*m), row)
        });
        record([("ledger", tla::from_serde(&d.ledger)), ("outbox", Value::Function(outbox.collect()))])
    }
}
