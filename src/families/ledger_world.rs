//! The shared world, for families whose business state is a [`Ledger`] of applied changes in
//! their document and whose outputs report the position their input's change took. The
//! standard properties over such a state are defined once here; a family's condition table names
//! them (`ledger_world::no_ghost_messages::<P>`). Twin of `specs/LedgerWorld.tla`.

use crate::actors::{has_successor, FreshId, HandlerState, Input, Key, Msg, NodeState, Protocol, View, WorldModel, WorldState};
use crate::families::handler::{Ledger, Output};
use crate::family::{Kind, PropertyDef};
use stateright::actor::Id;

/// An output message that reports the position of its input's change.
pub trait Reports: Eq {
    fn input(&self) -> Input;
    fn position(&self) -> u8;
}

impl Reports for Output {
    fn input(&self) -> Input {
        self.input
    }
    fn position(&self) -> u8 {
        self.position
    }
}

/// A protocol whose business state is a ledger inside the document under `KEY` of store 0.
pub trait LedgerProtocol: Protocol<Output: Reports> {
    const KEY: Key;
    fn ledger(doc: &Self::Doc) -> &Ledger;
}

type M<P> = WorldModel<P>;
type S<P> = WorldState<P>;

/// The document and the outputs downstream has received.
fn read<'a, P: LedgerProtocol>(v: &View<'a, P>) -> (P::Doc, &'a [P::Output]) {
    (v.store(0).doc(P::KEY), v.outputs())
}

/// No successor within the boundary: the run has ended.
fn quiescent<P: Protocol>(m: &M<P>, s: &S<P>) -> bool {
    !has_successor(m, s)
}

/// No output is visible for an input whose change is not in the business state.
pub fn no_ghost_messages<P: LedgerProtocol>(m: &M<P>, s: &S<P>) -> bool {
    let (doc, outputs) = read(&View::new(m, s));
    let ledger = P::ledger(&doc);
    outputs.iter().all(|o| ledger.stored(o.input()).is_some())
}

/// At quiescence, every input has been applied and has an output.
pub fn no_lost_messages<P: LedgerProtocol>(m: &M<P>, s: &S<P>) -> bool {
    if !quiescent(m, s) {
        return true;
    }
    let (doc, outputs) = read(&View::new(m, s));
    let ledger = P::ledger(&doc);
    (1..=m.cfg.inputs).all(|i| ledger.stored(i).is_some() && outputs.iter().any(|o| o.input() == i))
}

fn changes(ledger: &Ledger, input: Input) -> usize {
    ledger.0.iter().filter(|(x, _)| *x == input).count()
}

/// The business state holds each input's change at most once.
pub fn at_most_once_state_change<P: LedgerProtocol>(m: &M<P>, s: &S<P>) -> bool {
    let (doc, _) = read(&View::new(m, s));
    (1..=m.cfg.inputs).all(|i| changes(P::ledger(&doc), i) <= 1)
}

/// All output copies of one input are identical and report the position of every change of it.
pub fn consistent_output<P: LedgerProtocol>(m: &M<P>, s: &S<P>) -> bool {
    let (doc, outputs) = read(&View::new(m, s));
    let ledger = P::ledger(&doc);
    outputs.iter().all(|o| {
        outputs.iter().all(|p| p.input() != o.input() || p == o)
            && ledger.0.iter().all(|(i, pos)| *i != o.input() || *pos == o.position())
    })
}

/// At quiescence, the outcome of processing each input exactly once (in some order: the inputs
/// are independent): each input's change once, and one distinct output per input, reporting it.
pub fn exactly_once_outcome<P: LedgerProtocol>(m: &M<P>, s: &S<P>) -> bool {
    if !quiescent(m, s) {
        return true;
    }
    let (doc, outputs) = read(&View::new(m, s));
    let ledger = P::ledger(&doc);
    (1..=m.cfg.inputs).all(|i| {
        let mine: Vec<&P::Output> = outputs.iter().filter(|o| o.input() == i).collect();
        changes(ledger, i) == 1
            && !mine.is_empty()
            && mine.iter().all(|o| *o == mine[0] && Some(o.position()) == ledger.stored(i))
    })
}

/// A state with nothing left to do has consumed its input.
pub fn termination<P: Protocol>(m: &M<P>, s: &S<P>) -> bool {
    has_successor(m, s) || View::new(m, s).input_consumed()
}

/// A write will fail its version check, and its handler has never failed (so its own writes
/// were all answered before it read): the version moved because another handler wrote.
pub fn concurrency_conflict<P: LedgerProtocol>(m: &M<P>, s: &S<P>) -> bool {
    let v = View::new(m, s);
    let (version, _) = v.store(0).get(P::KEY);
    let found = s.network.iter_deliverable().any(|e| match e.msg {
        Msg::Put { key, expected: Some(x), .. } => *key == P::KEY && *x != version && handler(&v, e.src).tag == 0,
        _ => false,
    });
    found
}

/// The number of inputs the broker may still deliver: queued or leased.
pub fn inputs_in_flight<P: Protocol>(v: &View<'_, P>) -> usize {
    let b = v.broker();
    (1..=v.world.inputs).filter(|i| b.queue.contains(i) || b.leases.contains(&Some(*i))).count()
}

/// Some output of `input` is on its way downstream or received.
pub fn output_sent<P: LedgerProtocol>(v: &View<'_, P>, input: Input) -> bool {
    v.outputs().iter().any(|o| o.input() == input)
        || v.in_flight().any(|msg| matches!(msg, Msg::Output(o) if o.input() == input))
}

fn handler<'a, P: Protocol>(v: &View<'a, P>, id: Id) -> &'a HandlerState<P> {
    match &*v.state.actor_states[usize::from(id)] {
        NodeState::Handler(h) => h,
        _ => unreachable!("only handlers write and load"),
    }
}

/// A handler that is up has a document on its way to it that it will take, and `pred` holds of
/// its work and that document.
pub fn about_to_load<P: Protocol>(v: &View<'_, P>, pred: impl Fn(&P::Work, &P::Doc) -> bool) -> bool {
    let found = v.state.network.iter_deliverable().any(|e| match e.msg {
        Msg::Doc { tag, doc, .. } if v.world.topology.is_handler(e.dst) && !v.state.crashed[usize::from(e.dst)] => {
            let h = handler(v, e.dst);
            *tag == h.tag && h.work.as_ref().is_some_and(|w| pred(w, doc))
        }
        _ => false,
    });
    found
}

/// The standard properties over a ledger, as a family's property table names them.
pub const NO_GHOST_MESSAGES: PropertyDef =
    PropertyDef { name: "NoGhostMessages", kind: Kind::Invariant, doc: "no output for an input whose change is not in the business state" };
pub const NO_LOST_MESSAGES: PropertyDef =
    PropertyDef { name: "NoLostMessages", kind: Kind::Invariant, doc: "at quiescence every input is applied and has an output" };
pub const AT_MOST_ONCE_STATE_CHANGE: PropertyDef =
    PropertyDef { name: "AtMostOnceStateChange", kind: Kind::Invariant, doc: "each input's change is in the business state at most once" };
pub const CONSISTENT_OUTPUT: PropertyDef = PropertyDef {
    name: "ConsistentOutput",
    kind: Kind::Invariant,
    doc: "all outputs of an input agree with each other and with its committed change",
};
pub const EXACTLY_ONCE_OUTCOME: PropertyDef = PropertyDef {
    name: "ExactlyOnceOutcome",
    kind: Kind::Invariant,
    doc: "at quiescence the state and the distinct outputs are those of processing each input once",
};
pub const DUPLICATE_RACE: PropertyDef = PropertyDef {
    name: "DuplicateRace",
    kind: Kind::Sometimes,
    doc: "two handlers work on copies of one input at once, and its change is committed",
};

/// `DuplicateRace`: two handlers that are up work on copies of the same input at once (`input`
/// reads a work's input), and the input's change is in the ledger: a duplicate racing its
/// original.
pub fn duplicate_race<P: LedgerProtocol>(m: &M<P>, s: &S<P>, input: impl Fn(&P::Work) -> Input) -> bool {
    let v = View::new(m, s);
    let (doc, _) = read(&v);
    let busy: Vec<Input> = v.handlers().filter(|(_, down)| !down).filter_map(|(h, _)| h.work.as_ref().map(&input)).collect();
    busy.iter().enumerate().any(|(i, a)| busy[i + 1..].contains(a) && P::ledger(&doc).stored(*a).is_some())
}

/// The document key of fresh id `id` (a token, a blob name), above the keys 0..16 that families
/// use for entities and inputs. Any one-to-one map will do: the TLA+ twin numbers its handlers
/// its own way (`FreshKey` in `specs/LedgerWorld.tla`).
pub fn fresh_key(id: FreshId) -> Key {
    assert!(id.handler < 4 && id.tag < 7 && id.n < 8, "fresh id {id:?} out of the key range");
    16 + id.handler * 56 + id.tag * 8 + id.n
}

/// The ledger of a document that holds none (a family whose document type is an enum of
/// entity, tokens, blobs ...): no change applied.
pub static NO_LEDGER: Ledger = Ledger(Vec::new());

/// Per-input entries kept beside a ledger (an outbox's pending entries, committed effects):
/// pairs sorted by input, at most one per input.
pub fn entry_of<T: Copy>(entries: &[(Input, T)], input: Input) -> Option<T> {
    entries.iter().find(|(m, _)| *m == input).map(|(_, e)| *e)
}

/// `entries` with `input`'s entry added in its place.
pub fn with_entry<T: Clone>(entries: &[(Input, T)], input: Input, entry: T) -> Vec<(Input, T)> {
    let mut next = entries.to_vec();
    let at = next.partition_point(|(m, _)| *m < input);
    next.insert(at, (input, entry));
    next
}

/// `entries` without `input`'s entry.
pub fn without_entry<T: Clone>(entries: &[(Input, T)], input: Input) -> Vec<(Input, T)> {
    entries.iter().filter(|(m, _)| *m != input).cloned().collect()
}
