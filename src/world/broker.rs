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
    /// Leases may expire (failures are possible at all): the broker offers to take back each
    /// copy leased (not a job), and the model's boundary keeps expiries within the budget.
    pub expiry: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct BrokerState {
    /// Copies waiting for a handler, sorted (a multiset).
    pub queue: Vec<Input>,
    /// The copy each handler holds, by handler index.
    pub leases: Vec<Option<Input>>,
    /// The delivery number of each lease, by handler index (0 when none, or before any expiry):
    /// an ack or a nack names the delivery it answers, as a delivery tag or a receipt handle does.
    pub lease_no: Vec<u8>,
    /// Leases expired so far: each draws on the failure budget. A copy is dispatched with the
    /// number of expiries so far as its delivery number: a lease that expired had a smaller one
    /// than every lease given after it, and without an expiry no ack can arrive late.
    pub expired: u8,
}

impl BrokerState {
    /// Handler `h` holds the lease that an ack or a nack of delivery `n` of `input` names.
    pub fn names(&self, h: usize, input: Input, n: u8) -> bool {
        self.leases[h] == Some(input) && self.lease_no[h] == n
    }

    /// Handler `h`'s lease ends; returns the input it held, if any.
    fn end_lease(&mut self, h: usize) -> Option<Input> {
        self.lease_no[h] = 0;
        self.leases[h].take()
    }
}

const DISPATCH: &str = "dispatch";
const EXPIRE: &str = "expire";

impl Broker {
    pub fn on_start<P: Protocol>(&self, o: &mut Out<Node<P>>) -> BrokerState {
        let state = BrokerState {
            queue: self.copies.clone(),
            leases: vec![None; self.handlers],
            lease_no: vec![0; self.handlers],
            expired: 0,
        };
        self.offer(&state, o);
        state
    }

    /// Acks, nacks and reconnects. An ack or a nack ends the lease it names (its input and
    /// delivery number), and only that one: an ack of a copy whose lease expired is dropped.
    /// Returns the new state, or None for a message the broker does not take.
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
            Msg::Ack { input, n } => {
                if next.names(h, input, n) {
                    next.end_lease(h);
                }
            }
            Msg::Nack { input, n } => {
                if next.names(h, input, n) {
                    next.end_lease(h);
                    insert_sorted(&mut next.queue, input);
                }
            }
            Msg::Reconnect => {
                if let Some(input) = next.end_lease(h) {
                    insert_sorted(&mut next.queue, input);
                }
            }
            _ => return None,
        }
        self.offer(&next, o);
        Some(next)
    }

    /// Leases a copy of `input` to a handler, or takes back the copy a handler holds (its lease
    /// expired, or its ack was lost): the copy is offered again while the handler may still work
    /// on it, and the handler is not told.
    pub fn on_random<P: Protocol>(&self, state: &BrokerState, random: &Rand, o: &mut Out<Node<P>>) -> BrokerState {
        let mut next = state.clone();
        match *random {
            Rand::Dispatch { handler, input } => {
                let at = next.queue.iter().position(|x| *x == input).expect("dispatched copy is queued");
                next.queue.remove(at);
                let n = next.expired;
                next.leases[handler] = Some(input);
                next.lease_no[handler] = n;
                o.send(Topology::handler(handler), Msg::Deliver { input, n });
            }
            Rand::Expire { handler } => {
                let input = next.end_lease(handler).expect("an expiring lease is held");
                insert_sorted(&mut next.queue, input);
                next.expired += 1;
            }
            _ => unreachable!("the broker only dispatches and expires leases"),
        }
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
        if !self.expiry {
            return;
        }
        let expiries: Vec<Rand> = state
            .leases
            .iter()
            .enumerate()
            .filter(|(_, lease)| lease.is_some_and(|input| !self.jobs.contains(&input)))
            .map(|(handler, _)| Rand::Expire { handler })
            .collect();
        if expiries.is_empty() {
            o.remove_random(EXPIRE);
        } else {
            o.choose_random(EXPIRE, expiries);
        }
    }
}

pub fn insert_sorted<T: Ord>(v: &mut Vec<T>, x: T) {
    let at = v.partition_point(|y| *y <= x);
    v.insert(at, x);
}
