//! Symmetry reduction over the handlers (a model file's `SYMMETRY HandlerPerms`).
//!
//! Handlers are interchangeable: renaming them maps a reachable state to a reachable state, with
//! the same verdict for every property that does not name a particular handler (the families'
//! properties quantify over all handlers). Stateright 0.31 reduces a depth-first run by storing
//! one representative per class of states; [`representative`] is that map. Its built-in
//! `Representative` for actor states would sort *every* actor, broker and stores included; here
//! only the handlers move, with everything that belongs to them or names them:
//!
//! - each handler's state, crashed flag, durable failure count, timers and random choices;
//! - every envelope's source and destination;
//! - the broker's leases (by handler index) and its pending dispatch choices.
//!
//! The representative is the renaming whose result hashes lowest, over every permutation of
//! the handlers (at most 4! = 24): two states get the same one exactly when a renaming maps one
//! onto the other (up to hash collisions, which only cost reduction, never soundness), so the
//! distinct count is the number of classes, as with TLC's `SYMMETRY`.
//!
//! A family whose documents, outputs or work carry a handler's index (fresh ids, see
//! [`super::FreshId`]) is not symmetric under this renaming, so a family opts in
//! (`WorldFamily::SYMMETRIC` in `src/families/world_family.rs`).

use super::{NodeState, Protocol, Rand, WorldState};
use stateright::actor::{Envelope, Id, Network};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The model-file name of the handler permutations (`SYMMETRY HandlerPerms`; in TLA+,
/// `HandlerPerms == Permutations(Handlers)` in `specs/World.tla`).
pub const HANDLER_PERMS: &str = "HandlerPerms";

/// The actor indices of the handlers: the actors whose state is a handler's (contiguous, right
/// after the broker).
fn handler_slots<P: Protocol>(s: &WorldState<P>) -> Vec<usize> {
    s.actor_states.iter().enumerate().filter(|(_, a)| matches!(***a, NodeState::Handler(_))).map(|(i, _)| i).collect()
}

/// Every permutation of `0..n`.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    fn go(prefix: &mut Vec<usize>, n: usize, out: &mut Vec<Vec<usize>>) {
        if prefix.len() == n {
            out.push(prefix.clone());
            return;
        }
        for i in 0..n {
            if !prefix.contains(&i) {
                prefix.push(i);
                go(prefix, n, out);
                prefix.pop();
            }
        }
    }
    let mut out = Vec::new();
    go(&mut Vec::new(), n, &mut out);
    out
}

/// `s` with handler `i` (from 0) renamed `perm[i]`.
pub fn rename<P: Protocol>(s: &WorldState<P>, perm: &[usize]) -> WorldState<P> {
    let first = handler_slots(s).first().copied().unwrap_or(1);
    let n = perm.len();
    // Actor index after the renaming.
    let to = |i: usize| if i >= first && i < first + n { first + perm[i - first] } else { i };
    let id = |x: Id| Id::from(to(usize::from(x)));
    let mut out = s.clone();
    for i in first..first + n {
        let j = to(i);
        out.actor_states[j] = s.actor_states[i].clone();
        out.crashed[j] = s.crashed[i];
        out.actor_storages[j] = s.actor_storages[i];
        out.timers_set[j] = s.timers_set[i].clone();
        out.random_choices[j] = s.random_choices[i].clone();
    }
    // The broker: leases by handler index, and the dispatch choices it offers.
    if let NodeState::Broker(b) = &*s.actor_states[0] {
        let mut b = b.clone();
        let mut leases = b.leases.clone();
        for (i, lease) in b.leases.iter().enumerate() {
            leases[perm[i]] = *lease;
        }
        b.leases = leases;
        let mut lease_no = b.lease_no.clone();
        for (i, n) in b.lease_no.iter().enumerate() {
            lease_no[perm[i]] = *n;
        }
        b.lease_no = lease_no;
        out.actor_states[0] = Arc::new(NodeState::Broker(b));
        for choices in out.random_choices[0].map.values_mut() {
            for c in choices.iter_mut() {
                if let Rand::Dispatch { handler, .. } | Rand::Expire { handler } = c {
                    *handler = perm[*handler];
                }
            }
            // The broker offers its choices handler by handler: the order a renamed state has.
            choices.sort();
        }
    }
    out.network = match &s.network {
        Network::UnorderedNonDuplicating(map) => Network::UnorderedNonDuplicating(
            map.iter()
                .map(|(e, copies)| (Envelope { src: id(e.src), dst: id(e.dst), msg: e.msg.clone() }, *copies))
                .collect(),
        ),
        _ => unreachable!("the shared world's network is unordered and non-duplicating"),
    };
    out
}

fn hash_of<T: Hash>(x: &T) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    x.hash(&mut h);
    h.finish()
}

/// The representative of `s`'s class under renamings of the handlers (see the module
/// documentation). A plain function, as Stateright's `symmetry_fn` wants.
pub fn representative<P: Protocol>(s: &WorldState<P>) -> WorldState<P> {
    let n = handler_slots(s).len();
    if n < 2 {
        return s.clone();
    }
    permutations(n)
        .into_iter()
        .map(|perm| rename(s, &perm))
        .min_by_key(hash_of)
        .expect("at least one permutation")
}
