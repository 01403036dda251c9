//! `handler`: a message handler with no transactions. It receives an input, reads the entity,
//! updates it, sends the output and acks, and any of these steps can fail. The workshop's
//! model-checking progression: each variant fixes one problem and shows the next.
//!
//! The entity is a ledger of applied changes in commit order; the change of input `m` records
//! `m` and its position in the ledger (the counter after applying it), and its output message
//! reports the same pair. An output that reports another position than the committed one is an
//! "alternative world". Twin of `specs/handler/Handler.tla`.

use super::situations::{self, at_quiescence, some_handler_holds};
use super::world_family::WorldFamily;
use super::ledger::{Ledger, Output};
use crate::property;
use crate::world::Property;
use crate::world::{TlaMap, world, Effects, Event, Input, Protocol, TlaNames, Version, View, World, WriteResult};
use crate::core::vocab::{Consts};
use crate::core::tla;
use serde::Serialize;

pub struct HandlerFamily;
pub static HANDLER: HandlerFamily = HandlerFamily;

crate::variants! {
    pub enum Variant {
        /// Skip the update when the ledger already holds this input's change; send the output
        /// derived from the stored change.
        ResendStoredChange,
        /// ResendStoredChange, but a new input's output is sent before its update: ghost messages.
        SendThenUpdate,
        /// ResendStoredChange, but a new input's update and output are one atomic step: holds.
        AtomicUpdateAndSend,
        /// ResendStoredChange without the dedup check: a duplicate applies its change again.
        NoDedupCheck,
        /// Skip the update of a duplicate, but send the output of the current attempt.
        DedupByState,
        /// Skip a duplicate entirely (no resend): an output lost to a crash after the commit.
        UpdateThenSend,
        /// ResendStoredChange with the ack sent before the output after a commit: the same in a
        /// world where a step's effects happen at once; a crash between them loses the output.
        AckBeforePublish,
        /// On a failed or conflicting write, drop the input without nacking it: it is never
        /// redelivered and the run never ends with the input consumed.
        GiveUp,
    }
}



#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    Loading,
    /// Writing the change at this position.
    Writing(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Work {
    pub input: Input,
    pub phase: Phase,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct HandlerProtocol {
    pub variant: Variant,
}

const STORE: usize = 0;
const KEY: u8 = 0;

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are.
impl HandlerProtocol {
    /// Idle: an input is delivered; read the ledger.
    fn on_delivered(&self, input: Input, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, KEY);
        Some(Work { input, phase: Phase::Loading })
    }

    /// The ledger is loaded: write the change, or handle a duplicate.
    fn on_loaded(&self, input: Input, version: Version, doc: Ledger, fx: &mut Effects<Self>) -> Option<Work> {
        use Variant::*;
        let position = doc.next_position();
        match (self.variant, doc.stored(input)) {
            (ResendStoredChange | SendThenUpdate | AtomicUpdateAndSend | GiveUp | AckBeforePublish, Some(stored)) => {
                fx.publish(Output { input, position: stored });
                fx.ack(input);
                return None;
            }
            (DedupByState, Some(_)) => {
                // The output of this attempt, not of the stored change.
                fx.publish(Output { input, position });
                fx.ack(input);
                return None;
            }
            (UpdateThenSend, Some(_)) => {
                fx.ack(input);
                return None;
            }
            (AtomicUpdateAndSend, None) => {
                let out = Output { input, position };
                fx.put_and_publish(STORE, KEY, doc.with(input, position), Some(version), vec![out]);
            }
            (SendThenUpdate, None) => {
                fx.publish(Output { input, position });
                fx.put(STORE, KEY, doc.with(input, position), version);
            }
            // A new input, or any copy in NoDedupCheck (no check): write the change.
            (_, _) => fx.put(STORE, KEY, doc.with(input, position), version),
        }
        Some(Work { input, phase: Phase::Writing(position) })
    }

    /// The write of the change at `position` is answered: send the output and ack, or give the
    /// input back.
    fn on_written(&self, input: Input, position: u8, result: WriteResult, fx: &mut Effects<Self>) -> Option<Work> {
        use Variant::*;
        match (result, self.variant) {
            (WriteResult::Ok, SendThenUpdate | AtomicUpdateAndSend) => fx.ack(input),
            (WriteResult::Ok, AckBeforePublish) => {
                fx.ack(input);
                fx.publish(Output { input, position });
            }
            (WriteResult::Ok, _) => {
                fx.publish(Output { input, position });
                fx.ack(input);
            }
            (_, GiveUp) => {} // dropped: neither acked nor nacked
            (_, _) => fx.nack(input),
        }
        None
    }
}

impl Protocol for HandlerProtocol {
    type Doc = Ledger;
    type Output = Output;
    type Work = Work;

    /// Picks the step by the work's phase, as `OnEvent` does.
    fn on_event(&self, work: Option<&Work>, event: Event<Ledger>, fx: &mut Effects<Self>) -> Option<Work> {
        match (work, event) {
            (None, Event::Delivered(input)) => self.on_delivered(input, fx),
            (Some(&Work { input, phase: Phase::Loading }), Event::Loaded { version, doc, .. }) => self.on_loaded(input, version, doc, fx),
            (Some(&Work { input, phase: Phase::Writing(position) }), Event::Written { result, .. }) => {
                self.on_written(input, position, result, fx)
            }
            (work, event) => unreachable!("handler got {event:?} while {work:?}"),
        }
    }

    fn changes(key: crate::world::Key, doc: &Ledger) -> Vec<Input> {
        if key == KEY { doc.inputs() } else { Vec::new() }
    }
}

type V<'a> = View<'a, HandlerProtocol>;

fn ledger<'a>(v: &View<'a, HandlerProtocol>) -> Ledger {
    v.store(STORE).doc(KEY)
}

/// No output is visible for an input whose change was never committed.
fn no_ghost_messages(v: &V) -> bool {
    let l = ledger(v);
    v.outputs().iter().all(|o| l.stored(o.input).is_some())
}

/// At quiescence, every input has been applied and has an output.
fn no_lost_messages(v: &V) -> bool {
    at_quiescence(v, |v| {
        let l = ledger(v);
        (1..=v.world.inputs).all(|i| l.stored(i).is_some() && v.outputs().iter().any(|o| o.input == i))
    })
}

/// All output copies of one input agree with each other and with the committed change.
fn consistent_output(v: &V) -> bool {
    let l = ledger(v);
    let outs = v.outputs();
    outs.iter().all(|o| {
        outs.iter().all(|p| p.input != o.input || p.position == o.position)
            && l.0.iter().all(|(i, pos)| *i != o.input || *pos == o.position)
    })
}

/// A handler has just been given a copy of an input whose change is already committed.
fn duplicate_delivered(v: &V) -> bool {
    let l = ledger(v);
    some_handler_holds(v, |w, _| w.phase == Phase::Loading && l.stored(w.input).is_some())
}


const PROPERTIES: &[Property<HandlerProtocol>] = &[
    property!("NoGhostMessages", Invariant, "no output for an input whose change was never committed", no_ghost_messages),
    property!("NoLostMessages", Invariant, "at quiescence every input is applied and has an output", no_lost_messages),
    property!("AtMostOnceStateChange", Invariant, "over the run, each input's change was added to the ledger at most once", crate::families::ledger::at_most_once::<HandlerProtocol>),
    property!("ConsistentOutput", Invariant, "all outputs of an input agree with each other and with its committed change", consistent_output),
    situations::termination(),
    property!("DuplicateDelivered", Sometimes, situations::DUPLICATE_DELIVERED, duplicate_delivered),
];


impl WorldFamily for HandlerFamily {
    type P = HandlerProtocol;
    const ID: &'static str = "handler";
    const MODULE: &'static str = "Handler";
    const SUMMARY: &'static str = "A handler with no transactions: receive, update the DB, send, ack; every step can fail.";
    const VARIANTS: &'static [&'static str] = Variant::NAMES;
    const PROPERTIES: &'static [Property<HandlerProtocol>] = PROPERTIES;
    /// No fresh ids: nothing in a state names a handler but its own slot.
    const SYMMETRIC: bool = true;

    fn world(&self, consts: &Consts) -> World<HandlerProtocol> {
        world(HandlerProtocol { variant: Variant::parse(consts.string("Variant")) }, consts, 1)
    }
}

/// The TLA+ twin's names for this family's work, documents and outputs.
impl TlaMap for HandlerProtocol {
    fn tla_work(&self, w: &Work, _: &TlaNames) -> tla::Value {
        let (phase, position) = match w.phase {
            Phase::Loading => ("Loading", 0),
            Phase::Writing(p) => ("Writing", p),
        };
        tla::record([("input", tla::int(w.input)), ("phase", tla::string(phase)), ("position", tla::int(position))])
    }
}
