//! What every family built on the shared world has in common: declaring one gives the
//! [`Family`] impl (checking, shortest traces, replay and the Explorer) from its protocol, its
//! variants, its properties and the world of a model file.

use super::{situations, Family};
use crate::core::outcome::Outcome;
use crate::core::tla;
use crate::core::trace::Step;
use crate::core::vocab::{ConstDef, Consts, Kind, PropertyDef};
use crate::engine::stateright::{self as sr, RunOptions};
use crate::world::fast::{expectation, Fast};
use crate::world::{self, build, Property, TlaMap, World, WorldModel, WorldState, WORLD_CONSTANTS};

/// A family of the catalog built on the shared world (`src/world`). Implementing it gives the
/// [`Family`] impl.
pub trait WorldFamily: Sync + 'static {
    type P: TlaMap;
    /// The kebab-case id (`specs/<id>/`, `models/<id>/`).
    const ID: &'static str;
    /// The TLA+ module.
    const MODULE: &'static str;
    const SUMMARY: &'static str;
    /// The variants; the first is the correct one (a [`variants!`](crate::variants) enum's `NAMES`).
    const VARIANTS: &'static [&'static str];
    /// Every property, each with its condition ([`property!`](crate::property)).
    const PROPERTIES: &'static [Property<Self::P>];
    /// Handlers are interchangeable: no document, output or work carries a handler's index and
    /// no property names a handler, so model files may select `SYMMETRY HandlerPerms`.
    const SYMMETRIC: bool = false;

    /// The constants of its model files: the world's, unless the family adds some.
    const CONSTANTS: &'static [ConstDef] = WORLD_CONSTANTS;

    /// The world of a model file's constants (they were validated against the family's).
    fn world(&self, consts: &Consts) -> World<Self::P>;

    /// The world's situations the family's correct variant cannot reach, each with the reason
    /// (its model files check them all the same; a test holds the correct variant to reaching
    /// every other one). `StaleRead` need not be listed by a family that never reads weakly.
    const UNREACHABLE: &'static [(&'static str, &'static str)] = &[];
    /// Some variant reads a document weakly ([`Effects::get_weak`](crate::world::Effects)): only
    /// then can the family's world produce `StaleRead`.
    const READS_WEAKLY: bool = false;

    /// Every property: the family's own, then the world's situations
    /// ([`situations::world_situations`]).
    fn all_properties() -> Vec<Property<Self::P>> {
        Self::PROPERTIES.iter().copied().chain(situations::world_situations::<Self::P>()).collect()
    }

    /// The properties named in `props` (all of them the family's).
    fn selected(props: &[PropertyDef]) -> Vec<Property<Self::P>> {
        let all = Self::all_properties();
        props
            .iter()
            .map(|d| *all.iter().find(|p| p.name == d.name).unwrap_or_else(|| panic!("{} is not a property of {}", d.name, Self::ID)))
            .collect()
    }

    /// The actor model with the given properties.
    fn model(&self, consts: &Consts, props: &[PropertyDef]) -> WorldModel<Self::P> {
        let mut model = build(self.world(consts));
        for p in Self::selected(props) {
            model = model.property(expectation(p.kind), p.name, p.on_actor);
        }
        model
    }

    /// The shortest path in the actor model to a violation (or witness) of `prop`.
    fn shortest(&self, consts: &Consts, prop: &PropertyDef) -> Option<sr::Found<WorldModel<Self::P>>> {
        let cond = Self::selected(std::slice::from_ref(prop))[0].on_actor;
        let want = prop.kind == Kind::Sometimes;
        // The model carries the property: a Stateright model with none explores only its
        // initial states.
        sr::shortest_path(self.model(consts, std::slice::from_ref(prop)), move |m, s| cond(m, s) == want)
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
    fn properties(&self) -> Vec<PropertyDef> {
        T::all_properties().iter().map(Property::def).collect()
    }
    fn check(&self, consts: &Consts, props: &[PropertyDef], opts: &RunOptions) -> Outcome {
        if consts.symmetric() || opts.actor_model {
            let symmetry = consts
                .symmetric()
                .then_some(world::symmetry::representative::<T::P> as fn(&WorldState<T::P>) -> WorldState<T::P>);
            sr::run_reduced(sr::with_sentinel(self.model(consts, props)), props, opts, symmetry)
        } else {
            let fast = Fast::new(build(self.world(consts)), &T::selected(props), vec![sr::sentinel()]);
            let halt = fast.halt();
            sr::run_halting(fast, props, opts, halt)
        }
    }
    fn unreachable(&self) -> Vec<(&'static str, &'static str)> {
        let never_weak = (!T::READS_WEAKLY).then_some(("StaleRead", "it reads no document weakly"));
        T::UNREACHABLE.iter().copied().chain(never_weak).collect()
    }
    fn world_situations(&self) -> Vec<&'static str> {
        situations::world_situations::<T::P>().iter().map(|p| p.name).collect()
    }
    fn symmetric(&self) -> bool {
        T::SYMMETRIC
    }
    fn trace(&self, consts: &Consts, prop: &PropertyDef) -> Option<Vec<Step>> {
        let (m, path) = self.shortest(consts, prop)?;
        // The Explorer's path: the initial state's index, then each action's index.
        let encoded = path.encode(&m);
        let mut pairs = Vec::new();
        let mut action = "Initial".to_string();
        for (state, next) in path.into_vec() {
            pairs.push((action, world::json::state_json(&m.cfg, &state)));
            action = next.map_or_else(String::new, |a| stateright::Model::format_action(&m, &a));
        }
        let mut steps = crate::core::trace::steps(pairs);
        for (step, index) in steps.iter_mut().zip(encoded.split('/')) {
            step.action_index = index.parse().ok();
        }
        Some(steps)
    }
    fn tla_trace(&self, consts: &Consts, prop: &PropertyDef) -> Option<Vec<tla::State>> {
        let (m, path) = self.shortest(consts, prop)?;
        Some(path.into_vec().iter().map(|(s, _)| m.cfg.tla_state(s)).collect())
    }
    fn replay(&self, consts: &Consts, states: &[tla::State]) -> Result<(), String> {
        use stateright::Model;
        let model = self.model(consts, &[]);
        let want: Vec<tla::State> = states.iter().map(|s| tla::canon_state(s.clone())).collect();
        let Some(first) = want.first() else { return Err("the trace has no state".into()) };
        let mut at = model
            .init_states()
            .into_iter()
            .find(|s| model.cfg.tla_state(s) == *first)
            .ok_or("state 1 is not an initial state of the Stateright model")?;
        for (i, next) in want.iter().enumerate().skip(1) {
            let mut actions = Vec::new();
            model.actions(&at, &mut actions);
            let successors: Vec<(WorldState<T::P>, tla::State)> = actions
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
                    let differ = |t: &tla::State| -> Vec<String> {
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
        sr::explore(self.model(consts, props), addr)
    }
}
