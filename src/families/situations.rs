//! Conditions and properties that read only the world, shared by every family: termination,
//! quiescence, and the situation checks whose meaning does not depend on the family. Twin of the
//! operators of the same names in `specs/World.tla`.

use crate::property;
use crate::world::{Key, Msg, Property, Protocol, View};

/// A condition that speaks only at quiescence (no step left within the boundary), where it is
/// `holds`; true in every other state.
pub fn at_quiescence<P: Protocol>(v: &View<P>, holds: impl FnOnce(&View<P>) -> bool) -> bool {
    v.has_successor() || holds(v)
}

/// Some handler holds work `w` (while it is down, when `down`) with `pred(w, down)`.
pub fn some_handler_holds<P: Protocol>(v: &View<P>, pred: impl Fn(&P::Work, bool) -> bool) -> bool {
    v.handlers().any(|(h, down)| h.work.as_ref().is_some_and(|w| pred(w, down)))
}

/// A write or call that timed out will apply when it reaches the store (a call always does; a
/// write if its version check passes, against store 0).
fn will_apply<P: Protocol>(v: &View<P>, msg: &crate::world::NodeMsg<P>) -> bool {
    match msg {
        Msg::Put { key, expected, late: true, .. } => expected.is_none_or(|e| e == v.store(0).get_version(*key)),
        Msg::Call { late: true, .. } => true,
        _ => false,
    }
}

/// A write that timed out is on its way and will apply: its writer was told it failed. Twin of
/// World.tla's `AmbiguousWrite`.
pub fn ambiguous_write<P: Protocol>(v: &View<P>) -> bool {
    v.in_flight().any(|msg| matches!(msg, Msg::Put { .. }) && will_apply(v, msg))
}

/// The meaning of `AmbiguousWrite`.
pub const AMBIGUOUS_WRITE: &str = "a write that timed out is on its way and will apply: its writer was told it failed";

/// A write or call that timed out is on its way and will apply, while its writer (up, the same
/// incarnation), told that it failed, works on: the retry races the late write. Twin of
/// World.tla's `LateWrite`.
pub fn late_write<P: Protocol>(v: &View<P>) -> bool {
    v.envelopes().any(|(src, _, msg)| {
        let i = usize::from(src);
        let tag = match msg {
            Msg::Put { tag, late: true, .. } | Msg::Call { tag, late: true, .. } => *tag,
            _ => return false,
        };
        v.world.topology.is_handler(src) && !v.is_down(i) && v.handler(src).tag == tag && v.handler(src).is_busy() && will_apply(v, msg)
    })
}

/// The meaning of `LateWrite`.
pub const LATE_WRITE: &str = "a handler told its write timed out works on while that write is still on its way and will apply";

/// A handler that is up has a document on its way to it that it will take, and `pred` holds of
/// its work and that document.
pub fn about_to_load<P: Protocol>(v: &View<P>, pred: impl Fn(&P::Work, &P::Doc) -> bool) -> bool {
    v.envelopes().any(|(_, dst, msg)| match msg {
        Msg::Doc { tag, doc, .. } if v.world.topology.is_handler(dst) && !v.is_down(usize::from(dst)) => {
            let h = v.handler(dst);
            *tag == h.tag && h.work.as_ref().is_some_and(|w| pred(w, doc))
        }
        _ => false,
    })
}

/// Every run ends with the input consumed: a state with nothing left to do has consumed it
/// (World.tla's `Done`, [`View::input_consumed`]).
pub fn terminated<P: Protocol>(v: &View<P>) -> bool {
    at_quiescence(v, |v| v.input_consumed())
}

/// `Termination`, the one liveness property: every run ends with the input consumed. Twin of
/// World.tla's `Termination`: TLC checks `<>Done` under weak fairness; Stateright checks the
/// invariant "a state with no step left within the boundary has consumed its input", the same
/// thing on a finite acyclic graph.
pub const fn termination<P: Protocol>() -> Property<P> {
    property!("Termination", Liveness, "every run ends with the input consumed", terminated::<P>)
}

/// A write to the document under `key` of store 0 will fail its version check, and its writer
/// has never failed (so its own writes were all answered before it read): the version moved
/// because another handler wrote. Twin of World.tla's `ConflictBetweenHandlers(k)`.
pub fn concurrency_conflict<P: Protocol>(v: &View<P>, key: Key) -> bool {
    let (version, _) = v.store(0).get(key);
    v.envelopes().any(|(src, _, msg)| match msg {
        Msg::Put { key: k, expected: Some(x), .. } => *k == key && *x != version && v.handler(src).tag == 0,
        _ => false,
    })
}

/// The meaning of `ConcurrencyConflict` as [`concurrency_conflict`] checks it.
pub const CONCURRENCY_CONFLICT: &str = "a write of a handler that never failed will fail its version check: the other handler wrote";

/// A write to the document under `key` of store 0 is on its way whose version check will fail,
/// whoever wrote since its writer read (another handler, or its own earlier incarnation). The
/// `ConcurrencyConflict` of `handler`, `idempotent-set` and `message-id`, which it reaches with
/// one handler too: a looser meaning than [`concurrency_conflict`]'s, kept as it is until the
/// world's situation checks replace both. Twin of World.tla's `WriteWillConflict(k)`.
pub fn write_will_conflict<P: Protocol>(v: &View<P>, key: Key) -> bool {
    let (version, _) = v.store(0).get(key);
    v.in_flight().any(|msg| matches!(msg, Msg::Put { key: k, expected: Some(e), .. } if *k == key && *e != version))
}

/// The meaning of `ConcurrencyConflict` as [`write_will_conflict`] checks it.
pub const WRITE_WILL_CONFLICT: &str = "a write is on its way whose version check will fail";

/// The meaning of `DuplicateDelivered` (its condition reads the family's documents).
pub const DUPLICATE_DELIVERED: &str = "a handler is loading a copy of an input whose change is already committed";

/// The number of inputs still to be processed: queued or leased by the broker, or in a handler's
/// hands (a copy on its way to a handler, or the copy a handler works on, whose lease may have
/// expired). Twin of LedgerWorld.tla's `InFlight`.
pub fn inputs_in_flight<P: Protocol>(v: &View<P>) -> usize {
    let b = v.broker();
    let delivering = |i: u8| v.in_flight().any(|m| matches!(m, Msg::Deliver { input, .. } if *input == i));
    let held = |i: u8| v.handlers().any(|(h, _)| h.input == i);
    (1..=v.world.inputs).filter(|&i| b.queue.contains(&i) || b.leases.contains(&Some(i)) || delivering(i) || held(i)).count()
}
