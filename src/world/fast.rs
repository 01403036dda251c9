//! The fast path for checking a world: the same actors, stepped exactly as Stateright's
//! `ActorModel` steps them, over a compact state. A model file's run (`exactly check`, compare,
//! bench) uses it unless it is symmetric or `--actor-model` is given; the Explorer, the shortest
//! traces, the replay and symmetry use the actor model itself.
//!
//! What makes it faster is only the representation of a state: the messages in flight are a
//! sorted vector with copy counts (not a hash map cloned per successor and hashed entry by entry),
//! the pending random choices a sorted vector (not a map of strings per actor), the crashed flags
//! a bit set, the storages an array; there are no timers (the world sets none). A step runs the
//! same actor code (`on_msg`, `on_random`, `on_start`) and applies its commands as
//! `ActorModel::next_state` does, so the states are the actor model's, one to one
//! ([`Fast::world_state`] converts), and so are the distinct and generated counts (tests/it/fast.rs
//! runs both on every model file). Properties are the family's own conditions, read through a
//! [`view::View`] of the compact state, with no conversion.

use super::node::within_budget_of;
use super::{view, Durable, Node, NodeMsg, NodeState, Protocol, Rand, WorldModel, WorldState};
use crate::core::vocab::Kind;
use stateright::actor::{is_no_op, Actor, ActorModelState, Command, Envelope, Id, Network, Out, RandomChoices, Timers};
use stateright::{Expectation, Model, Property};
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How Stateright checks a property of this kind.
pub fn expectation(kind: Kind) -> Expectation {
    match kind {
        Kind::Invariant | Kind::Liveness => Expectation::Always,
        Kind::Sometimes => Expectation::Sometimes,
    }
}

/// At most this many actors (broker, up to four handlers, stores, downstream).
const MAX_ACTORS: usize = 16;

/// The fast model of a world: the actor model it mirrors, whose actors, configuration, crash
/// bound and properties it uses.
pub struct Fast<P: Protocol> {
    pub actor: WorldModel<P>,
    /// The properties checked, as the fast path evaluates them.
    properties: Vec<Property<Fast<P>>>,
    /// Set when a run is stopped by a limit: from then on the model offers no property and no
    /// step, so that Stateright's threads drain their queues and end within moments (its own
    /// timeout is seen only by a thread whose queue is empty; its state target counts
    /// generated states).
    halt: Arc<AtomicBool>,
}

/// A world state, compactly.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FastState<P: Protocol> {
    pub(super) actors: Box<[Arc<NodeState<P>>]>,
    /// The messages in flight, each with its number of copies, sorted.
    pub(super) network: Vec<(Envelope<NodeMsg<P>>, u32)>,
    /// The pending random choices: actor, key (its bytes), options; sorted by actor and key.
    pub(super) random: Vec<(u8, u64, Arc<[Rand]>)>,
    /// Bit `i`: actor `i` is down.
    pub(super) crashed: u16,
    pub(super) storages: [Option<Durable>; MAX_ACTORS],
}

/// A step of the fast model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FastAction {
    /// Deliver a copy of the message at this index of the network.
    Deliver(usize),
    Crash(usize),
    Recover(usize),
    /// Take option `.1` of the random choice at index `.0`.
    Random(usize, usize),
}

/// A random choice's key as a number (keys are at most eight bytes: "dispatch", "fate", "level").
fn key_code(key: &str) -> u64 {
    assert!(key.len() <= 8, "random choice key {key:?} is longer than eight bytes");
    let mut bytes = [0u8; 8];
    bytes[..key.len()].copy_from_slice(key.as_bytes());
    u64::from_le_bytes(bytes)
}

fn key_string(code: u64) -> String {
    let bytes = code.to_le_bytes();
    String::from_utf8_lossy(&bytes[..bytes.iter().position(|b| *b == 0).unwrap_or(8)]).into_owned()
}

impl<P: Protocol> FastState<P> {
    fn is_crashed(&self, i: usize) -> bool {
        self.crashed & (1 << i) != 0
    }
    fn send(&mut self, env: Envelope<NodeMsg<P>>) {
        match self.network.binary_search_by(|(e, _)| e.cmp(&env)) {
            Ok(at) => self.network[at].1 += 1,
            Err(at) => self.network.insert(at, (env, 1)),
        }
    }
    /// Takes one copy of the message at `at` off the network.
    fn take(&mut self, at: usize) {
        if self.network[at].1 == 1 {
            self.network.remove(at);
        } else {
            self.network[at].1 -= 1;
        }
    }
}

impl<P: Protocol> Fast<P> {
    /// The fast path of `actor`, checking `properties`, and `extra` beside them (the sentinel).
    pub fn new(actor: WorldModel<P>, properties: &[view::Property<P>], extra: Vec<Property<Fast<P>>>) -> Self {
        assert!(actor.actors.len() <= MAX_ACTORS, "more than {MAX_ACTORS} actors");
        let mut checked: Vec<Property<Fast<P>>> = properties.iter().map(|p| Property { expectation: expectation(p.kind), name: p.name, condition: p.on_fast }).collect();
        checked.extend(extra);
        Fast { actor, properties: checked, halt: Arc::new(AtomicBool::new(false)) }
    }

    /// The flag that stops a run of this model (see the field).
    pub fn halt(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.halt)
    }

    fn halted(&self) -> bool {
        self.halt.load(Ordering::Relaxed)
    }

    /// Applies an actor's commands as `ActorModel` does (the world sets no timers).
    fn process(&self, index: usize, out: Out<Node<P>>, state: &mut FastState<P>) {
        let id = Id::from(index);
        for c in out {
            match c {
                Command::Send(dst, msg) => state.send(Envelope { src: id, dst, msg }),
                Command::ChooseRandom(key, options) => {
                    let key = key_code(&key);
                    let at = state.random.binary_search_by(|(a, k, _)| (*a as usize, *k).cmp(&(index, key)));
                    match (at, options.is_empty()) {
                        (Ok(at), true) => {
                            state.random.remove(at);
                        }
                        (Ok(at), false) => state.random[at].2 = options.into(),
                        (Err(_), true) => {}
                        (Err(at), false) => state.random.insert(at, (index as u8, key, options.into())),
                    }
                }
                Command::Save(storage) => state.storages[index] = Some(storage),
                Command::SetTimer(..) | Command::CancelTimer(_) => unreachable!("the world sets no timers"),
            }
        }
    }

    /// The actor model's state this state stands for.
    pub fn world_state(&self, s: &FastState<P>) -> WorldState<P> {
        let n = s.actors.len();
        let mut random_choices = vec![RandomChoices::default(); n];
        for (actor, key, options) in &s.random {
            random_choices[*actor as usize].insert(key_string(*key), options.to_vec());
        }
        ActorModelState {
            actor_states: s.actors.to_vec(),
            network: Network::new_unordered_nonduplicating(
                s.network.iter().flat_map(|(e, copies)| std::iter::repeat_n(e.clone(), *copies as usize)),
            ),
            timers_set: vec![Timers::new(); n],
            random_choices,
            crashed: (0..n).map(|i| s.is_crashed(i)).collect(),
            history: (),
            actor_storages: s.storages[..n].to_vec(),
        }
    }
}

impl<P: Protocol> Model for Fast<P> {
    type State = FastState<P>;
    type Action = FastAction;

    fn init_states(&self) -> Vec<FastState<P>> {
        let n = self.actor.actors.len();
        let mut state = FastState { actors: Box::new([]), network: Vec::new(), random: Vec::new(), crashed: 0, storages: [None; MAX_ACTORS] };
        let mut actors = Vec::with_capacity(n);
        for (index, actor) in self.actor.actors.iter().enumerate() {
            let mut out = Out::new();
            actors.push(Arc::new(actor.on_start(Id::from(index), &None, &mut out)));
            self.process(index, out, &mut state);
        }
        state.actors = actors.into_boxed_slice();
        vec![state]
    }

    fn actions(&self, s: &FastState<P>, actions: &mut Vec<FastAction>) {
        if self.halted() {
            return;
        }
        let n = s.actors.len();
        for (at, (env, _)) in s.network.iter().enumerate() {
            if usize::from(env.dst) < n {
                actions.push(FastAction::Deliver(at));
            }
        }
        if (s.crashed.count_ones() as usize) < self.actor.max_crashes {
            actions.extend((0..n).filter(|i| !s.is_crashed(*i)).map(FastAction::Crash));
        }
        actions.extend((0..n).filter(|i| s.is_crashed(*i)).map(FastAction::Recover));
        for (at, (_, _, options)) in s.random.iter().enumerate() {
            actions.extend((0..options.len()).map(|o| FastAction::Random(at, o)));
        }
    }

    fn next_state(&self, s: &FastState<P>, action: FastAction) -> Option<FastState<P>> {
        match action {
            FastAction::Deliver(at) => {
                let env = &s.network[at].0;
                let index = usize::from(env.dst);
                if s.is_crashed(index) {
                    return None;
                }
                let mut actor_state = Cow::Borrowed(&*s.actors[index]);
                let mut out = Out::new();
                self.actor.actors[index].on_msg(env.dst, &mut actor_state, env.src, env.msg.clone(), &mut out);
                if is_no_op(&actor_state, &out) {
                    return None;
                }
                let mut next = s.clone();
                next.take(at);
                if let Cow::Owned(a) = actor_state {
                    next.actors[index] = Arc::new(a);
                }
                self.process(index, out, &mut next);
                Some(next)
            }
            FastAction::Crash(index) => {
                let mut next = s.clone();
                next.random.retain(|(a, _, _)| *a as usize != index);
                next.crashed |= 1 << index;
                Some(next)
            }
            FastAction::Recover(index) => {
                let mut out = Out::new();
                let actor_state = self.actor.actors[index].on_start(Id::from(index), &s.storages[index], &mut out);
                let mut next = s.clone();
                next.actors[index] = Arc::new(actor_state);
                next.crashed &= !(1 << index);
                self.process(index, out, &mut next);
                Some(next)
            }
            FastAction::Random(at, option) => {
                let (actor, _, options) = &s.random[at];
                let index = *actor as usize;
                let mut actor_state = Cow::Borrowed(&*s.actors[index]);
                let mut out = Out::new();
                self.actor.actors[index].on_random(Id::from(index), &mut actor_state, &options[option], &mut out);
                let mut next = s.clone();
                next.random.remove(at);
                if let Cow::Owned(a) = actor_state {
                    next.actors[index] = Arc::new(a);
                }
                self.process(index, out, &mut next);
                Some(next)
            }
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        if self.halted() {
            return Vec::new();
        }
        self.properties.clone()
    }

    fn within_boundary(&self, s: &FastState<P>) -> bool {
        within_budget_of(&self.actor.cfg, s.actors.len(), |i| s.is_crashed(i), |i| &s.actors[i], |i| s.storages[i])
    }
}
