//! The families of the catalog: what each declares (the [`Family`] trait), the registry that
//! lists them, the code they share, and one module per family, named after its id.
//!
//! The registry is one list, [`for_each_family!`](crate::for_each_family): it declares the
//! modules, gives [`families()`], and feeds the tests that run per family; `exactly new` adds one
//! line to it.

pub mod ledger;
pub mod situations;
pub mod world_family;

use crate::core::outcome::Outcome;
use crate::core::vocab::{ConstDef, Consts, PropertyDef};
use crate::engine::stateright::RunOptions;

/// A family of the catalog: one TLA+ module, one Stateright model, its model files.
pub trait Family: Sync {
    /// The kebab-case id naming `specs/<id>/`, `models/<id>/` and the CLI target.
    fn id(&self) -> &'static str;
    /// The TLA+ module (the id in CamelCase).
    fn module(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    /// The variants; the first is the correct one.
    fn variants(&self) -> &'static [&'static str];
    fn constants(&self) -> &'static [ConstDef];
    /// Every property, each with its kind and meaning.
    fn properties(&self) -> Vec<PropertyDef>;
    /// The world's situations its correct variant cannot reach, each with the reason.
    fn unreachable(&self) -> Vec<(&'static str, &'static str)>;
    /// The names of the world's situations, which every family checks beside its own.
    fn world_situations(&self) -> Vec<&'static str>;
    /// Checks the Stateright twin with the given properties (all of them known to the family).
    fn check(&self, consts: &Consts, properties: &[PropertyDef], opts: &RunOptions) -> Outcome;
    /// The shortest Stateright path to a violation (or witness) of `prop`, if there is one.
    fn trace(&self, consts: &Consts, prop: &PropertyDef) -> Option<Vec<crate::core::trace::Step>>;
    /// For a lockstep twin: the shortest Stateright path to a violation (or witness) of `prop` as
    /// states of the TLA+ twin's variables. None if there is none.
    fn tla_trace(&self, consts: &Consts, prop: &PropertyDef) -> Option<Vec<crate::core::tla::State>>;
    /// For a lockstep twin: replays states of the TLA+ twin (TLC's trace) in the Stateright
    /// model: the first must be an initial state, and each next one the result of an enabled
    /// action. Err says which step could not be replayed.
    fn replay(&self, consts: &Consts, states: &[crate::core::tla::State]) -> Result<(), String>;
    /// Serves Stateright's Explorer on `addr` (blocks).
    fn explore(&self, consts: &Consts, properties: &[PropertyDef], addr: std::net::SocketAddr);
    /// Handlers are interchangeable in every state and property: model files may select
    /// `SYMMETRY HandlerPerms` (see `src/world/symmetry.rs`).
    fn symmetric(&self) -> bool {
        false
    }
}

/// A family's variants, declared once: `variants! { pub enum Variant { /// doc\n Correct, ... } }`
/// gives the enum, `Variant::NAMES` (the model files' `Variant` strings, the correct one first)
/// and `Variant::parse`.
#[macro_export]
macro_rules! variants {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
        $vis enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// Every variant's name, the correct one first.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($variant)),+];

            /// The variant a model file names (validated against [`Self::NAMES`]).
            pub fn parse(name: &str) -> $name {
                match name {
                    $(stringify!($variant) => $name::$variant,)+
                    other => unreachable!("variant {other} was validated"),
                }
            }
        }
    };
}

/// Calls macro `$m` with every family of the catalog, in the order of `../shared/CATALOG.md`, as
/// `module: STATIC` (the family's module under `src/families/` and its [`Family`] value).
#[macro_export]
macro_rules! for_each_family {
    ($m:ident) => {
        $m! {
            handler: HANDLER,
            idempotent_set: IDEMPOTENT_SET,
            message_id: MESSAGE_ID,
            outbox: OUTBOX,
            state_based: STATE_BASED,
            inbox: INBOX,
            outbox_out_of_document: OUTBOX_OUT_OF_DOCUMENT,
            token: TOKEN,
            side_effects: SIDE_EFFECTS,
            sync_async: SYNC_ASYNC,
            http: HTTP,
            idempotency_key: IDEMPOTENCY_KEY,
            outbox_relay: OUTBOX_RELAY,
            // `exactly new` registers families above this line.
        }
    };
}

macro_rules! declare_families {
    ($($module:ident: $family:ident,)*) => {
        $(pub mod $module;)*

        /// The catalog, in the order of `../shared/CATALOG.md`.
        pub fn families() -> Vec<&'static dyn Family> {
            vec![$(&$module::$family),*]
        }
    };
}
for_each_family!(declare_families);

/// The family with this id.
pub fn find(id: &str) -> Option<&'static dyn Family> {
    families().into_iter().find(|f| f.id() == id)
}
