//! Conditions and properties that read only the world, shared by every family: termination,
//! quiescence, and the situation checks whose meaning does not depend on the family. Twin of the
//! operators of the same names in `specs/World.tla`.

use crate::property;
use crate::world::handler::{Effect, Wait};
use crate::world::{Msg, Property, Protocol, View, WriteResult};

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

/// A write will fail its version check, and its writer has never failed (so its own writes were
/// all answered before it read): the version moved because another handler wrote. Twin of
/// World.tla's `ConflictBetweenHandlers`.
pub fn conflict_between_handlers<P: Protocol>(v: &View<P>) -> bool {
    v.envelopes().any(|(src, dst, msg)| match (msg, v.world.topology.store_index(dst)) {
        (Msg::Put { key, expected: Some(x), .. }, Some(store)) => {
            *x != v.store(store).get_version(*key) && v.world.topology.is_handler(src) && v.handler(src).tag == 0
        }
        _ => false,
    })
}

/// A handler that is down has the answer to a write (or call) of its that applied on its way to
/// it, and taking it, the handler would send outputs: a change it committed has outputs not yet
/// sent. Twin of World.tla's `CrashAfterCommitBeforePublish(OnEvent)`.
pub fn crash_after_commit_before_publish<P: Protocol>(v: &View<P>) -> bool {
    v.envelopes().any(|(_, dst, msg)| {
        let topology = &v.world.topology;
        if !topology.is_handler(dst) || !v.is_down(usize::from(dst)) {
            return false;
        }
        let h = v.handler(dst);
        let applied = matches!(
            (msg, h.wait),
            (Msg::PutReply { result: WriteResult::Ok, .. }, Wait::PutReply | Wait::Reply) | (Msg::Doc { .. }, Wait::Reply)
        );
        applied
            && h.takes(msg).is_some_and(|event| {
                let index = topology.handler_index(dst) as u8;
                h.reaction(&v.world.protocol, index, event).iter().any(|e| matches!(e, Effect::Publish(_)))
            })
    })
}

/// A handler that is down has an ack among the effects it had left: it crashed after publishing
/// and before acking (only a publish can come before an ack in one step). Twin of World.tla's
/// `CrashAfterPublishBeforeAck`.
pub fn crash_after_publish_before_ack<P: Protocol>(v: &View<P>) -> bool {
    v.handlers().any(|(h, down)| down && h.todo.iter().any(|e| matches!(e, Effect::Ack(_))))
}

/// A handler's lease is taken back and its copy offered again: a nack or a reconnect that ends a
/// lease is on its way to the broker, or a handler holds a copy (or has one on its way to it, or
/// its ack of it on the way back) that its lease no longer names (the lease expired, or the ack
/// will be lost). Not a sender duplicate. Twin of World.tla's `Redelivery`.
pub fn redelivery<P: Protocol>(v: &View<P>) -> bool {
    let b = v.broker();
    let topology = &v.world.topology;
    let in_flight = v.envelopes().any(|(src, dst, msg)| match *msg {
        Msg::Nack { input, n } if topology.is_handler(src) => b.names(topology.handler_index(src), input, n),
        Msg::Ack { input, n } if topology.is_handler(src) => !b.names(topology.handler_index(src), input, n),
        Msg::Reconnect if topology.is_handler(src) => b.leases[topology.handler_index(src)].is_some(),
        Msg::Deliver { input, n } if topology.is_handler(dst) => !b.names(topology.handler_index(dst), input, n),
        _ => false,
    });
    in_flight || v.handlers().enumerate().any(|(i, (h, _))| h.input != 0 && !b.names(i, h.input, h.delivery))
}

/// A write (or call) has failed before applying: its writer was told, and it never lands (a
/// history each handler keeps, [`HandlerState::failed`](crate::world::HandlerState)). Twin of
/// World.tla's `FailedWrite`.
pub fn failed_write<P: Protocol>(v: &View<P>) -> bool {
    v.handlers().any(|(h, _)| h.failed > 0)
}

/// A weak read is on its way that will return an older committed version: the store keeps the
/// previous version of its document. Twin of World.tla's `StaleRead`.
pub fn stale_read<P: Protocol>(v: &View<P>) -> bool {
    v.envelopes().any(|(_, dst, msg)| match (msg, v.world.topology.store_index(dst)) {
        (Msg::GetStale { key, .. }, Some(store)) => v.store(store).previous.iter().any(|(k, _)| k == key),
        _ => false,
    })
}

/// The situations of the shared world, each with one meaning in every family, checked beside a
/// family's own (twins of the World.tla operators of the same names).
pub const fn world_situations<P: Protocol>() -> [Property<P>; 8] {
    [
        property!(
            "CrashAfterCommitBeforePublish",
            Sometimes,
            "a handler is down while a change it committed has outputs not yet sent",
            crash_after_commit_before_publish::<P>
        ),
        property!("CrashAfterPublishBeforeAck", Sometimes, "a handler is down after publishing and before acking", crash_after_publish_before_ack::<P>),
        property!(
            "ConflictBetweenHandlers",
            Sometimes,
            "a write fails its version check because another handler wrote (its writer never failed)",
            conflict_between_handlers::<P>
        ),
        property!("AmbiguousWrite", Sometimes, AMBIGUOUS_WRITE, ambiguous_write::<P>),
        property!("FailedWrite", Sometimes, "a write failed before applying: its writer was told, and it never lands", failed_write::<P>),
        property!("LateWrite", Sometimes, LATE_WRITE, late_write::<P>),
        property!(
            "Redelivery",
            Sometimes,
            "a copy is taken back and offered again (a nack, a crash, an expired lease or a lost ack), not a sender duplicate",
            redelivery::<P>
        ),
        property!("StaleRead", Sometimes, "a weak read is on its way that will return an older committed version", stale_read::<P>),
    ]
}

/// The world's situations that a family whose handler sends nothing downstream cannot reach.
pub const SENDS_NOTHING_DOWNSTREAM: [(&str, &str); 2] = [
    ("CrashAfterCommitBeforePublish", "its handler sends nothing downstream: the effect is the server's charge, answered to the caller"),
    ("CrashAfterPublishBeforeAck", "its handler sends nothing downstream"),
];

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
