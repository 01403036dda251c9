//! The at-least-once input queue.

use super::{Input, Msg, Node, Protocol, Rand, Topology};
use serde::Serialize;
use stateright::actor::{Id, Out};

#[derive(Clone, Debug)]
pub struct Broker {
    pub handlers: usize,
    /// The copies the queue starts with (inputs and sender duplicates), sorted.
    pub copies: Vec<Input>,
    /// In-order delivery: only the lowest queued input that has been sent is offered.
    pub ordered: bool,
    /// The causal order of the inputs: `(a, b)` means the sender sends `b` only once `a` has been
    /// processed, so no copy of `b` is offered before a copy of `a` has been acked.
    pub causal: Vec<(Input, Input)>,
    /// Handlers that run jobs, and the jobs (inputs only they take; they take nothing else).
    pub relays: Vec<usize>,
    pub jobs: Vec<Input>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct BrokerState {
    /// Copies waiting for a handler, sorted (a multiset).
    pub queue: Vec<Input>,
    /// The copy each handler holds, by handler index.
    pub leases: Vec<Option<Input>>,
}

const DISPATCH: &str = "dispatch";

impl Broker {
    pub fn on_start<P: Protocol>(&self, o: &mut Out<Node<P>>) -> BrokerState {
        let state = BrokerState {
            queue: self.copies.clone(),
            leases: vec![None; self.handlers],
        };
        self.offer(&state, o);
        state
    }

    /// Acks, nacks and reconnects. Returns the new state, or None when nothing changes.
    pub fn on_msg<P: Protocol>(
        &self,
        state: &BrokerState,
        src: Id,
        msg: Msg<P::Doc, P::Output>,
        o: &mut Out<Node<P>>,
    ) -> Option<BrokerState> {
        let h = usize::from(src).checked_sub(1).filter(|h| *h < self.handlers)?;
        let mut next = state.clone();
        match msg {
            Msg::Ack(_) => next.leases[h] = None,
            Msg::Nack(_) | Msg::Reconnect => {
                if let Some(input) = next.leases[h].take() {
                    insert_sorted(&mut next.queue, input);
                }
            }
            _ => return None,
        }
        self.offer(&next, o);
        Some(next)
    }

    /// Leases a copy of `input` to a handler.
    pub fn on_random<P: Protocol>(&self, state: &BrokerState, random: &Rand, o: &mut Out<Node<P>>) -> BrokerState {
        let Rand::Dispatch { handler, input } = *random else {
            unreachable!("the broker only dispatches")
        };
        let mut next = state.clone();
        let at = next.queue.iter().position(|x| *x == input).expect("dispatched copy is queued");
        next.queue.remove(at);
        next.leases[handler] = Some(input);
        o.send(Topology::handler(handler), Msg::Deliver(input));
        self.offer(&next, o);
        next
    }

    /// Copies of `input` acked so far: those the queue started with that are neither queued
    /// nor leased.
    fn acked(&self, state: &BrokerState, input: Input) -> usize {
        let count = |v: &[Input]| v.iter().filter(|x| **x == input).count();
        count(&self.copies) - count(&state.queue) - state.leases.iter().filter(|l| **l == Some(input)).count()
    }

    /// Sent by now: every input it causally follows has been acked once.
    fn released(&self, state: &BrokerState, input: Input) -> bool {
        self.causal.iter().all(|&(before, after)| after != input || self.acked(state, before) > 0)
    }

    /// Offers every queued input that has been sent (only the lowest of those, when `ordered`:
    /// an input not sent yet is not in the queue and blocks nothing) to every handler without a
    /// lease, or withdraws the offer.
    fn offer<P: Protocol>(&self, state: &BrokerState, o: &mut Out<Node<P>>) {
        let mut inputs = state.queue.clone();
        inputs.dedup();
        inputs.retain(|&input| self.released(state, input));
        if self.ordered {
            inputs.truncate(1);
        }
        let choices: Vec<Rand> = state
            .leases
            .iter()
            .enumerate()
            .filter(|(_, lease)| lease.is_none())
            .flat_map(|(handler, _)| inputs.iter().map(move |&input| Rand::Dispatch { handler, input }))
            .filter(|r| matches!(*r, Rand::Dispatch { handler, input } if self.relays.contains(&handler) == self.jobs.contains(&input)))
            .collect();
        if choices.is_empty() {
            o.remove_random(DISPATCH);
        } else {
            o.choose_random(DISPATCH, choices);
        }
    }
}

pub fn insert_sorted<T: Ord>(v: &mut Vec<T>, x: T) {
    let at = v.partition_point(|y| *y <= x);
    v.insert(at, x);
}
