//! `token`: token-based deduplication (the "exactly-once" blog's improved outbox with tokens). A
//! message may be processed only while its token exists; processing deletes it. The upstream
//! created the tokens of the inputs before it sent them. The handler loads the entity, then the
//! input's token. No token: a duplicate (a leftover outbox entry of the input is cleared), ack.
//! A token and no entry: draw a fresh id for the output's token, register it in the input's
//! token (version check: the register of the register-cleanup approach), create the output's
//! token (create-only), then commit the new state with an outbox entry naming that token (version
//! check). A token and an entry (this attempt's commit, or an earlier one's): dispatch the output
//! with the entry's token, never creating it again; delete the tokens other attempts registered,
//! delete the input's token (version check: the owner saw every registration), clear the entry,
//! ack. Downstream processes a copy only while its token exists and deletes it in the same step.
//! Dedup data is the tokens of the messages in flight (and of attempts still to be cleaned up),
//! and needs no clock.
//!
//! Documents, each written atomically on its own: the entity under key 0 (a ledger as in
//! `handler`, and the outbox); the input tokens under the inputs' keys; the output tokens under
//! keys derived from their ids. Twin of `specs/token/Token.tla`.

use super::situations::{self, at_quiescence, some_handler_holds};
use super::world_family::WorldFamily;
use super::ledger::Ledger;
use crate::property;
use crate::world::{Property, Served};
use crate::world::{TlaMap, Effects, Event, Input, Key, Msg, Protocol, TlaNames, Version, View, WriteResult};
use crate::core::tla::{self, int, opt, record, string, Value};
use crate::families::ledger::{self, fresh_key, LedgerProtocol, Reports};
use crate::core::vocab::Consts;
use serde::Serialize;

pub struct TokenFamily;
pub static TOKEN: TokenFamily = TokenFamily;

crate::variants! {
    pub enum Variant {
        /// The output's token is created first (a fresh id per attempt, registered before), then
        /// its id committed with the state; a retry dispatches with the committed id.
        Correct,
        /// A retry that finds the entry creates a fresh token and dispatches with it.
        RegenerateTokensOnRetry,
        /// A retry that finds the entry creates the committed token again (an upsert).
        RecreateTokenOnRetry,
        /// The input's token is deleted before the output is dispatched.
        DeleteBeforeDispatch,
        /// The input token's delete carries no version check.
        NoOwnershipCheck,
        /// On a failed or conflicting write, drop the input without nacking it.
        GiveUp,
    }
}

/// An input's pending outbox entry: the position its change took and its output's token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Entry {
    pub position: u8,
    pub token: Key,
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

/// A document of the store, or a request downstream sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Doc {
    /// Never written: under key 0 the empty entity; under an input's key the token the upstream
    /// created before sending it (nothing registered); under an output token's key, no token.
    #[default]
    Unwritten,
    Entity(Entity),
    /// An input's token, with the output tokens that attempts registered (sorted).
    Registered(Vec<Key>),
    /// An output's token, created by a handler.
    Token,
    /// A deleted token (an input's after processing; an output's when cleaned up).
    Deleted,
    /// An output's token that downstream used up, processing a copy of this input's output.
    Used(Input),
    /// Downstream's request: process a copy of this input's output if its token exists.
    Consume(Input),
}

impl Doc {
    fn entity(&self) -> Entity {
        match self {
            Doc::Entity(e) => e.clone(),
            _ => Entity::default(),
        }
    }
    /// The output tokens registered in an input's token.
    fn registered(&self) -> Vec<Key> {
        match self {
            Doc::Registered(r) => r.clone(),
            _ => Vec::new(),
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
/// `[position, token]`.
fn tla_entity(e: &Entity) -> Value {
    let outbox = e.outbox.iter().map(|(m, entry)| (int(*m), record([("position", int(entry.position)), ("token", int(entry.token))])));
    record([("ledger", tla::from_serde(&e.ledger)), ("outbox", Value::Function(outbox.collect()))])
}

fn tla_keys(keys: &[Key]) -> Value {
    Value::Set(keys.iter().map(|k| int(*k)).collect())
}

const STORE: usize = 0;
const ENTITY: Key = 0;

/// What the handler is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    /// The entity is requested.
    Loading,
    /// The input's token is requested.
    Checking,
    /// `out`'s token is being registered in the input's token (`regs`: all registered after it).
    Registering,
    /// `out`'s token is being created, create-only.
    Creating,
    /// The commit of `entity` (read at `version`, now holding `out`'s entry) is on its way.
    Committing,
    /// A retry (re)creates a token before it dispatches `out` (two broken variants).
    Recreating,
    /// Deleting the tokens other attempts registered: `regs` are those left, the first on its way.
    Cleaning,
    /// The input's token is being deleted; then publish `out`, if any, and clear.
    Deleting,
    /// The entry is being cleared; then ack.
    Clearing,
}

/// The work on an input: the phase and what the steps carry (fields a phase does not use are
/// empty: the default entity, 0, no keys, no output).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Work {
    pub input: Input,
    pub phase: Phase,
    /// The entity, and the version it was read at (or, after the commit, written at).
    pub entity: Entity,
    pub version: Version,
    /// The version of the input's token the handler read or wrote last.
    pub tv: Version,
    /// Output tokens registered (`Registering` to `Committing`) or still to delete (`Recreating`,
    /// `Cleaning`).
    pub regs: Vec<Key>,
    pub out: Option<Output>,
}

fn work(input: Input, phase: Phase) -> Work {
    Work { input, phase, entity: Entity::default(), version: 0, tv: 0, regs: Vec::new(), out: None }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TokenProtocol {
    pub variant: Variant,
}

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are.
impl TokenProtocol {
    /// Idle: an input is delivered; load the entity.
    fn on_delivered(&self, input: Input, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, ENTITY);
        Some(work(input, Phase::Loading))
    }

    /// The entity is loaded (at `version`): read the input's token.
    fn on_entity(&self, input: Input, version: Version, doc: Doc, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, input);
        Some(Work { entity: doc.entity(), version, ..work(input, Phase::Checking) })
    }

    /// The input's token is read (at `tv`): drop a duplicate, start an attempt, or dispatch.
    fn on_token(&self, w: &Work, tv: Version, doc: Doc, fx: &mut Effects<Self>) -> Option<Work> {
        let (input, e) = (w.input, &w.entity);
        if doc == Doc::Deleted {
            // No token: a duplicate. Clear a leftover entry, or just ack.
            if e.entry(input).is_some() {
                return self.clear(fx, w);
            }
            fx.ack(input);
            return None;
        }
        let regs = doc.registered();
        let w = Work { tv, ..w.clone() };
        match e.entry(input) {
            None => {
                // A new attempt: register a fresh token id, then create the token, then commit.
                let token = fresh_key(fx.fresh_id());
                let out = Output { input, position: e.ledger.next_position(), token };
                let mut regs = regs;
                regs.push(token);
                regs.sort();
                fx.put(STORE, input, Doc::Registered(regs.clone()), tv);
                Some(Work { phase: Phase::Registering, regs, out: Some(out), ..w })
            }
            Some(entry) => {
                // A retry after the commit: dispatch with the committed token.
                let losers: Vec<Key> = regs.into_iter().filter(|k| *k != entry.token).collect();
                let out = Output { input, position: entry.position, token: entry.token };
                match self.variant {
                    Variant::RecreateTokenOnRetry => {
                        fx.put_unchecked(STORE, out.token, Doc::Token);
                        Some(Work { phase: Phase::Recreating, regs: losers, out: Some(out), ..w })
                    }
                    Variant::RegenerateTokensOnRetry => {
                        let out = Output { token: fresh_key(fx.fresh_id()), ..out };
                        fx.put(STORE, out.token, Doc::Token, 0);
                        Some(Work { phase: Phase::Recreating, regs: losers, out: Some(out), ..w })
                    }
                    _ => self.dispatch_out(fx, Work { regs: losers, ..w }, out),
                }
            }
        }
    }

    /// A write is answered.
    fn on_written(&self, w: &Work, result: WriteResult, fx: &mut Effects<Self>) -> Option<Work> {
        if result != WriteResult::Ok {
            if self.variant != Variant::GiveUp {
                fx.nack(w.input);
            }
            return None;
        }
        let out = w.out;
        match w.phase {
            Phase::Registering => {
                // Create-only: the token's key was never written (a cleaned-up id stays taken).
                let token = out.expect("an attempt's output").token;
                fx.put(STORE, token, Doc::Token, 0);
                Some(Work { phase: Phase::Creating, tv: w.tv + 1, ..w.clone() })
            }
            Phase::Creating => {
                let out = out.expect("an attempt's output");
                let committed = w.entity.committed(w.input, Entry { position: out.position, token: out.token });
                fx.put(STORE, ENTITY, Doc::Entity(committed.clone()), w.version);
                Some(Work { phase: Phase::Committing, entity: committed, ..w.clone() })
            }
            Phase::Committing => {
                let out = out.expect("an attempt's output");
                let losers = w.regs.iter().copied().filter(|k| *k != out.token).collect();
                self.dispatch_out(fx, Work { version: w.version + 1, regs: losers, ..w.clone() }, out)
            }
            Phase::Recreating => self.dispatch_out(fx, w.clone(), out.expect("a retry's output")),
            Phase::Cleaning => self.clean_up(fx, Work { regs: w.regs[1..].to_vec(), ..w.clone() }),
            Phase::Deleting => {
                if let Some(out) = out {
                    fx.publish(out);
                }
                self.clear(fx, w)
            }
            Phase::Clearing => {
                fx.ack(w.input);
                None
            }
            Phase::Loading | Phase::Checking => unreachable!("a write answered while reading"),
        }
    }

    /// Dispatch `out` (after the input token's delete, in `DeleteBeforeDispatch`), then clean up.
    fn dispatch_out(&self, fx: &mut Effects<Self>, w: Work, out: Output) -> Option<Work> {
        if self.variant == Variant::DeleteBeforeDispatch {
            return self.clean_up(fx, Work { out: Some(out), ..w });
        }
        fx.publish(out);
        self.clean_up(fx, Work { out: None, ..w })
    }

    /// Delete the next token in `w.regs` that another attempt registered; with none left, delete
    /// the input's token (version check: nobody registered one since, but in `NoOwnershipCheck`).
    fn clean_up(&self, fx: &mut Effects<Self>, w: Work) -> Option<Work> {
        if let Some(&loser) = w.regs.first() {
            fx.put_unchecked(STORE, loser, Doc::Deleted);
            return Some(Work { phase: Phase::Cleaning, ..w });
        }
        if self.variant == Variant::NoOwnershipCheck {
            fx.put_unchecked(STORE, w.input, Doc::Deleted);
        } else {
            fx.put(STORE, w.input, Doc::Deleted, w.tv);
        }
        Some(Work { phase: Phase::Deleting, regs: Vec::new(), ..w })
    }

    /// Clear the input's entry from the entity (at its version).
    fn clear(&self, fx: &mut Effects<Self>, w: &Work) -> Option<Work> {
        fx.put(STORE, ENTITY, Doc::Entity(w.entity.cleared(w.input)), w.version);
        Some(work(w.input, Phase::Clearing))
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
            (Some(w), Event::Loaded { version, doc, .. }) if w.phase == Phase::Loading => self.on_entity(w.input, version, doc, fx),
            (Some(w), Event::Loaded { version, doc, .. }) if w.phase == Phase::Checking => self.on_token(w, version, doc, fx),
            (Some(w), Event::Written { result, .. }) => self.on_written(w, result, fx),
            (work, event) => unreachable!("token handler got {event:?} while {work:?}"),
        }
    }

    /// Downstream's step on a copy (one atomic step of the token store): if the output's token
    /// exists, process the copy and use the token up; else drop the copy.
    fn serve(&self, _key: Key, doc: &Doc, op: &Doc) -> Served<Doc, Output> {
        let write = match (doc, op) {
            (Doc::Token, Doc::Consume(m)) => Some(Doc::Used(*m)),
            _ => None,
        };
        Served { write, response: doc.clone(), publish: Vec::new(), later: None }
    }

    /// Downstream's processings: a token used up counts one for its input (the store's history).
    fn changes(_key: Key, doc: &Doc) -> Vec<Input> {
        match doc {
            Doc::Used(m) => vec![*m],
            _ => Vec::new(),
        }
    }

    /// Downstream asks the token store to process the copy under its token.
    fn consume(out: &Output) -> Option<(Key, Doc)> {
        Some((out.token, Doc::Consume(out.input)))
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

fn entity(v: &V) -> Entity {
    v.store(STORE).doc(ENTITY).entity()
}

/// The input's token is still there (the upstream created it; nobody deleted it yet).
fn input_token_exists(v: &V, input: Input) -> bool {
    v.store(STORE).doc(input) != Doc::Deleted
}

/// The keys of the output tokens in the store.
fn output_tokens<'a>(v: &V<'a>) -> impl Iterator<Item = Key> + 'a {
    v.store(STORE).docs.iter().filter(|(_, _, d)| **d == Doc::Token).map(|(k, _, _)| *k)
}

/// Downstream processed no logical output twice: over the run, each input's output token was
/// used up at most once (the store's history, as `AtMostOnceStateChange` counts changes).
fn at_most_once_processing(v: &V) -> bool {
    ledger::at_most_once(v)
}

/// At quiescence no dedup data is left: no input token, no outbox entry, no output token.
fn no_garbage(v: &V) -> bool {
    at_quiescence(v, |v| {
        (1..=v.world.inputs).all(|i| !input_token_exists(v, i)) && entity(v).outbox.is_empty() && output_tokens(v).next().is_none()
    })
}

/// An output token `k` belongs to a message in flight: a pending outbox entry names it, or a copy
/// carrying it is on its way downstream or being processed there.
fn output_in_flight(v: &V, e: &Entity, k: Key) -> bool {
    e.outbox.iter().any(|(_, entry)| entry.token == k)
        || v.in_flight().any(|m| match m {
            Msg::Output(o) => o.token == k,
            Msg::Later { key, op } => *key == k && matches!(**op, Doc::Consume(_)),
            _ => false,
        })
}

/// Every token belongs to a message in flight: an input's token to an input the broker may still
/// deliver; an output's token to an output in flight, or it is registered in the token of an
/// input in flight (an attempt's, to be cleaned up).
fn bounded_dedup_state(v: &V) -> bool {
    let e = entity(v);
    let live: Vec<Input> = (1..=v.world.inputs).filter(|i| input_token_exists(v, *i)).collect();
    let registered = |k: Key| live.iter().any(|i| v.store(STORE).doc(*i).registered().contains(&k));
    live.len() <= situations::inputs_in_flight(v)
        && output_tokens(v).all(|k| output_in_flight(v, &e, k) || registered(k))
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
    property!("AtMostOnceProcessing", Invariant, "over the run, downstream processed each logical output at most once", at_most_once_processing),
    property!("NoGarbage", Invariant, "at quiescence no input token, no outbox entry, no output token", no_garbage),
    property!("BoundedDedupState", Invariant, "every token belongs to a message in flight (or is registered in the token of an input in flight)", bounded_dedup_state),
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
        let phase = match w.phase {
            Phase::Loading => "Loading",
            Phase::Checking => "Checking",
            Phase::Registering => "Registering",
            Phase::Creating => "Creating",
            Phase::Committing => "Committing",
            Phase::Recreating => "Recreating",
            Phase::Cleaning => "Cleaning",
            Phase::Deleting => "Deleting",
            Phase::Clearing => "Clearing",
        };
        record([
            ("input", int(w.input)),
            ("phase", string(phase)),
            ("entity", tla_entity(&w.entity)),
            ("version", int(w.version)),
            ("tv", int(w.tv)),
            ("regs", tla_keys(&w.regs)),
            ("out", opt(w.out.as_ref().map(tla::from_serde))),
        ])
    }

    fn tla_doc(&self, d: &Doc, _: &TlaNames) -> Value {
        let none = Entity::default();
        let (kind, e, regs, input): (&str, &Entity, &[Key], Input) = match d {
            Doc::Unwritten => ("Unwritten", &none, &[], 0),
            Doc::Entity(e) => ("Entity", e, &[], 0),
            Doc::Registered(r) => ("Registered", &none, r, 0),
            Doc::Token => ("Token", &none, &[], 0),
            Doc::Deleted => ("Deleted", &none, &[], 0),
            Doc::Used(m) => ("Used", &none, &[], *m),
            Doc::Consume(m) => ("Consume", &none, &[], *m),
        };
        let Value::Record(mut fields) = tla_entity(e) else { unreachable!() };
        fields.push(("kind".into(), string(kind)));
        fields.push(("regs".into(), tla_keys(regs)));
        fields.push(("input".into(), int(input)));
        Value::Record(fields)
    }
}
