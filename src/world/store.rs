//! A store of versioned documents with optimistic concurrency. One document is written
//! atomically; nothing spans documents. A write applies only if the document's version is the one
//! the writer read.

use super::{Key, Msg, Node, Protocol, Version, WriteResult};
use serde::Serialize;
use stateright::actor::{Id, Out};
use std::marker::PhantomData;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct Store<P> {
    downstream: Id,
    /// Keys whose previous committed version is kept, for stale reads.
    stale_keys: Vec<Key>,
    /// The protocol whose endpoint ([`Protocol::serve`]) the store serves, for `Call`s.
    server: Option<P>,
    _protocol: PhantomData<P>,
}

/// The documents, sorted by key; a key never written reads as version 0 and the default document.
/// Documents are shared (`Arc`) with the messages that carry them and with the next states.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct StoreState<D> {
    pub docs: Vec<(Key, Version, Arc<D>)>,
    /// For the keys that keep it (and have been written): the document as it was before the last
    /// write, at the version before the current one. A stale read returns it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub previous: Vec<(Key, Arc<D>)>,
    /// A history the properties read and no actor does: how many times a write added each
    /// input's change to the business state over the run ([`Protocol::changes`]), sorted by
    /// input, inputs never added left out; 2 stands for "twice or more". A change lost to a lost
    /// update and applied again counts twice, though the document shows it once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<(super::Input, u8)>,
}

impl<D: Clone + Default> StoreState<D> {
    pub fn get(&self, key: Key) -> (Version, D) {
        self.find(key).map_or_else(|| (0, D::default()), |(v, d)| (v, D::clone(d)))
    }
    /// The version and the document under `key`, shared.
    fn shared(&self, key: Key) -> (Version, Arc<D>) {
        self.find(key).map_or_else(|| (0, Arc::default()), |(v, d)| (v, d.clone()))
    }
    /// The version and document under `key`, if it has been written.
    fn find(&self, key: Key) -> Option<(Version, &Arc<D>)> {
        self.docs.iter().find(|(k, _, _)| *k == key).map(|(_, v, d)| (*v, d))
    }
    /// Writes `doc` under `key` at `version`.
    fn set(&mut self, key: Key, version: Version, doc: Arc<D>) {
        match self.docs.iter_mut().find(|(k, _, _)| *k == key) {
            Some(slot) => *slot = (key, version, doc),
            None => {
                self.docs.push((key, version, doc));
                self.docs.sort_by_key(|(k, _, _)| *k);
            }
        }
    }
    /// The document under `key` (the default one if never written).
    pub fn doc(&self, key: Key) -> D {
        self.get(key).1
    }
    /// The version of the document under `key` (0 if never written).
    pub fn get_version(&self, key: Key) -> Version {
        self.find(key).map_or(0, |(v, _)| v)
    }
    /// How many times a write added `input`'s change to the business state (2: twice or more).
    pub fn times_applied(&self, input: super::Input) -> u8 {
        self.applied.iter().find(|(m, _)| *m == input).map_or(0, |(_, n)| *n)
    }
    /// Counts the changes a write added: those in `new` (the changes the written document holds)
    /// beyond those in `old` (the ones it replaced), input by input.
    fn count_added(&mut self, old: &[super::Input], new: &[super::Input]) {
        let times = |list: &[super::Input], m: super::Input| list.iter().filter(|x| **x == m).count();
        let mut inputs = new.to_vec();
        inputs.sort();
        inputs.dedup();
        for m in inputs {
            let added = times(new, m).saturating_sub(times(old, m));
            let before = self.times_applied(m);
            let after = (before as usize + added).min(2) as u8;
            if after != before {
                self.applied.retain(|(x, _)| *x != m);
                let at = self.applied.partition_point(|(x, _)| *x < m);
                self.applied.insert(at, (m, after));
            }
        }
    }
}

impl<P: Protocol> Store<P> {
    pub fn new(downstream: Id) -> Self {
        Store { downstream, stale_keys: Vec::new(), server: None, _protocol: PhantomData }
    }

    /// The store keeps the previous committed version of the documents under `keys`, so that a
    /// read of one at a weak consistency level may return it (eventual consistency, bounded to
    /// one version behind so that the state graph stays finite).
    pub fn keeping_previous(mut self, keys: &[Key]) -> Self {
        self.stale_keys = keys.to_vec();
        self
    }

    /// The store answers calls of `protocol`'s endpoint (an HTTP server whose state is the
    /// store's documents).
    pub fn serving(mut self, protocol: P) -> Self {
        self.server = Some(protocol);
        self
    }

    pub fn on_start(&self) -> StoreState<P::Doc> {
        StoreState { docs: Vec::new(), previous: Vec::new(), applied: Vec::new() }
    }

    pub fn on_msg(
        &self,
        me: Id,
        state: &StoreState<P::Doc>,
        src: Id,
        msg: Msg<P::Doc, P::Output>,
        o: &mut Out<Node<P>>,
    ) -> Option<StoreState<P::Doc>> {
        match msg {
            Msg::Get { tag, key } => {
                let (version, doc) = state.shared(key);
                o.send(src, Msg::Doc { tag, key, version, doc });
                // Reading consumes the request; the documents stay as they were.
                Some(state.clone())
            }
            Msg::GetStale { tag, key } => {
                // The version before the current one, if the store keeps it; else the current.
                let (version, doc) = match state.previous.iter().find(|(k, _)| *k == key) {
                    Some((_, prev)) => (state.get_version(key) - 1, prev.clone()),
                    None => state.shared(key),
                };
                o.send(src, Msg::Doc { tag, key, version, doc });
                Some(state.clone())
            }
            Msg::Put { tag, key, doc, expected, late, publish } => {
                let (version, old) = state.shared(key);
                let mut next = state.clone();
                let applied = expected.is_none_or(|e| e == version);
                if applied {
                    next.count_added(&P::changes(key, &old), &P::changes(key, &doc));
                }
                if applied && self.stale_keys.contains(&key) {
                    next.previous.retain(|(k, _)| *k != key);
                    next.previous.push((key, old));
                    next.previous.sort_by_key(|(k, _)| *k);
                }
                if applied {
                    next.set(key, version + 1, doc);
                    for out in publish {
                        o.send(self.downstream, Msg::Output(out));
                    }
                }
                // A write that timed out lands without an answer: its writer has moved on.
                if !late {
                    let result = if applied { WriteResult::Ok } else { WriteResult::Conflict };
                    o.send(src, Msg::PutReply { tag, key, result });
                }
                Some(next)
            }
            Msg::Call { tag, key, op, late } => {
                let Some(server) = &self.server else { return None };
                let (version, old) = state.shared(key);
                let served = server.serve(key, &old, &op);
                let mut next = state.clone();
                let version = match served.write {
                    Some(doc) => {
                        next.count_added(&P::changes(key, &old), &P::changes(key, &doc));
                        next.set(key, version + 1, Arc::new(doc));
                        for out in served.publish {
                            o.send(self.downstream, Msg::Output(out));
                        }
                        version + 1
                    }
                    None => version,
                };
                if let Some(op) = served.later {
                    o.send(me, Msg::Later { key, op: Arc::new(op) });
                }
                if !late {
                    o.send(src, Msg::Doc { tag, key, version, doc: Arc::new(served.response) });
                }
                Some(next)
            }
            Msg::Later { key, op } => {
                let Some(server) = &self.server else { return None };
                let (version, old) = state.shared(key);
                let served = server.serve(key, &old, &op);
                let mut next = state.clone();
                if let Some(doc) = served.write {
                    next.count_added(&P::changes(key, &old), &P::changes(key, &doc));
                    next.set(key, version + 1, Arc::new(doc));
                    for out in served.publish {
                        o.send(self.downstream, Msg::Output(out));
                    }
                }
                Some(next)
            }
            _ => None,
        }
    }
}
