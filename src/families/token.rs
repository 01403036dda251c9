//! `token`: token-based deduplication (the "exactly-once" blog's improved outbox with tokens). A
//! message may be processed only while its token exists; processing deletes it. The upstream
//! created the tokens of the inputs before it sent them. The handler loads the entity, then the
//! input's token. No token: a duplicate (a leftover outbox entry of the input is cleared), ack.
//! A token and no entry: run the business logic and commit the new state with an outbox entry
//! holding the output and its token id (drawn for this attempt, recorded so that retries reuse
//! it), with a version check. Then create the output's token, dispatch, delete the input's token
//! (with a version check: ownership), clear the entry, ack. Dedup data is the tokens of the
//! messages in flight, and needs no clock.
//!
//! Documents, each written atomically on its own: the entity under key 0 (a ledger as in
//! `handler`, and the outbox); the input tokens under the inputs' keys; the output tokens under
//! keys derived from their ids. Twin of `specs/token/Token.tla`.

use super::situations::{self, at_quiescence, some_handler_holds};
use super::world_family::WorldFamily;
use super::ledger::{Ledger};
use crate::property;
use crate::world::Property;
use crate::world::{TlaMap, Effects, Event, Input, Key, Protocol, TlaNames, Version, View, WriteResult};
use crate::core::tla::{self, int, opt, record, string, Value};
use crate::families::ledger::{self, fresh_key, LedgerProtocol, Reports};
use crate::core::vocab::{Consts};
use serde::Serialize;

pub struct TokenFamily;
pub static TOKEN: TokenFamily = TokenFamily;

crate::variants! {
    pub enum Variant {
        /// The output's token id is drawn once, committed with the state, and reused by retries.
        Correct,
        /// The entry records no token id: each attempt that dispatches draws a fresh one.
        RegenerateTokensOnRetry,
        /// The input's token is deleted before the output is dispatched.
        DeleteBeforeDispatch,
        /// Entity writes and the token's delete carry no version check.
        NoOwnershipCheck,
        /// On a failed or conflicting write, drop the input without nacking it.
        GiveUp,
    }
}



/// An input's pending outbox entry: the position its change took and, unless the variant
/// regenerates tokens, the key of its output's token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Entry {
    pub position: u8,
    pub token: Option<Key>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Entity {
    pub ledger: Ledger,
    /// Pending entries, sorted by input; an entry goes once its input's token is deleted.
    pub outbox: Vec<(Input, Entry)>,
}

impl Entity {
    pub fn entry(&self, input: Input) -> Option<Entry> {
        ledger::entry_of(&self.outbox, input)
    }
    fn committed(&self, input: Input, entry: Entry) -> Entity {
        Entity { ledger: self.ledger.with(input, entry.position), outbox: ledger::with_entry(&self.outbox, input, entry) }
    }
    fn cleared(&self, input: Input) -> Entity {
        Entity { ledger: self.ledger.clone(), outbox: ledger::without_entry(&self.outbox, input) }
    }
}

/// A document of any of the stores.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Doc {
    /// Never written: under key 0 the empty entity; under an input's key the token the upstream
    /// created before sending it; under an output token's key, no token.
    #[default]
    Unwritten,
    Entity(Entity),
    /// An output's token, created by a handler.
    Token,
    /// A deleted token.
    Deleted,
}

impl Doc {
    fn entity(&self) -> Entity {
        match self {
            Doc::Entity(e) => e.clone(),
            _ => Entity::default(),
        }
    }
}

/// An output message: the change it reports and the token downstream checks before processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Output {
    pub input: Input,
    pub position: u8,
    pub token: Key,
}

impl Reports for Output {
    fn input(&self) -> Input {
        self.input
    }
    fn position(&self) -> u8 {
        self.position
    }
}

/// An entity as the TLA+ twin writes it: the ledger, and the outbox as a function from inputs to
/// `[position, token]` (token `{}` or `{key}`).
fn tla_entity(e: &Entity) -> Value {
    let outbox = e.outbox.iter().map(|(m, entry)| (int(*m), tla_entry(entry)));
    record([("ledger", tla::from_serde(&e.ledger)), ("outbox", Value::Function(outbox.collect()))])
}

fn tla_entry(entry: &Entry) -> Value {
    record([("position", int(entry.position)), ("token", opt(entry.token.map(int)))])
}

const STORE: usize = 0;
const ENTITY: Key = 0;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    /// The entity is requested.
    Loading,
    /// The input's token is requested; the entity was read at `version`.
    Checking { entity: Entity, version: Version },
    /// The commit of `entity` (read at `version`) is on its way.
    Committing { entity: Entity, version: Version, token_version: Version, entry: Entry },
    /// The output's token is being created; the entity is `entity` at `version`.
    Creating { entity: Entity, version: Version, token_version: Version, out: Output },
    /// The input's token is being deleted; then publish `publish_after`, if any, and clear.
    Deleting { entity: Entity, version: Version, publish_after: Option<Output> },
    /// The entry is being cleared; then ack.
    Clearing,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Work {
    pub input: Input,
    pub phase: Phase,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TokenProtocol {
    pub variant: Variant,
}

impl TokenProtocol {
    /// A write with a version check, but in `NoOwnershipCheck`.
    fn write(&self, fx: &mut Effects<Self>, key: Key, doc: Doc, version: Version) {
        if self.variant == Variant::NoOwnershipCheck {
            fx.put_unchecked(STORE, key, doc);
        } else {
            fx.put(STORE, key, doc, version);
        }
    }

    /// Dispatch `entry` of `input`: create the output's token (a fresh one if the entry has none).
    fn create_token(&self, fx: &mut Effects<Self>, input: Input, entity: Entity, version: Version, token_version: Version, entry: Entry) -> Option<Work> {
        let token = entry.token.unwrap_or_else(|| fresh_key(fx.fresh_id()));
        fx.put_unchecked(STORE, token, Doc::Token);
        let out = Output { input, position: entry.position, token };
        Some(Work { input, phase: Phase::Creating { entity, version, token_version, out } })
    }

    /// Clear the input's entry from `entity` (at `version`).
    fn clear(&self, fx: &mut Effects<Self>, input: Input, entity: &Entity, version: Version) -> Option<Work> {
        self.write(fx, ENTITY, Doc::Entity(entity.cleared(input)), version);
        Some(Work { input, phase: Phase::Clearing })
    }
}

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are.
impl TokenProtocol {
    /// Idle: an input is delivered; load the entity.
    fn on_delivered(&self, input: Input, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, ENTITY);
        Some(Work { input, phase: Phase::Loading })
    }

    /// The entity is loaded (at `version`): read the input's token.
    fn on_entity(&self, input: Input, version: Version, doc: Doc, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, input);
        Some(Work { input, phase: Phase::Checking { entity: doc.entity(), version } })
    }

    /// The input's token is read (at `tv`): drop a duplicate, commit, or dispatch.
    fn on_token(&self, input: Input, entity: &Entity, version: Version, tv: Version, doc: Doc, fx: &mut Effects<Self>) -> Option<Work> {
        match (doc == Doc::Deleted, entity.entry(input)) {
            // No token: a duplicate. Clear a leftover entry, or just ack.
            (true, Some(_)) => self.clear(fx, input, entity, version),
            (true, None) => {
                fx.ack(input);
                None
            }
            (false, None) => {
                let token = match self.variant {
                    Variant::RegenerateTokensOnRetry => None,
                    _ => Some(fresh_key(fx.fresh_id())),
                };
                let entry = Entry { position: entity.ledger.next_position(), token };
                let committed = entity.committed(input, entry);
                self.write(fx, ENTITY, Doc::Entity(committed.clone()), version);
                Some(Work { input, phase: Phase::Committing { entity: committed, version, token_version: tv, entry } })
            }
            (false, Some(entry)) => self.create_token(fx, input, entity.clone(), version, tv, entry),
        }
    }

    /// A write is answered.
    fn on_written(&self, input: Input, phase: &Phase, result: WriteResult, fx: &mut Effects<Self>) -> Option<Work> {
        if result != WriteResult::Ok {
            if self.variant != Variant::GiveUp {
                fx.nack(input);
            }
            return None;
        }
        match phase {
            Phase::Committing { entity, version, token_version, entry } => {
                self.create_token(fx, input, entity.clone(), version + 1, *token_version, *entry)
            }
            Phase::Creating { entity, version, token_version, out } => {
                let publish_after = if self.variant == Variant::DeleteBeforeDispatch {
                    Some(*out)
                } else {
                    fx.publish(*out);
                    None
                };
                self.write(fx, input, Doc::Deleted, *token_version);
                Some(Work { input, phase: Phase::Deleting { entity: entity.clone(), version: *version, publish_after } })
            }
            Phase::Deleting { entity, version, publish_after } => {
                if let Some(out) = publish_after {
                    fx.publish(*out);
                }
                self.clear(fx, input, entity, *version)
            }
            Phase::Clearing => {
                fx.ack(input);
                None
            }
            Phase::Loading | Phase::Checking { .. } => unreachable!("a write answered while reading"),
        }
    }
}

impl Protocol for TokenProtocol {
    type Doc = Doc;
    type Output = Output;
    type Work = Work;

    /// Picks the step by the work's phase, as `OnEvent` does.
    fn on_event(&self, work: Option<&Work>, event: Event<Doc>, fx: &mut Effects<Self>) -> Option<Work> {
        match (work, event) {
            (None, Event::Delivered(input)) => self.on_delivered(input, fx),
            (Some(&Work { input, phase: Phase::Loading }), Event::Loaded { version, doc, .. }) => self.on_entity(input, version, doc, fx),
            (Some(Work { input, phase: Phase::Checking { entity, version } }), Event::Loaded { version: tv, doc, .. }) => {
                self.on_token(*input, entity, *version, tv, doc, fx)
            }
            (Some(Work { input, phase }), Event::Written { result, .. }) => self.on_written(*input, phase, result, fx),
            (work, event) => unreachable!("token handler got {event:?} while {work:?}"),
        }
    }
}

impl LedgerProtocol for TokenProtocol {
    const KEY: Key = ENTITY;
    fn ledger(doc: &Doc) -> &Ledger {
        match doc {
            Doc::Entity(e) => &e.ledger,
            _ => &ledger::NO_LEDGER,
        }
    }
}

type V<'a> = View<'a, TokenProtocol>;

fn entity(v: &View<'_, TokenProtocol>) -> Entity {
    v.store(STORE).doc(ENTITY).entity()
}

/// The input's token is still there (the upstream created it; nobody deleted it yet).
fn input_token_exists(v: &View<'_, TokenProtocol>, input: Input) -> bool {
    v.store(STORE).doc(input) != Doc::Deleted
}

/// The keys of the output tokens in the store.
fn output_tokens<'a>(v: &View<'a, TokenProtocol>) -> impl Iterator<Item = Key> + 'a {
    v.store(STORE).docs.iter().filter(|(_, _, d)| **d == Doc::Token).map(|(k, _, _)| *k)
}

/// No logical output is processed twice downstream: the copies of one input's output that
/// downstream received all carry one token (each token lets one copy through, and is never made
/// again after its output was sent).
fn at_most_once_processing(v: &V) -> bool {
    let outs = v.outputs();
    outs.iter().all(|o| outs.iter().all(|p| p.input != o.input || p.token == o.token))
}

/// At quiescence no dedup data is left that nobody will remove: no input token (every input
/// has been processed), no outbox entry, and no output token without an output carrying it.
fn no_garbage(v: &V) -> bool {
    at_quiescence(v, |v| {
        let sent = |k: Key| v.outputs().iter().any(|o| o.token == k);
        (1..=v.world.inputs).all(|i| !input_token_exists(v, i))
            && entity(v).outbox.is_empty()
            && output_tokens(v).all(sent)
    })
}

/// The token store holds at most one token per message in flight: the inputs the broker may
/// still deliver, and the outputs committed (one per change in the ledger).
fn bounded_dedup_state(v: &V) -> bool {
    let tokens = (1..=v.world.inputs).filter(|i| input_token_exists(v, *i)).count() + output_tokens(v).count();
    tokens <= situations::inputs_in_flight(v) + entity(v).ledger.0.len()
}

/// A handler is loading a copy of an input whose change is committed or whose token is gone.
fn duplicate_delivered(v: &V) -> bool {
    let e = entity(v);
    some_handler_holds(v, |w, _| {
        w.phase == Phase::Loading && (e.entry(w.input).is_some() || !input_token_exists(v, w.input))
    })
}

const PROPERTIES: &[Property<TokenProtocol>] = &[
    ledger::no_lost_messages(),
    property!("AtMostOnceProcessing", Invariant, "downstream processes no logical output twice: its copies carry one token", at_most_once_processing),
    property!("NoGarbage", Invariant, "at quiescence no input token, no outbox entry, no output token without its output", no_garbage),
    property!("BoundedDedupState", Invariant, "no more tokens than messages in flight (inputs queued or leased, outputs committed)", bounded_dedup_state),
    situations::termination(),
    property!("DuplicateDelivered", Sometimes, "a handler is loading a copy of an input already committed or whose token is gone", duplicate_delivered),
];


impl WorldFamily for TokenFamily {
    type P = TokenProtocol;
    const ID: &'static str = "token";
    const MODULE: &'static str = "Token";
    const SUMMARY: &'static str =
        "Token-based deduplication: a message is processed only while its token exists; processing deletes it.";
    const VARIANTS: &'static [&'static str] = Variant::NAMES;
    const UNREACHABLE: &'static [(&'static str, &'static str)] = &[
        ("CrashAfterPublishBeforeAck", "its handler acks only after the writes that follow its dispatch"),
    ];
    const PROPERTIES: &'static [Property<TokenProtocol>] = PROPERTIES;
    fn world(&self, consts: &Consts) -> crate::world::World<TokenProtocol> {
        crate::world::world(TokenProtocol { variant: Variant::parse(consts.string("Variant")) }, consts, 1)
    }
}

/// The TLA+ twin's names for this family's work, documents and outputs.
impl TlaMap for TokenProtocol {
    fn tla_work(&self, w: &Work, _: &TlaNames) -> Value {
        let none = Entity::default();
        let (phase, e, v, tv, entry, out) = match &w.phase {
            Phase::Loading => ("Loading", &none, 0, 0, None, None),
            Phase::Checking { entity, version } => ("Checking", entity, *version, 0, None, None),
            Phase::Committing { entity, version, token_version, entry } => ("Committing", entity, *version, *token_version, Some(entry), None),
            Phase::Creating { entity, version, token_version, out } => ("Creating", entity, *version, *token_version, None, Some(out)),
            Phase::Deleting { entity, version, publish_after } => ("Deleting", entity, *version, 0, None, publish_after.as_ref()),
            Phase::Clearing => ("Clearing", &none, 0, 0, None, None),
        };
        record([
            ("input", int(w.input)),
            ("phase", string(phase)),
            ("entity", tla_entity(e)),
            ("version", int(v)),
            ("tv", int(tv)),
            ("entry", opt(entry.map(tla_entry))),
            ("out", opt(out.map(tla::from_serde))),
        ])
    }

    fn tla_doc(&self, d: &Doc, _: &TlaNames) -> Value {
        let (kind, e) = match d {
            Doc::Unwritten => ("Unwritten", Entity::default()),
            Doc::Entity(e) => ("Entity", e.clone()),
            Doc::Token => ("Token", Entity::default()),
            Doc::Deleted => ("Deleted", Entity::default()),
        };
        let Value::Record(mut fields) = tla_entity(&e) else { unreachable!() };
        fields.push(("kind".into(), string(kind)));
        Value::Record(fields)
    }
}
