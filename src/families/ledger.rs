//! The shared world, for families whose business state is a [`Ledger`] of applied changes in
//! their document and whose outputs report the position their input's change took. The
//! standard properties over such a state are defined once here; a family names them in its
//! property list (`ledger::no_ghost_messages()`). Twin of `specs/LedgerWorld.tla`.

use super::situations::at_quiescence;
use crate::property;
use crate::world::{FreshId, Input, Key, Property, Protocol, View};
use serde::Serialize;

/// The entity: changes in commit order, each `(input, position)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Ledger(pub Vec<(Input, u8)>);

impl Ledger {
    /// The position of `input`'s change (its first one), if the ledger holds it.
    pub fn stored(&self, input: Input) -> Option<u8> {
        self.0.iter().find(|(m, _)| *m == input).map(|(_, v)| *v)
    }
    /// The inputs of the changes, one entry per change, in commit order.
    pub fn inputs(&self) -> Vec<Input> {
        self.0.iter().map(|(m, _)| *m).collect()
    }
    /// The position the next change takes.
    pub fn next_position(&self) -> u8 {
        self.0.len() as u8 + 1
    }
    /// The ledger with `input`'s change appended at `position`.
    pub fn with(&self, input: Input, position: u8) -> Ledger {
        let mut next = self.clone();
        next.0.push((input, position));
        next
    }
}

/// The output message of an input: the position its change took.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Output {
    pub input: Input,
    pub position: u8,
}

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

/// The document and the outputs downstream has received.
fn read<'a, P: LedgerProtocol>(v: &View<'a, P>) -> (P::Doc, &'a [P::Output]) {
    (v.store(0).doc(P::KEY), v.outputs())
}

/// No output is visible for an input whose change is not in the business state.
pub fn no_ghost<P: LedgerProtocol>(v: &View<P>) -> bool {
    let (doc, outputs) = read(v);
    let ledger = P::ledger(&doc);
    outputs.iter().all(|o| ledger.stored(o.input()).is_some())
}

/// At quiescence, every input has been applied and has an output.
pub fn none_lost<P: LedgerProtocol>(v: &View<P>) -> bool {
    at_quiescence(v, |v| {
        let (doc, outputs) = read(v);
        let ledger = P::ledger(&doc);
        (1..=v.world.inputs).all(|i| ledger.stored(i).is_some() && outputs.iter().any(|o| o.input() == i))
    })
}

fn changes(ledger: &Ledger, input: Input) -> usize {
    ledger.0.iter().filter(|(x, _)| *x == input).count()
}

/// [`Protocol::changes`] of a ledger family: the inputs of the ledger's changes, in the document
/// under its key.
pub fn changes_in<P: LedgerProtocol>(key: Key, doc: &P::Doc) -> Vec<Input> {
    if key == P::KEY { P::ledger(doc).inputs() } else { Vec::new() }
}

/// Over the whole run, a write added each input's change to the business state at most once
/// (the store's history, [`Protocol::changes`]; a change lost to a lost update and applied again
/// counts twice, though the document then shows it once). Any family that counts its changes.
pub fn at_most_once<P: Protocol>(v: &View<P>) -> bool {
    (1..=v.world.inputs).all(|i| v.store(0).times_applied(i) <= 1)
}

/// All output copies of one input are identical and report the position of every change of it.
pub fn consistent<P: LedgerProtocol>(v: &View<P>) -> bool {
    let (doc, outputs) = read(v);
    let ledger = P::ledger(&doc);
    outputs.iter().all(|o| {
        outputs.iter().all(|p| p.input() != o.input() || p == o)
            && ledger.0.iter().all(|(i, pos)| *i != o.input() || *pos == o.position())
    })
}

/// At quiescence, the outcome of processing each input exactly once (in some order: the inputs
/// are independent): each input's change once, and one distinct output per input, reporting it.
pub fn exactly_once<P: LedgerProtocol>(v: &View<P>) -> bool {
    at_quiescence(v, |v| {
        let (doc, outputs) = read(v);
        let ledger = P::ledger(&doc);
        (1..=v.world.inputs).all(|i| {
            let mine: Vec<&P::Output> = outputs.iter().filter(|o| o.input() == i).collect();
            changes(ledger, i) == 1
                && !mine.is_empty()
                && mine.iter().all(|o| *o == mine[0] && Some(o.position()) == ledger.stored(i))
        })
    })
}

/// Some output of `input` is on its way downstream or received.
pub fn output_sent<P: LedgerProtocol>(v: &View<'_, P>, input: Input) -> bool {
    v.outputs().iter().any(|o| o.input() == input)
        || v.in_flight().any(|msg| matches!(msg, crate::world::Msg::Output(o) if o.input() == input))
}

/// `DuplicateRace`: two handlers that are up work on copies of the same input at once (`input`
/// reads a work's input), and the input's change is in the ledger: a duplicate racing its
/// original.
pub fn duplicate_race<P: LedgerProtocol>(v: &View<P>, input: impl Fn(&P::Work) -> Input) -> bool {
    let (doc, _) = read(v);
    let busy: Vec<Input> = v.handlers().filter(|(_, down)| !down).filter_map(|(h, _)| h.work.as_ref().map(&input)).collect();
    busy.iter().enumerate().any(|(i, a)| busy[i + 1..].contains(a) && P::ledger(&doc).stored(*a).is_some())
}

/// The meaning of `DuplicateRace` (its condition reads the family's work).
pub const DUPLICATE_RACE: &str = "two handlers work on copies of one input at once, and its change is committed";

/// The standard properties over a ledger, as a family's property list names them.
pub const fn no_ghost_messages<P: LedgerProtocol>() -> Property<P> {
    property!("NoGhostMessages", Invariant, "no output for an input whose change is not in the business state", no_ghost::<P>)
}
pub const fn no_lost_messages<P: LedgerProtocol>() -> Property<P> {
    property!("NoLostMessages", Invariant, "at quiescence every input is applied and has an output", none_lost::<P>)
}
pub const fn at_most_once_state_change<P: LedgerProtocol>() -> Property<P> {
    property!("AtMostOnceStateChange", Invariant, "over the run, each input's change was added to the business state at most once", at_most_once::<P>)
}
pub const fn consistent_output<P: LedgerProtocol>() -> Property<P> {
    property!(
        "ConsistentOutput",
        Invariant,
        "all outputs of an input agree with each other and with its committed change",
        consistent::<P>
    )
}
pub const fn exactly_once_outcome<P: LedgerProtocol>() -> Property<P> {
    property!(
        "ExactlyOnceOutcome",
        Invariant,
        "at quiescence the state and the distinct outputs are those of processing each input once",
        exactly_once::<P>
    )
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
