//! A world state as JSON, for traces and the page: each actor's state by name, and the messages
//! in flight with their copies.

use super::{NodeState, Protocol, World, WorldState};
use stateright::actor::Id;

/// A world state as JSON, for traces: each actor's state by name (handlers with their crashed
/// flag and failure count), and the messages in flight with their copies.
pub fn state_json<P: Protocol>(world: &World<P>, s: &WorldState<P>) -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let mut handlers = Map::new();
    let mut stores = Map::new();
    let mut out = Map::new();
    for (i, st) in s.actor_states.iter().enumerate() {
        let id = Id::from(i);
        let name = world.actor_name(id);
        match &**st {
            NodeState::Broker(b) => {
                out.insert("broker".into(), serde_json::to_value(b).unwrap_or(Value::Null));
            }
            NodeState::Handler(h) => {
                let mut v = serde_json::to_value(h).unwrap_or(Value::Null);
                v["crashed"] = json!(s.crashed[i]);
                v["failures"] = json!(s.actor_storages[i]);
                handlers.insert(name, v);
            }
            NodeState::Store(d) => {
                stores.insert(name, serde_json::to_value(d).unwrap_or(Value::Null));
            }
            NodeState::Downstream(received) => {
                out.insert("downstream".into(), serde_json::to_value(received).unwrap_or(Value::Null));
            }
        }
    }
    out.insert("handlers".into(), Value::Object(handlers));
    for (k, v) in stores {
        out.insert(k, v);
    }
    let mut network: Vec<Value> = match &s.network {
        stateright::actor::Network::UnorderedNonDuplicating(map) => map
            .iter()
            .map(|(e, copies)| {
                json!({
                    "src": world.actor_name(e.src),
                    "dst": world.actor_name(e.dst),
                    "msg": serde_json::to_value(&e.msg).unwrap_or(Value::Null),
                    "copies": copies,
                })
            })
            .collect(),
        other => other
            .iter_all()
            .map(|e| json!({"src": world.actor_name(e.src), "dst": world.actor_name(e.dst), "msg": serde_json::to_value(e.msg).unwrap_or(Value::Null)}))
            .collect(),
    };
    network.sort_by_key(|v| v.to_string());
    out.insert("network".into(), Value::Array(network));
    Value::Object(out)
}