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
        WORLD_CONSTANTS
    }
    fn properties(&self) -> &'static [PropertyDef] {
        T::PROPERTIES
    }
    fn check(&self, consts: &Consts, props: &[PropertyDef], opts: &RunOptions) -> Outcome {
        check::run(check::with_sentinel(self.model(consts, props)), props, opts)
    }
    fn trace(&self, consts: &Consts, prop: &PropertyDef) -> Option<Vec<crate::trace::Step>> {
        let cond = T::CONDITIONS.iter().find(|(n, _)| *n == prop.name)?.1;
        check::shortest_trace(self.model(consts, &[*prop]), prop, cond)
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
