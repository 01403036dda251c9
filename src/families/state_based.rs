//! `state-based`: consistent messaging from point-in-time state. Every version of the entity is
//! kept, tagged with the id of the input that produced it. A new input runs the handler on the
//! newest version, stores the next version (with a version check) and then publishes. A copy
//! whose id tags a version is a duplicate: the handler reloads the version just before the one
//! that input produced, runs again (it is deterministic, so it computes the same output), skips
//! the store, and publishes.
//!
//! The document is the version history: entry `i` is version `i`, tagged with its input; the
//! business state of a version is its number (how many changes it holds), and the output of an
//! input reports the version its change produced. Twin of `specs/state-based/StateBased.tla`.

use super::situations::{self};
use super::world_family::WorldFamily;
use super::ledger::{Ledger};
use crate::property;
use crate::world::Property;
use crate::world::{TlaMap, Effects, Event, FreshId, Input, Key, Protocol, TlaNames, Version, View, WriteResult};
use crate::core::tla::{int, opt, record, string, Value};
use crate::families::ledger::{self, LedgerProtocol, Reports};
use crate::core::vocab::{Consts};
use serde::Serialize;

pub struct StateBasedFamily;
pub static STATE_BASED: StateBasedFamily = StateBasedFamily;

crate::variants! {
    pub enum Variant {
        /// A duplicate re-runs the deterministic handler on the version before its first processing.
        Correct,
        /// The handler gives its output a fresh random id.
        NondeterministicHandler,
        /// Publish before the new version is stored: ghost messages.
        PublishBeforeStore,
        /// Ignore the version tags: every copy runs on the newest version and is stored.
        NoDuplicateCheck,
        /// A duplicate re-runs the handler on the newest version, not the one before its first
        /// processing: no point-in-time reload.
        RerunOnNewest,
        /// On a failed or conflicting write, drop the input without nacking it.
        GiveUp,
    }
}



/// The output of an input: the version its change produced, and the message's id: None when it
/// is derived from the input's id, else a fresh random one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Output {
    pub input: Input,
    pub position: u8,
    pub id: Option<FreshId>,
}

impl Reports for Output {
    fn input(&self) -> Input {
        self.input
    }
    fn position(&self) -> u8 {
        self.position
    }
}

/// The versions before `input`'s first change, if the history holds one.
fn version_before(history: &Ledger, input: Input) -> Option<Ledger> {
    let p = history.stored(input)?;
    Some(Ledger(history.0[..p as usize - 1].to_vec()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    Loading,
    /// Storing the next version; its output is `out`.
    Storing(Output),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Work {
    pub input: Input,
    pub phase: Phase,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct StateBasedProtocol {
    pub variant: Variant,
}

const STORE: usize = 0;
const KEY: u8 = 0;

impl StateBasedProtocol {
    /// The business logic on the state `version`: the output of `input`.
    fn handle(&self, fx: &mut Effects<Self>, version: &Ledger, input: Input) -> Output {
        let id = if self.variant == Variant::NondeterministicHandler { Some(fx.fresh_id()) } else { None };
        Output { input, position: version.next_position(), id }
    }
}

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are.
impl StateBasedProtocol {
    /// Idle: an input is delivered; load the history.
    fn on_delivered(&self, input: Input, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, KEY);
        Some(Work { input, phase: Phase::Loading })
    }

    /// The history is loaded: replay a duplicate, or store the next version.
    fn on_loaded(&self, input: Input, version: Version, doc: Ledger, fx: &mut Effects<Self>) -> Option<Work> {
        let past = version_before(&doc, input).filter(|_| self.variant != Variant::NoDuplicateCheck);
        if let Some(past) = past {
            // A duplicate: the output it had, from the state it saw; no store.
            let state = if self.variant == Variant::RerunOnNewest { &doc } else { &past };
            let out = self.handle(fx, state, input);
            fx.publish(out);
            fx.ack(input);
            return None;
        }
        let out = self.handle(fx, &doc, input);
        if self.variant == Variant::PublishBeforeStore {
            fx.publish(out);
        }
        fx.put(STORE, KEY, doc.with(input, out.position), version);
        Some(Work { input, phase: Phase::Storing(out) })
    }

    /// The store write of the version whose output is `out` is answered.
    fn on_written(&self, input: Input, out: Output, result: WriteResult, fx: &mut Effects<Self>) -> Option<Work> {
        match (result, self.variant) {
            (WriteResult::Ok, Variant::PublishBeforeStore) => fx.ack(input),
            (WriteResult::Ok, _) => {
                fx.publish(out);
                fx.ack(input);
            }
            (_, Variant::GiveUp) => {} // dropped: neither acked nor nacked
            (_, _) => fx.nack(input),
        }
        None
    }
}

impl Protocol for StateBasedProtocol {
    type Doc = Ledger;
    type Output = Output;
    type Work = Work;

    /// Picks the step by the work's phase, as `OnEvent` does.
    fn on_event(&self, work: Option<&Work>, event: Event<Ledger>, fx: &mut Effects<Self>) -> Option<Work> {
        match (work, event) {
            (None, Event::Delivered(input)) => self.on_delivered(input, fx),
            (Some(&Work { input, phase: Phase::Loading }), Event::Loaded { version, doc, .. }) => self.on_loaded(input, version, doc, fx),
            (Some(&Work { input, phase: Phase::Storing(out) }), Event::Written { result, .. }) => self.on_written(input, out, result, fx),
            (work, event) => unreachable!("state-based handler got {event:?} while {work:?}"),
        }
    }

    fn changes(key: Key, doc: &Ledger) -> Vec<Input> {
        ledger::changes_in::<Self>(key, doc)
    }
}

impl LedgerProtocol for StateBasedProtocol {
    const KEY: u8 = KEY;
    fn ledger(doc: &Ledger) -> &Ledger {
        doc
    }
}

type V<'a> = View<'a, StateBasedProtocol>;

fn history(v: &View<'_, StateBasedProtocol>) -> Ledger {
    v.store(STORE).doc(KEY)
}

/// A handler is loading a copy of an input that already produced a version.
fn duplicate_delivered(v: &V) -> bool {
    let h = history(v);
    let found = v.handlers().any(|(hs, _)| hs.work.is_some_and(|w| w.phase == Phase::Loading && h.stored(w.input).is_some()));
    found
}

/// A handler is loading a copy of an input whose version is no longer the newest: its re-run
/// needs the past version.
fn duplicate_after_later_change(v: &V) -> bool {
    let h = history(v);
    let found = v.handlers().any(|(hs, _)| {
        hs.work.is_some_and(|w| w.phase == Phase::Loading && h.stored(w.input).is_some_and(|p| (p as usize) < h.0.len()))
    });
    found
}

const PROPERTIES: &[Property<StateBasedProtocol>] = &[
    property!("NoGhostMessages", Invariant, "no output for an input whose version was never stored", ledger::no_ghost::<StateBasedProtocol>),
    property!("NoLostMessages", Invariant, "at quiescence every input has a version and an output", ledger::none_lost::<StateBasedProtocol>),
    property!("AtMostOnceStateChange", Invariant, "over the run, each input produced at most one version", ledger::at_most_once::<StateBasedProtocol>),
    property!("ConsistentOutput", Invariant, "all outputs of an input are identical and report the version it produced", ledger::consistent::<StateBasedProtocol>),
    property!("ExactlyOnceOutcome", Invariant, "at quiescence the history and the distinct outputs are those of processing each input once", ledger::exactly_once::<StateBasedProtocol>),
    situations::termination(),
    property!("DuplicateDelivered", Sometimes, "a handler is loading a copy of an input that already produced a version", duplicate_delivered),
    property!("DuplicateAfterLaterChange", Sometimes, "a duplicate is loading after a later input changed the entity", duplicate_after_later_change),
];


impl WorldFamily for StateBasedFamily {
    type P = StateBasedProtocol;
    const ID: &'static str = "state-based";
    const MODULE: &'static str = "StateBased";
    const SUMMARY: &'static str =
        "Point-in-time state: a duplicate re-runs a deterministic handler on the version before its first processing.";
    const VARIANTS: &'static [&'static str] = Variant::NAMES;
    const PROPERTIES: &'static [Property<StateBasedProtocol>] = PROPERTIES;
    fn world(&self, consts: &Consts) -> crate::world::World<StateBasedProtocol> {
        crate::world::world(StateBasedProtocol { variant: Variant::parse(consts.string("Variant")) }, consts, 1)
    }
}

/// The TLA+ twin's names for this family's work, documents and outputs.
impl TlaMap for StateBasedProtocol {
    fn tla_work(&self, w: &Work, names: &TlaNames) -> Value {
        let (phase, out) = match &w.phase {
            Phase::Loading => ("Loading", None),
            Phase::Storing(o) => ("Storing", Some(self.tla_output(o, names))),
        };
        record([("input", int(w.input)), ("phase", string(phase)), ("out", opt(out))])
    }

    fn tla_output(&self, o: &Output, names: &TlaNames) -> Value {
        record([("input", int(o.input)), ("position", int(o.position)), ("id", opt(o.id.as_ref().map(|f| names.fresh_id(f))))])
    }
}
