//! What every family built on the shared world has in common: the [`Family`] methods (from a
//! protocol, a table of property conditions and the world of a model file), and the property
//! conditions that read only the world.

use crate::actors::{self, build, has_successor, Protocol, View, World, WorldModel, WorldState, WORLD_CONSTANTS};
use crate::check::{self, Cond, Outcome, RunOptions};
use crate::family::{ConstDef, Consts, Family, Kind, PropertyDef};

/// A family of the catalog built on the shared world (`src/actors`). Implementing it gives the
/// [`Family`] impl: checking, shortest traces and the Explorer.
pub trait WorldFamily: Sync + 'static {
    type P: Protocol;
    /// The kebab-case id (`specs/<id>/`, `models/<id>/`).
    const ID: &'static str;
    /// The TLA+ module.
    const MODULE: &'static str;
    const SUMMARY: &'static str;
    /// The variants; the first is the correct one.
    const VARIANTS: &'static [&'static str];
    const PROPERTIES: &'static [PropertyDef];
    /// The condition of every property, by name.
    const CONDITIONS: &'static [(&'static str, Cond<WorldModel<Self::P>>)];
    /// Handlers are interchangeable: no document, output or work carries a handler's index and
    /// no property names a handler, so model files may select `SYMMETRY HandlerPerms`.
    const SYMMETRIC: bool = false;

    /// The constants of its model files: the world's, unless the family adds some.
    const CONSTANTS: &'static [ConstDef] = WORLD_CONSTANTS;

    /// The world of a model file's constants (they were validated against the family's).
    fn world(&self, consts: &Consts) -> World<Self::P>;

    /// The Stateright model with the given properties.
    fn model(&self, consts: &Consts, props: &[PropertyDef]) -> WorldModel<Self::P> {
        check::register(build(self.world(consts)), props, Self::CONDITIONS)
    }
}

impl<T: WorldFamily> Family for T {
    fn id(&self) -> &'static str {
        T::ID
    }
    fn module(&self) -> &'static str {
        T::MODULE
    }
    fn summary(&self) -> &'static str {
        T::SUMMARY
    }
    fn variants(&self) -> &'static [&'static str] {
        T::VARIANTS
    }
    fn constants(&self) -> &'static [ConstDef] {
        T::CONSTANTS
    }
    fn properties(&self) -> &'static [PropertyDef] {
        T::PROPERTIES
    }
    fn check(&self, consts: &Consts, props: &[PropertyDef], opts: &RunOptions) -> Outcome {
        let symmetry = consts.symmetric().then_some(actors::symmetry::representative::<T::P> as fn(&WorldState<T::P>) -> WorldState<T::P>);
        let model = check::with_sentinel(self.model(consts, props));
        if symmetry.is_some() || opts.actor_model {
            check::run_reduced(model, props, opts, symmetry)
        } else {
            check::run(actors::fast::Fast::new(model), props, opts)
        }
    }
    fn symmetric(&self) -> bool {
        T::SYMMETRIC
    }
    fn trace(&self, consts: &Consts, prop: &PropertyDef) -> Option<Vec<crate::trace::Step>> {
        let cond = T::CONDITIONS.iter().find(|(n, _)| *n == prop.name)?.1;
        check::shortest_trace(self.model(consts, &[*prop]), prop, cond)
    }
    fn tla_trace(&self, consts: &Consts, prop: &PropertyDef) -> Option<Vec<crate::tla::State>> {
        let cond = T::CONDITIONS.iter().find(|(n, _)| *n == prop.name)?.1;
        let (m, path) = check::shortest_path(self.model(consts, &[*prop]), prop, cond)?;
        Some(path.into_vec().iter().map(|(s, _)| m.cfg.tla_state(s)).collect())
    }
    fn replay(&self, consts: &Consts, states: &[crate::tla::State]) -> Result<(), String> {
        use stateright::Model;
        let model = self.model(consts, &[]);
        let want: Vec<crate::tla::State> = states.iter().map(|s| crate::tla::canon_state(s.clone())).collect();
        let Some(first) = want.first() else { return Err("the trace has no state".into()) };
        let mut at = model
            .init_states()
            .into_iter()
            .find(|s| model.cfg.tla_state(s) == *first)
            .ok_or("state 1 is not an initial state of the Stateright model")?;
        for (i, next) in want.iter().enumerate().skip(1) {
            let mut actions = Vec::new();
            model.actions(&at, &mut actions);
            let successors: Vec<(WorldState<T::P>, crate::tla::State)> = actions
                .into_iter()
                .filter_map(|a| model.next_state(&at, a))
                .filter(|s| Model::within_boundary(&model, s))
                .map(|s| {
                    let t = model.cfg.tla_state(&s);
                    (s, t)
                })
                .collect();
            let mut found: Vec<WorldState<T::P>> =
                successors.iter().filter(|(_, t)| t == next).map(|(s, _)| s.clone()).collect();
            found.dedup();
            match found.len() {
                0 => {
                    // Say where the closest successor differs.
                    let differ = |t: &crate::tla::State| -> Vec<String> {
                        t.iter().zip(next).filter(|(a, b)| a != b).map(|((n, v), (_, w))| format!("{n} = {v} where the trace has {w}")).collect()
                    };
                    let closest = successors.iter().map(|(_, t)| differ(t)).min_by_key(Vec::len);
                    let detail = closest.map_or(" (no action is enabled)".to_string(), |d| format!("; the closest successor has {}", d.join(", ")));
                    return Err(format!("no enabled action of the Stateright model leads from state {i} to state {}{detail}", i + 1));
                }
                1 => at = found.remove(0),
                n => return Err(format!("{n} different Stateright states match state {} (the map between the twins is not one to one)", i + 1)),
            }
        }
        Ok(())
    }
    fn explore(&self, consts: &Consts, props: &[PropertyDef], addr: std::net::SocketAddr) {
        check::explore(self.model(consts, props), addr)
    }
}

/// A condition that speaks only at quiescence (no step left within the boundary), where it is
/// `holds`; true in every other state.
pub fn at_quiescence<P: Protocol>(m: &WorldModel<P>, s: &WorldState<P>, holds: impl FnOnce(&View<P>) -> bool) -> bool {
    has_successor(m, s) || holds(&View::new(m, s))
}

/// Some handler holds work `w` (while it is down, when `down`) with `pred(w, down)`.
pub fn some_handler_holds<P: Protocol>(v: &View<P>, pred: impl Fn(&P::Work, bool) -> bool) -> bool {
    v.handlers().any(|(h, down)| h.work.as_ref().is_some_and(|w| pred(w, down)))
}

/// A handler that is up is about to take a failure report for a write of `key` it issued that
/// `applied(work, key)` says had in fact applied: the retry after an ambiguous timeout is next.
pub fn failure_report_for_applied_write<P: Protocol>(v: &View<P>, applied: impl Fn(&P::Work, actors::Key) -> bool) -> bool {
    let found = v.state.network.iter_deliverable().any(|e| match e.msg {
        actors::Msg::PutReply { tag, key, result: actors::WriteResult::Failed } if v.world.topology.is_handler(e.dst) => {
            let i = usize::from(e.dst);
            let actors::NodeState::Handler(h) = &*v.state.actor_states[i] else { return false };
            !v.state.crashed[i] && *tag == h.tag && h.work.as_ref().is_some_and(|w| applied(w, *key))
        }
        _ => false,
    });
    found
}

/// `Termination`: a state with nothing left to do has consumed its input.
pub fn termination<P: Protocol>(m: &WorldModel<P>, s: &WorldState<P>) -> bool {
    at_quiescence(m, s, |v| v.input_consumed())
}

/// `ConcurrencyConflict`: a write is on its way to store 0 whose version check will fail on
/// the document under `key`.
pub fn write_will_conflict<P: Protocol>(m: &WorldModel<P>, s: &WorldState<P>, key: actors::Key) -> bool {
    let v = View::new(m, s);
    let (version, _) = v.store(0).get(key);
    v.in_flight()
        .any(|msg| matches!(msg, actors::Msg::Put { key: k, expected: Some(e), .. } if *k == key && *e != version))
}

/// The standard properties whose meaning does not depend on the family.
pub const TERMINATION: PropertyDef =
    PropertyDef { name: "Termination", kind: Kind::Liveness, doc: "every run ends with the input consumed" };
pub const DUPLICATE_DELIVERED: PropertyDef = PropertyDef {
    name: "DuplicateDelivered",
    kind: Kind::Sometimes,
    doc: "a handler is loading a copy of an input whose change is already committed",
};
pub const CONCURRENCY_CONFLICT: PropertyDef =
    PropertyDef { name: "ConcurrencyConflict", kind: Kind::Sometimes, doc: "a write is on its way whose version check will fail" };
