//! A world state as the TLA+ twin's variables (`specs/World.tla`): the map between the two
//! checkers' states that cross-replay uses. A family maps its own work, documents and outputs
//! ([`Protocol::tla_work`] and its siblings); the world maps the rest.
//!
//! Both sides go through [`tla::canon`] before they are compared, so that the different ways
//! TLC prints one value (a function over `1..n` is a sequence, the empty function is `<<>>`)
//! compare equal.

use super::handler::{Effect, PendingPut, TlaNames};
use super::handler::Wait;
use super::{Msg, NodeState, Protocol, World, WorldState, WriteResult};
use crate::core::tla::{self, int, opt, string as s, Value};
use stateright::actor::Id;

/// How the TLA+ twin writes a family's work, documents and outputs: the map between the twins'
/// states that cross-replay uses, kept apart from the protocol. By default, each value's serde
/// form ([`tla::from_serde`]); a family whose TLA+ twin writes them otherwise (options as
/// `{}`/`{x}`, extra fields) says how.
pub trait TlaMap: Protocol {
    /// The work as the TLA+ twin writes it.
    fn tla_work(&self, work: &Self::Work, names: &TlaNames) -> Value {
        let _ = names;
        tla::from_serde(work)
    }
    /// A document as the TLA+ twin writes it.
    fn tla_doc(&self, doc: &Self::Doc, names: &TlaNames) -> Value {
        let _ = names;
        tla::from_serde(doc)
    }
    /// An output as the TLA+ twin writes it.
    fn tla_output(&self, out: &Self::Output, names: &TlaNames) -> Value {
        let _ = names;
        tla::from_serde(out)
    }
}

/// A bag: each distinct value with its number of copies.
fn bag(items: impl IntoIterator<Item = Value>) -> Value {
    let mut pairs: Vec<(Value, Value)> = Vec::new();
    for x in items {
        match pairs.iter_mut().find(|(k, _)| *k == x) {
            Some((_, Value::Int(n))) => *n += 1,
            _ => pairs.push((x, int(1))),
        }
    }
    Value::Function(pairs)
}

impl<P: TlaMap> World<P> {
    fn tla_names(&self) -> super::handler::TlaNames<'_> {
        super::handler::TlaNames { handlers: &self.handler_names }
    }

    /// An actor as the TLA+ spec names it: handlers are model values, the others strings.
    fn tla_actor(&self, id: Id) -> Value {
        let name = self.actor_name(id);
        if self.topology.is_handler(id) {
            Value::ModelValue(name)
        } else {
            Value::Str(name)
        }
    }

    fn tla_put(&self, put: &PendingPut<P>) -> Value {
        if put.call {
            return tla::record([("type", s("Call")), ("key", int(put.key)), ("op", self.protocol.tla_doc(&put.doc, &self.tla_names()))]);
        }
        tla::record([
            ("type", s("Put")),
            ("key", int(put.key)),
            ("doc", self.protocol.tla_doc(&put.doc, &self.tla_names())),
            ("expected", opt(put.expected.map(int))),
            ("publish", Value::Seq(put.publish.iter().map(|o| self.protocol.tla_output(o, &self.tla_names())).collect())),
        ])
    }

    /// An effect as the protocol's operators return it (`Get(k)`, `Publish(o)`, ...).
    fn tla_effect(&self, effect: &Effect<P>) -> Value {
        match effect {
            Effect::Get { key, .. } => tla::record([("type", s("Get")), ("key", int(*key))]),
            Effect::GetWeak { key, .. } => tla::record([("type", s("GetWeak")), ("key", int(*key))]),
            Effect::Put { put, .. } => self.tla_put(put),
            Effect::Publish(o) => tla::record([("type", s("Publish")), ("out", self.protocol.tla_output(o, &self.tla_names()))]),
            Effect::Ack(m) => tla::record([("type", s("Ack")), ("input", int(*m))]),
            Effect::Nack(m) => tla::record([("type", s("Nack")), ("input", int(*m))]),
        }
    }

    fn tla_msg(&self, msg: &Msg<P::Doc, P::Output>) -> Value {
        let p = &self.protocol;
        match msg {
            Msg::Deliver { input, n } => tla::record([("type", s("Deliver")), ("input", int(*input)), ("n", int(*n))]),
            Msg::Ack { input, n } => tla::record([("type", s("Ack")), ("input", int(*input)), ("n", int(*n))]),
            Msg::Nack { input, n } => tla::record([("type", s("Nack")), ("input", int(*input)), ("n", int(*n))]),
            Msg::Reconnect => tla::record([("type", s("Reconnect"))]),
            Msg::Get { tag, key } => tla::record([("type", s("Get")), ("tag", int(*tag)), ("key", int(*key))]),
            Msg::GetStale { tag, key } => tla::record([("type", s("GetStale")), ("tag", int(*tag)), ("key", int(*key))]),
            Msg::Doc { tag, key, version, doc } => tla::record([
                ("type", s("Doc")),
                ("tag", int(*tag)),
                ("key", int(*key)),
                ("version", int(*version)),
                ("doc", p.tla_doc(doc, &self.tla_names())),
            ]),
            Msg::Put { tag, key, doc, expected, late, publish } => tla::record([
                ("type", s("Put")),
                ("tag", int(*tag)),
                ("key", int(*key)),
                ("doc", p.tla_doc(doc, &self.tla_names())),
                ("expected", opt(expected.map(int))),
                ("late", Value::Bool(*late)),
                ("publish", Value::Seq(publish.iter().map(|o| p.tla_output(o, &self.tla_names())).collect())),
            ]),
            Msg::PutReply { tag, key, result } => tla::record([
                ("type", s("PutReply")),
                ("tag", int(*tag)),
                ("key", int(*key)),
                ("result", s(match result {
                    WriteResult::Ok => "Ok",
                    WriteResult::Conflict => "Conflict",
                    WriteResult::Failed => "Failed",
                })),
            ]),
            Msg::Call { tag, key, op, late } => tla::record([
                ("type", s("Call")),
                ("tag", int(*tag)),
                ("key", int(*key)),
                ("op", p.tla_doc(op, &self.tla_names())),
                ("late", Value::Bool(*late)),
            ]),
            Msg::Later { key, op } => tla::record([("type", s("Later")), ("key", int(*key)), ("op", p.tla_doc(op, &self.tla_names()))]),
            Msg::Output(o) => tla::record([("type", s("Output")), ("out", p.tla_output(o, &self.tla_names()))]),
        }
    }

    /// The state as the values of the TLA+ twin's variables, canonical.
    pub fn tla_state(&self, state: &WorldState<P>) -> tla::State {
        let p = &self.protocol;
        let mut vars: Vec<(String, Value)> = Vec::new();
        let (mut hs, mut crashed, mut failures) = (Vec::new(), Vec::new(), Vec::new());
        for (i, st) in state.actor_states.iter().enumerate() {
            let id = Id::from(i);
            match &**st {
                NodeState::Broker(b) => {
                    vars.push(("queue".into(), bag(b.queue.iter().map(|m| int(*m)))));
                    let leases = b.leases.iter().enumerate().map(|(h, l)| {
                        (self.tla_actor(super::Topology::handler(h)), int(l.unwrap_or(0)))
                    });
                    vars.push(("leases".into(), Value::Function(leases.collect())));
                    let lease_no = b.lease_no.iter().enumerate().map(|(h, n)| (self.tla_actor(super::Topology::handler(h)), int(*n)));
                    vars.push(("leaseNo".into(), Value::Function(lease_no.collect())));
                    vars.push(("expired".into(), int(b.expired)));
                }
                NodeState::Handler(h) => {
                    let me = self.tla_actor(id);
                    hs.push((me.clone(), tla::record([
                        ("tag", int(h.tag)),
                        ("ids", int(h.ids)),
                        ("work", opt(h.work.as_ref().map(|w| p.tla_work(w, &self.tla_names())))),
                        ("wait", s(match h.wait {
                            Wait::Nothing => "Nothing",
                            Wait::Doc => "Doc",
                            Wait::PutReply => "PutReply",
                            Wait::Fate => "Fate",
                            Wait::Level { .. } => "Level",
                            Wait::Reply => "Reply",
                        })),
                        // A weak read whose level is being drawn is pending in the TLA+ twin.
                        ("pending", opt(match h.wait {
                            Wait::Level { key, .. } => Some(tla::record([("type", s("GetWeak")), ("key", int(key))])),
                            _ => h.pending.as_ref().map(|put| self.tla_put(put)),
                        })),
                        ("input", int(h.input)),
                        ("delivery", int(h.delivery)),
                        ("todo", Value::Seq(h.todo.iter().map(|e| self.tla_effect(e)).collect())),
                        ("failed", int(h.failed)),
                    ])));
                    crashed.push((me.clone(), Value::Bool(state.crashed[i])));
                    failures.push((me, int(state.actor_storages[i].map_or(0, |d| d.failures))));
                }
                NodeState::Store(d) => {
                    let docs = d.docs.iter().map(|(k, v, doc)| {
                        let mut fields = vec![("version".to_string(), int(*v)), ("doc".to_string(), p.tla_doc(doc, &self.tla_names()))];
                        // A key that keeps its previous version (for stale reads) has it as `prev`.
                        if let Some((_, prev)) = d.previous.iter().find(|(pk, _)| pk == k) {
                            fields.push(("prev".to_string(), p.tla_doc(prev, &self.tla_names())));
                        }
                        (int(*k), Value::Record(fields))
                    });
                    vars.push(("docs".into(), Value::Function(docs.collect())));
                    // A bag in TLA+ too: input -> times, inputs never added left out.
                    vars.push(("applied".into(), Value::Function(d.applied.iter().map(|(m, n)| (int(*m), int(*n))).collect())));
                }
                NodeState::Downstream(received) => {
                    vars.push(("received".into(), bag(received.iter().map(|o| p.tla_output(o, &self.tla_names())))));
                }
            }
        }
        vars.push(("hs".into(), Value::Function(hs)));
        vars.push(("crashed".into(), Value::Function(crashed)));
        vars.push(("failures".into(), Value::Function(failures)));
        // Each envelope once per copy. Not through `Network::iter_all`: for an envelope with n > 1
        // copies, stateright's iterator yields it n + 1 times.
        let envelope = |src: Id, dst: Id, msg: &Msg<P::Doc, P::Output>| {
            tla::record([("src", self.tla_actor(src)), ("dst", self.tla_actor(dst)), ("msg", self.tla_msg(msg))])
        };
        let net: Vec<Value> = match &state.network {
            stateright::actor::Network::UnorderedNonDuplicating(map) => {
                map.iter().flat_map(|(e, copies)| std::iter::repeat_n(envelope(e.src, e.dst, &e.msg), *copies)).collect()
            }
            other => other.iter_all().map(|e| envelope(e.src, e.dst, e.msg)).collect(),
        };
        vars.push(("net".into(), bag(net)));
        tla::canon_state(vars)
    }
}
