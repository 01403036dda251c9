//! `idempotent-set`: natural idempotency. An order holds a set of items; `AddItem` and
//! `RemoveItem` are idempotent one message at a time (adding an item already there, or removing
//! one already gone, changes nothing), so a handler can take "nothing to change" for "duplicate".
//! That holds on an in-order broker, and fails under reordering: add, remove, then a late
//! duplicate of the add puts the item back. Deduplicating by message id (processed ids in the
//! order document) fixes it. Twin of `specs/idempotent-set/IdempotentSet.tla`.
//!
//! Inputs: odd `m` is `AddItem` of item `(m + 1) / 2`, even `m` is `RemoveItem` of item `m / 2`.
//! The client sends a `RemoveItem` only once its `AddItem` has been processed: the broker holds
//! the remove back until a copy of the add has been acked (the world's causal order).

use super::situations::{self, at_quiescence, some_handler_holds};
use super::world_family::WorldFamily;
use crate::property;
use crate::world::Property;
use crate::world::{TlaMap, world, Effects, Event, Input, Protocol, TlaNames, Version, View, World, WriteResult};
use crate::core::tla::{int, record, string, Value};
use crate::core::vocab::{Consts};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

pub struct IdempotentSetFamily;
pub static IDEMPOTENT_SET: IdempotentSetFamily = IdempotentSetFamily;

crate::variants! {
    pub enum Variant {
        /// Deduplicate by message id: the ids processed are kept in the order document.
        UnorderedWithIds,
        /// Natural idempotency on an in-order broker (duplicates, but no reordering).
        Ordered,
        /// Natural idempotency on an unordered broker: a late duplicate add undoes a remove.
        Unordered,
        /// Dedup by id, but the event is published before the order is stored: ghost events.
        PublishBeforeStore,
        /// Dedup by id, but a failed or conflicting write drops the input without a nack.
        GiveUp,
    }
}

impl Variant {
    /// Deduplicates by message id rather than by "nothing to change".
    fn dedup_by_id(self) -> bool {
        !matches!(self, Variant::Ordered | Variant::Unordered)
    }
}



pub type Item = u8;

fn is_add(m: Input) -> bool {
    m % 2 == 1
}

fn item_of(m: Input) -> Item {
    m.div_ceil(2)
}

/// The business logic: input `m` applied to a set of items.
fn apply(items: &BTreeSet<Item>, m: Input) -> BTreeSet<Item> {
    let mut next = items.clone();
    if is_add(m) {
        next.insert(item_of(m));
    } else {
        next.remove(&item_of(m));
    }
    next
}

/// The order document.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Order {
    /// The items: the business state.
    pub items: BTreeSet<Item>,
    /// The message ids processed, each with the version its change committed at, the version
    /// of its event (kept by the variants that deduplicate by id).
    pub processed: BTreeMap<Input, Version>,
    /// For the properties only (no handler reads it): the inputs whose writes committed, in
    /// commit order.
    pub applied: Vec<Input>,
}

impl Order {
    fn committed(&self, m: Input) -> bool {
        self.applied.contains(&m)
    }
}

/// The event the order publishes for an input: `ItemAdded` or `ItemRemoved` of an item, with
/// the order's version its change committed at. The output channel does not keep order, so a
/// downstream that applies events in the order of the changes goes by the version: for each item,
/// the event with the highest version tells whether it is in the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Output {
    pub added: bool,
    pub item: Item,
    pub version: Version,
}

/// Input `m`'s event, for its change committed at `version`.
fn output(m: Input, version: Version) -> Output {
    Output { added: is_add(m), item: item_of(m), version }
}

/// Some event of input `m` (any version) is among `outputs`.
fn has_event(outputs: &[Output], m: Input) -> bool {
    outputs.iter().any(|o| o.added == is_add(m) && o.item == item_of(m))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    Loading,
    Writing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Work {
    pub input: Input,
    pub phase: Phase,
    /// While writing: the version the change commits at if the write applies (0 while loading).
    pub at: Version,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct IdempotentSetProtocol {
    pub variant: Variant,
}

const STORE: usize = 0;
const KEY: u8 = 0;

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are.
impl IdempotentSetProtocol {
    /// Idle: an input is delivered; read the order.
    fn on_delivered(&self, input: Input, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, KEY);
        Some(Work { input, phase: Phase::Loading, at: 0 })
    }

    /// The order is loaded: a duplicate publishes its event again and is acked; otherwise the
    /// change is written.
    fn on_loaded(&self, input: Input, version: Version, doc: Order, fx: &mut Effects<Self>) -> Option<Work> {
        let v = self.variant;
        let items = apply(&doc.items, input);
        // A duplicate's event: by id, the one recorded with the id; by "nothing to change",
        // the only version the handler knows, the order's current one.
        let duplicate = if v.dedup_by_id() { doc.processed.get(&input).copied() } else { (items == doc.items).then_some(version) };
        if let Some(at) = duplicate {
            // Nothing to change: publish the event again (its first publication may have
            // been lost to a crash) and ack.
            fx.publish(output(input, at));
            fx.ack(input);
            return None;
        }
        let mut next = Order { items, processed: doc.processed.clone(), applied: doc.applied.clone() };
        if v.dedup_by_id() {
            next.processed.insert(input, version + 1);
        }
        next.applied.push(input);
        if v == Variant::PublishBeforeStore {
            fx.publish(output(input, version + 1));
        }
        fx.put(STORE, KEY, next, version);
        Some(Work { input, phase: Phase::Writing, at: version + 1 })
    }

    /// The write is answered: publish and ack, or give the input back.
    fn on_written(&self, input: Input, at: Version, result: WriteResult, fx: &mut Effects<Self>) -> Option<Work> {
        match (result, self.variant) {
            (WriteResult::Ok, Variant::PublishBeforeStore) => fx.ack(input),
            (WriteResult::Ok, _) => {
                fx.publish(output(input, at));
                fx.ack(input);
            }
            (_, Variant::GiveUp) => {} // dropped: neither acked nor nacked
            (_, _) => fx.nack(input),
        }
        None
    }
}

impl Protocol for IdempotentSetProtocol {
    type Doc = Order;
    type Output = Output;
    type Work = Work;

    /// Picks the step by the work's phase, as `OnEvent` does.
    fn on_event(&self, work: Option<&Work>, event: Event<Order>, fx: &mut Effects<Self>) -> Option<Work> {
        match (work, event) {
            (None, Event::Delivered(input)) => self.on_delivered(input, fx),
            (Some(&Work { input, phase: Phase::Loading, .. }), Event::Loaded { version, doc, .. }) => self.on_loaded(input, version, doc, fx),
            (Some(&Work { input, phase: Phase::Writing, at }), Event::Written { result, .. }) => self.on_written(input, at, result, fx),
            (work, event) => unreachable!("handler got {event:?} while {work:?}"),
        }
    }

    fn changes(key: crate::world::Key, doc: &Order) -> Vec<Input> {
        if key == KEY { doc.applied.clone() } else { Vec::new() }
    }
}

type V<'a> = View<'a, IdempotentSetProtocol>;

fn order(v: &View<'_, IdempotentSetProtocol>) -> Order {
    v.store(STORE).doc(KEY)
}

/// No event is visible for an input whose change was never committed.
fn no_ghost_messages(v: &V) -> bool {
    let o = order(v);
    (1..=v.world.inputs).all(|i| !has_event(v.outputs(), i) || o.committed(i))
}

/// At quiescence, every input has been applied and its event published.
fn no_lost_messages(v: &V) -> bool {
    at_quiescence(v, |v| {
        let o = order(v);
        (1..=v.world.inputs).all(|i| o.committed(i) && has_event(v.outputs(), i))
    })
}

/// At quiescence, the items and the distinct events, each with the version its change committed
/// at (the i-th change of the run at version i), are those of processing each input once, in an
/// order the client could cause (each add before its remove). So a downstream that applies each
/// item's events in version order ends as it would after that run: a late duplicate's event
/// published again with its recorded version changes nothing there, and one published with a
/// new version is a distinct event that no such run has.
fn exactly_once_outcome(v: &V) -> bool {
    at_quiescence(v, |v| {
        let items = order(v).items;
        let outputs: BTreeSet<Output> = v.outputs().iter().copied().collect();
        v.world.exactly_once_orders().iter().any(|run| {
            let serial_items = run.iter().fold(BTreeSet::new(), |items, &i| apply(&items, i));
            let serial_outputs: BTreeSet<Output> = run.iter().zip(1..).map(|(&i, at)| output(i, at)).collect();
            serial_items == items && serial_outputs == outputs
        })
    })
}

/// A handler is loading a copy of an input whose change is already committed.
fn duplicate_delivered(v: &V) -> bool {
    let o = order(v);
    some_handler_holds(v, |w, _| w.phase == Phase::Loading && o.committed(w.input))
}

/// Downstream has received `ItemRemoved(i)` while a copy of an older `ItemAdded(i)` is still on
/// its way: a downstream that applied events as they arrive, without their versions, would put
/// the item back (a late duplicate's event published again, or a slow first copy).
fn stale_event_in_flight(v: &V) -> bool {
    v.outputs().iter().filter(|r| !r.added).any(|r| {
        v.in_flight().any(|m| matches!(m, crate::world::Msg::Output(o) if o.added && o.item == r.item && o.version < r.version))
    })
}

/// A handler holds a copy of an `AddItem` whose `RemoveItem` is already committed.
fn late_duplicate(v: &V) -> bool {
    let o = order(v);
    some_handler_holds(v, |w, _| is_add(w.input) && o.committed(w.input + 1))
}

const PROPERTIES: &[Property<IdempotentSetProtocol>] = &[
    property!("NoGhostMessages", Invariant, "no event for an input whose change was never committed", no_ghost_messages),
    property!("NoLostMessages", Invariant, "at quiescence every input is applied and its event published", no_lost_messages),
    property!("AtMostOnceStateChange", Invariant, "over the run, each input changed the order at most once", crate::families::ledger::at_most_once::<IdempotentSetProtocol>),
    property!("ExactlyOnceOutcome", Invariant, "at quiescence the items and events are those of an exactly-once run in causal order", exactly_once_outcome),
    situations::termination(),
    property!("DuplicateDelivered", Sometimes, situations::DUPLICATE_DELIVERED, duplicate_delivered),
    property!("LateDuplicate", Sometimes, "a handler holds a copy of an AddItem whose RemoveItem is already committed", late_duplicate),
    property!(
        "StaleEventInFlight",
        Sometimes,
        "downstream has an item's ItemRemoved while an older ItemAdded of it is on its way",
        stale_event_in_flight
    ),
];


impl WorldFamily for IdempotentSetFamily {
    type P = IdempotentSetProtocol;
    const ID: &'static str = "idempotent-set";
    const MODULE: &'static str = "IdempotentSet";
    const SUMMARY: &'static str = "Natural idempotency: AddItem/RemoveItem on a set; idempotent per message, wrong under reordering.";
    const VARIANTS: &'static [&'static str] = Variant::NAMES;
    const PROPERTIES: &'static [Property<IdempotentSetProtocol>] = PROPERTIES;
    /// No fresh ids: nothing in a state names a handler but its own slot.
    const SYMMETRIC: bool = true;

    fn world(&self, consts: &Consts) -> World<IdempotentSetProtocol> {
        let variant = Variant::parse(consts.string("Variant"));
        let mut w = world(IdempotentSetProtocol { variant }, consts, 1);
        w.ordered = variant == Variant::Ordered;
        // A client sends RemoveItem only once its AddItem has been processed.
        w.causal = (1..w.inputs).filter(|&m| is_add(m)).map(|m| (m, m + 1)).collect();
        w
    }
}

/// The TLA+ twin's names for this family's work, documents and outputs.
impl TlaMap for IdempotentSetProtocol {
    fn tla_doc(&self, d: &Order, _: &TlaNames) -> Value {
        let set = |s: &BTreeSet<u8>| Value::Set(s.iter().map(|x| int(*x)).collect());
        record([
            ("items", set(&d.items)),
            ("processed", Value::Function(d.processed.iter().map(|(m, at)| (int(*m), int(*at))).collect())),
            ("applied", Value::Seq(d.applied.iter().map(|m| int(*m)).collect())),
        ])
    }

    fn tla_output(&self, o: &Output, _: &TlaNames) -> Value {
        let kind = if o.added { "ItemAdded" } else { "ItemRemoved" };
        record([("type", string(kind)), ("item", int(o.item)), ("version", int(o.version))])
    }
}
