//! `message-id`: identity-based deduplication. The handler keeps the ids of the messages it has
//! processed in the same document as the business state, written in the same atomic write; a
//! message whose id is there is a duplicate: its state change is skipped and its output
//! published again, under an id derived from the input's id, so that downstream can deduplicate
//! the copies in turn. Twin of `specs/message-id/MessageId.tla`.
//!
//! The business is the moving target of the blog post "Consistent messaging": odd inputs are
//! `FireAt` (shot `m`, aimed at position 0, where the target starts), even inputs are
//! `MoveTarget` (the target moves to position `m`). A shot's result is `Hit` or `Missed`, and is
//! published; a move publishes nothing. The range's document logs what happened, in commit order.

use super::situations::{self, at_quiescence, some_handler_holds};
use super::world_family::WorldFamily;
use crate::property;
use crate::world::Property;
use crate::world::{TlaMap, world, Effects, Event, Input, MsgId, Protocol, TlaNames, Version, View, World, WriteResult};
use crate::core::tla::{self, int, record, string, Value};
use crate::core::vocab::{Consts};
use serde::Serialize;
use std::collections::BTreeSet;

pub struct MessageIdFamily;
pub static MESSAGE_ID: MessageIdFamily = MessageIdFamily;

crate::variants! {
    pub enum Variant {
        /// A duplicate republishes the recorded result, under the id derived from the input's id.
        DeterministicIds,
        /// Every attempt publishes under a fresh id: downstream sees two logical messages.
        RandomIds,
        /// A duplicate re-runs the shot against the current target (the moving target).
        RecomputeOnDuplicate,
        /// The result is published before the range is stored: ghosts.
        PublishBeforeStore,
        /// The processed id is added by a write of its own, after the state change.
        SeparateIdWrite,
        /// A failed or conflicting write drops the input without a nack.
        GiveUp,
    }
}



fn is_shot(m: Input) -> bool {
    m % 2 == 1
}

/// Where every shot is aimed: the target's starting position.
const AIM: Input = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Outcome {
    Hit,
    Missed,
    Moved,
}

/// The range's document.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Range {
    /// The business state: every shot with its result and every move, in commit order.
    pub log: Vec<(Input, Outcome)>,
    /// The ids of the messages processed.
    pub processed: BTreeSet<Input>,
}

impl Range {
    /// Where the target stands: where the last move put it.
    fn target(&self) -> Input {
        self.log.iter().rev().find(|(_, o)| *o == Outcome::Moved).map_or(AIM, |(m, _)| *m)
    }
    /// The business logic: what input `m` does to the range now.
    fn outcome(&self, m: Input) -> Outcome {
        match (is_shot(m), self.target() == AIM) {
            (false, _) => Outcome::Moved,
            (true, true) => Outcome::Hit,
            (true, false) => Outcome::Missed,
        }
    }
    fn with(&self, m: Input, outcome: Outcome) -> Range {
        let mut next = self.clone();
        next.log.push((m, outcome));
        next
    }
    /// The result of shot `m` as first recorded, if committed.
    fn recorded(&self, m: Input) -> Option<Outcome> {
        self.log.iter().find(|(x, _)| *x == m).map(|(_, o)| *o)
    }
    fn committed(&self, m: Input) -> bool {
        self.recorded(m).is_some()
    }
}

/// The result of a shot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Output {
    pub id: MsgId,
    pub shot: Input,
    pub hit: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    Loading,
    /// Writing the state change, with the input's outcome.
    Writing(Outcome),
    /// `SeparateIdWrite`: reading the range again to mark the id processed.
    Reloading(Outcome),
    /// `SeparateIdWrite`: writing the id.
    Marking(Outcome),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Work {
    pub input: Input,
    pub phase: Phase,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct MessageIdProtocol {
    pub variant: Variant,
}

const STORE: usize = 0;
const KEY: u8 = 0;

impl MessageIdProtocol {
    /// Publishes the result of shot `m` (moves publish nothing).
    fn publish(&self, m: Input, outcome: Outcome, fx: &mut Effects<Self>) {
        if is_shot(m) {
            let id = if self.variant == Variant::RandomIds { MsgId::Fresh(fx.fresh_id()) } else { MsgId::Of(m) };
            fx.publish(Output { id, shot: m, hit: outcome == Outcome::Hit });
        }
    }
}

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are.
impl MessageIdProtocol {
    /// Idle: an input is delivered; read the range.
    fn on_delivered(&self, input: Input, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, KEY);
        Some(Work { input, phase: Phase::Loading })
    }

    /// The range is loaded: a duplicate publishes its result again and is acked; otherwise the
    /// change is written, with the id (but for `SeparateIdWrite`).
    fn on_loaded(&self, input: Input, version: Version, doc: Range, fx: &mut Effects<Self>) -> Option<Work> {
        use Variant::*;
        let v = self.variant;
        if doc.processed.contains(&input) {
            // A duplicate: publish the result again, and ack.
            let outcome = match v {
                RecomputeOnDuplicate => doc.outcome(input),
                _ => doc.recorded(input).expect("a processed input is in the log"),
            };
            self.publish(input, outcome, fx);
            fx.ack(input);
            return None;
        }
        let outcome = doc.outcome(input);
        let mut next = doc.with(input, outcome);
        if v != SeparateIdWrite {
            next.processed.insert(input);
        }
        if v == PublishBeforeStore {
            self.publish(input, outcome, fx);
        }
        fx.put(STORE, KEY, next, version);
        Some(Work { input, phase: Phase::Writing(outcome) })
    }

    /// `SeparateIdWrite`: the range is read again; write the id.
    fn on_reloaded(&self, input: Input, outcome: Outcome, version: Version, doc: Range, fx: &mut Effects<Self>) -> Option<Work> {
        let mut next = doc.clone();
        next.processed.insert(input);
        fx.put(STORE, KEY, next, version);
        Some(Work { input, phase: Phase::Marking(outcome) })
    }

    /// A write is answered: publish and ack, or give the input back.
    fn on_written(&self, w: Work, result: WriteResult, fx: &mut Effects<Self>) -> Option<Work> {
        use Variant::*;
        let v = self.variant;
        let Work { input, phase: Phase::Writing(outcome) | Phase::Marking(outcome) } = w else {
            unreachable!("a write answered while {w:?}")
        };
        if result == WriteResult::Ok && matches!(w.phase, Phase::Writing(_)) && v == SeparateIdWrite {
            // The state change is stored; now read the range again to mark the id.
            fx.get(STORE, KEY);
            return Some(Work { input, phase: Phase::Reloading(outcome) });
        }
        match (result, v) {
            (WriteResult::Ok, PublishBeforeStore) => fx.ack(input),
            (WriteResult::Ok, _) => {
                self.publish(input, outcome, fx);
                fx.ack(input);
            }
            (_, GiveUp) => {} // dropped: neither acked nor nacked
            (_, _) => fx.nack(input),
        }
        None
    }
}

impl Protocol for MessageIdProtocol {
    type Doc = Range;
    type Output = Output;
    type Work = Work;

    /// Picks the step by the work's phase, as `OnEvent` does.
    fn on_event(&self, work: Option<&Work>, event: Event<Range>, fx: &mut Effects<Self>) -> Option<Work> {
        match (work, event) {
            (None, Event::Delivered(input)) => self.on_delivered(input, fx),
            (Some(&Work { input, phase: Phase::Loading }), Event::Loaded { version, doc, .. }) => self.on_loaded(input, version, doc, fx),
            (Some(&Work { input, phase: Phase::Reloading(outcome) }), Event::Loaded { version, doc, .. }) => {
                self.on_reloaded(input, outcome, version, doc, fx)
            }
            (Some(&w), Event::Written { result, .. }) => self.on_written(w, result, fx),
            (work, event) => unreachable!("handler got {event:?} while {work:?}"),
        }
    }

    fn changes(key: crate::world::Key, doc: &Range) -> Vec<Input> {
        if key == KEY { doc.log.iter().map(|(m, _)| *m).collect() } else { Vec::new() }
    }
}

type V<'a> = View<'a, MessageIdProtocol>;

fn range(v: &View<'_, MessageIdProtocol>) -> Range {
    v.store(STORE).doc(KEY)
}

fn published(v: &View<'_, MessageIdProtocol>, shot: Input) -> bool {
    v.outputs().iter().any(|o| o.shot == shot)
}

/// No result is visible for a shot whose change was never committed.
fn no_ghost_messages(v: &V) -> bool {
    let r = range(v);
    v.outputs().iter().all(|o| r.committed(o.shot))
}

/// At quiescence, every input has been applied, and every shot has a result published.
fn no_lost_messages(v: &V) -> bool {
    at_quiescence(v, |v| {
        let r = range(v);
        (1..=v.world.inputs).all(|i| r.committed(i) && (!is_shot(i) || published(v, i)))
    })
}

/// All copies of a shot's result are identical (same id, same result) and agree with the log.
fn consistent_output(v: &V) -> bool {
    let r = range(v);
    let outs = v.outputs();
    outs.iter().all(|o| {
        outs.iter().all(|q| q.shot != o.shot || q == o)
            && r.log.iter().all(|(i, outcome)| *i != o.shot || (*outcome == Outcome::Hit) == o.hit)
    })
}

/// At quiescence, the log and the distinct results are those of processing each input once in
/// some order: one result per shot (under any id), the one that order gives.
fn exactly_once_outcome(v: &V) -> bool {
    at_quiescence(v, |v| {
        let r = range(v);
        let outputs: BTreeSet<Output> = v.outputs().iter().copied().collect();
        let results: BTreeSet<(Input, bool)> = outputs.iter().map(|o| (o.shot, o.hit)).collect();
        v.world.exactly_once_orders().iter().any(|run| {
            let serial = run.iter().fold(Range::default(), |d, &i| d.with(i, d.outcome(i)));
            let serial_results: BTreeSet<(Input, bool)> =
                serial.log.iter().filter(|(i, _)| is_shot(*i)).map(|(i, o)| (*i, *o == Outcome::Hit)).collect();
            serial.log == r.log && outputs.len() == serial_results.len() && results == serial_results
        })
    })
}

/// A handler is loading a copy of an input whose change is already committed.
fn duplicate_delivered(v: &V) -> bool {
    let r = range(v);
    some_handler_holds(v, |w, _| w.phase == Phase::Loading && r.committed(w.input))
}

/// A handler holds a copy of a shot already committed, and the target has moved since.
fn moving_target(v: &V) -> bool {
    let r = range(v);
    let moved_since = |shot: Input| r.log.iter().skip_while(|(i, _)| *i != shot).any(|(_, o)| *o == Outcome::Moved);
    some_handler_holds(v, |w, _| is_shot(w.input) && moved_since(w.input))
}

const PROPERTIES: &[Property<MessageIdProtocol>] = &[
    property!("NoGhostMessages", Invariant, "no result for a shot whose change was never committed", no_ghost_messages),
    property!("NoLostMessages", Invariant, "at quiescence every input is applied and every shot's result published", no_lost_messages),
    property!("AtMostOnceStateChange", Invariant, "over the run, each input was added to the range's log at most once", crate::families::ledger::at_most_once::<MessageIdProtocol>),
    property!("ConsistentOutput", Invariant, "all copies of a shot's result are identical and agree with the log", consistent_output),
    property!("ExactlyOnceOutcome", Invariant, "at quiescence the log and results are those of an exactly-once run", exactly_once_outcome),
    situations::termination(),
    property!("DuplicateDelivered", Sometimes, situations::DUPLICATE_DELIVERED, duplicate_delivered),
    property!("MovingTarget", Sometimes, "a handler holds a copy of a committed shot, and the target has moved since", moving_target),
];


impl WorldFamily for MessageIdFamily {
    type P = MessageIdProtocol;
    const ID: &'static str = "message-id";
    const MODULE: &'static str = "MessageId";
    const SUMMARY: &'static str = "Identity-based dedup: processed ids stored in the same document as the state.";
    const VARIANTS: &'static [&'static str] = Variant::NAMES;
    const PROPERTIES: &'static [Property<MessageIdProtocol>] = PROPERTIES;

    fn world(&self, consts: &Consts) -> World<MessageIdProtocol> {
        world(MessageIdProtocol { variant: Variant::parse(consts.string("Variant")) }, consts, 1)
    }
}

/// The TLA+ twin's names for this family's work, documents and outputs.
impl TlaMap for MessageIdProtocol {
    fn tla_work(&self, w: &Work, _: &TlaNames) -> Value {
        let (phase, outcome) = match w.phase {
            Phase::Loading => ("Loading", None),
            Phase::Writing(o) => ("Writing", Some(o)),
            Phase::Reloading(o) => ("Reloading", Some(o)),
            Phase::Marking(o) => ("Marking", Some(o)),
        };
        let outcome = outcome.map_or(string("None"), |o| tla::from_serde(&o));
        record([("input", int(w.input)), ("phase", string(phase)), ("outcome", outcome)])
    }

    fn tla_doc(&self, d: &Range, _: &TlaNames) -> Value {
        let log = d.log.iter().map(|(m, o)| record([("input", int(*m)), ("outcome", tla::from_serde(o))]));
        record([("log", Value::Seq(log.collect())), ("processed", Value::Set(d.processed.iter().map(|m| int(*m)).collect()))])
    }

    fn tla_output(&self, o: &Output, names: &TlaNames) -> Value {
        record([("id", names.msg_id(&o.id)), ("shot", int(o.shot)), ("hit", Value::Bool(o.hit))])
    }
}
