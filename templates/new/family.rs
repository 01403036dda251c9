//! `__ID__`: a new family of the catalog, made by `exactly new __ID__`. It starts as a handler
//! that reads a ledger of committed inputs, appends its input, sends one output and acks:
//! `Correct` sends after the commit (and resends for a duplicate), `SendThenUpdate` sends
//! before the commit (ghost messages). Replace the protocol, the variants and the properties
//! with your algorithm's, and keep the TLA+ twin `specs/__ID__/__MODULE__.tla` in step.

use super::situations::{self, at_quiescence, some_handler_holds};
use super::world_family::WorldFamily;
use crate::core::vocab::Consts;
use crate::property;
use crate::world::{world, Effects, Event, Input, Property, Protocol, TlaMap, Version, View, World, WriteResult};
use serde::Serialize;

pub struct __TYPE__Family;
pub static __STATIC__: __TYPE__Family = __TYPE__Family;

crate::variants! {
    /// The variants, the correct one first.
    pub enum Variant {
        /// Commit the change, then send the output; a duplicate resends it.
        Correct,
        /// Send the output before the commit: ghost messages.
        SendThenUpdate,
    }
}

/// The entity: the inputs whose change is committed, in commit order. Its TLA+ twin is a
/// sequence of inputs (the default map between the twins, `tla::from_serde`, gives that).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Ledger(pub Vec<Input>);

/// The output of an input: `[input |-> m]` in TLA+.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Output {
    pub input: Input,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    Loading,
    Writing,
}

/// What a handler remembers while it works: `[input |-> m, phase |-> "Loading"]` in TLA+.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Work {
    pub input: Input,
    pub phase: Phase,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct __TYPE__Protocol {
    pub variant: Variant,
}

const STORE: usize = 0;
const KEY: u8 = 0;

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are
/// (`OnLoaded` is `on_loaded`).
impl __TYPE__Protocol {
    /// Idle: an input is delivered; read the ledger.
    fn on_delivered(&self, input: Input, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, KEY);
        Some(Work { input, phase: Phase::Loading })
    }

    /// The ledger is loaded: write the change, or resend the output of a duplicate.
    fn on_loaded(&self, input: Input, version: Version, doc: Ledger, fx: &mut Effects<Self>) -> Option<Work> {
        if doc.0.contains(&input) {
            // A duplicate: the change is committed; send its output again.
            fx.publish(Output { input });
            fx.ack(input);
            return None;
        }
        if self.variant == Variant::SendThenUpdate {
            fx.publish(Output { input });
        }
        let mut next = doc.clone();
        next.0.push(input);
        fx.put(STORE, KEY, next, version);
        Some(Work { input, phase: Phase::Writing })
    }

    /// The write is answered: send the output and ack, or give the input back.
    fn on_written(&self, input: Input, result: WriteResult, fx: &mut Effects<Self>) -> Option<Work> {
        if result == WriteResult::Ok {
            if self.variant == Variant::Correct {
                fx.publish(Output { input });
            }
            fx.ack(input);
        } else {
            fx.nack(input);
        }
        None
    }
}

impl Protocol for __TYPE__Protocol {
    type Doc = Ledger;
    type Output = Output;
    type Work = Work;

    /// Picks the step by the work's phase, as `OnEvent` does.
    fn on_event(&self, work: Option<&Work>, event: Event<Ledger>, fx: &mut Effects<Self>) -> Option<Work> {
        match (work, event) {
            (None, Event::Delivered(input)) => self.on_delivered(input, fx),
            (Some(&Work { input, phase: Phase::Loading }), Event::Loaded { version, doc, .. }) => self.on_loaded(input, version, doc, fx),
            (Some(&Work { input, phase: Phase::Writing }), Event::Written { result, .. }) => self.on_written(input, result, fx),
            (work, event) => unreachable!("__ID__ got {event:?} while {work:?}"),
        }
    }
}

/// The TLA+ twin writes work, documents and outputs as their serde form (the default map).
impl TlaMap for __TYPE__Protocol {}

type V<'a> = View<'a, __TYPE__Protocol>;

fn ledger(v: &V) -> Ledger {
    v.store(STORE).doc(KEY)
}

/// No output is visible for an input whose change was never committed.
fn no_ghost_messages(v: &V) -> bool {
    let l = ledger(v);
    v.outputs().iter().all(|o| l.0.contains(&o.input))
}

/// At quiescence, every input is committed and has an output.
fn no_lost_messages(v: &V) -> bool {
    at_quiescence(v, |v| {
        let l = ledger(v);
        (1..=v.world.inputs).all(|i| l.0.contains(&i) && v.outputs().iter().any(|o| o.input == i))
    })
}

/// A handler has just been given a copy of an input whose change is already committed.
fn duplicate_delivered(v: &V) -> bool {
    let l = ledger(v);
    some_handler_holds(v, |w, _| w.phase == Phase::Loading && l.0.contains(&w.input))
}

/// Every property: its name, kind, meaning and condition, once.
const PROPERTIES: &[Property<__TYPE__Protocol>] = &[
    property!("NoGhostMessages", Invariant, "no output for an input whose change was never committed", no_ghost_messages),
    property!("NoLostMessages", Invariant, "at quiescence every input is committed and has an output", no_lost_messages),
    situations::termination(),
    property!("DuplicateDelivered", Sometimes, situations::DUPLICATE_DELIVERED, duplicate_delivered),
];

impl WorldFamily for __TYPE__Family {
    type P = __TYPE__Protocol;
    const ID: &'static str = "__ID__";
    const MODULE: &'static str = "__MODULE__";
    const SUMMARY: &'static str = "A new family (made by `exactly new`): commit, then send; its broken variant sends first.";
    const VARIANTS: &'static [&'static str] = Variant::NAMES;
    const PROPERTIES: &'static [Property<__TYPE__Protocol>] = PROPERTIES;
    /// The world's situations the correct variant's model files do not reach, with the reason
    /// (a test holds the family to this list).
    const UNREACHABLE: &'static [(&'static str, &'static str)] = &[
        ("ConflictBetweenHandlers", "the template's model files have one handler: add one with two, then drop this line"),
    ];

    fn world(&self, consts: &Consts) -> World<__TYPE__Protocol> {
        world(__TYPE__Protocol { variant: Variant::parse(consts.string("Variant")) }, consts, 1)
    }
}
