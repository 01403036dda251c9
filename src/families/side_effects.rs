//! `side-effects`: side effects other than messages (the "exactly-once" blog's side-effects
//! post). Processing an input creates a blob and publishes it (an output message carrying the
//! blob's name). Each attempt draws a unique name and records it in the entity (a side-effect
//! record, with a version check) before it uploads the blob, create-only (If-None-Match: *: a
//! put expecting version 0); then it commits the state with the winning name, again with a
//! version check. Only after the commit is the blob published. Then the blobs of the losing
//! attempts (the other records of the input) are replaced by tombstones (no data; a late
//! create-only upload of that name fails), their records dropped, and the input acked. A copy
//! whose input is committed publishes the committed blob again and finishes the cleanup.
//!
//! Documents, each written atomically on its own: the entity under key 0 (a ledger as in
//! `handler`, the committed effects, the records), the blobs under keys derived from their names.
//! Twin of `specs/side-effects/SideEffects.tla`.

use super::situations::{at_quiescence, some_handler_holds};
use super::world_family::WorldFamily;
use super::ledger::{Ledger};
use crate::property;
use crate::world::Property;
use crate::world::{TlaMap, Effects, Event, FreshId, Input, Key, Protocol, TlaNames, Version, View, WriteResult};
use crate::core::tla::{self, int, record, string, Value};
use crate::families::ledger::{self, fresh_key, LedgerProtocol, Reports};
use crate::core::vocab::{Consts};
use serde::Serialize;

pub struct SideEffectsFamily;
pub static SIDE_EFFECTS: SideEffectsFamily = SideEffectsFamily;

crate::variants! {
    pub enum Variant {
        /// Unique name per attempt, recorded before the upload; publish after the commit; clean up.
        Correct,
        /// Every attempt uploads under the same name.
        FixedBlobName,
        /// Upload first, then record the name.
        UploadBeforeRecord,
        /// The commit drops the losing attempts' records: their blobs are never deleted.
        NoCleanup,
        /// Publish the blob before the commit.
        PublishBeforeCommit,
        /// On a failed or conflicting write, ack the input instead of nacking it.
        AckOnFailure,
        /// On a failed or conflicting write, drop the input without a nack: it is never
        /// redelivered and the run never ends with the input consumed.
        GiveUp,
        /// After a commit that failed (not a conflict), read the entity; if this attempt's effect
        /// is not committed, abandon the attempt as a lost commit does (tombstone its blob, start over),
        /// taking the failed write for one that will never apply.
        CheckThenAbandon,
    }
}



/// A blob: where it is and the attempt that wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Effect {
    pub blob: Key,
    pub attempt: FreshId,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Entity {
    pub ledger: Ledger,
    /// The committed effect of each processed input, sorted by input.
    pub done: Vec<(Input, Effect)>,
}

impl Entity {
    pub fn effect(&self, input: Input) -> Option<Effect> {
        ledger::entry_of(&self.done, input)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Doc {
    /// Never written or deleted: the empty entity, no records, no blob.
    #[default]
    Unwritten,
    Entity(Entity),
    /// An input's side-effect records: the blob names its attempts recorded, sorted.
    Records(Vec<Key>),
    /// A blob, holding the id of the attempt that wrote it.
    Blob(FreshId),
    /// A deleted blob's marker (a zero-byte object): no data, but the name exists, so a late
    /// create-only upload of that name fails.
    Tombstone,
}

impl Doc {
    fn entity(&self) -> Entity {
        match self {
            Doc::Entity(e) => e.clone(),
            _ => Entity::default(),
        }
    }
    fn records(&self) -> Vec<Key> {
        match self {
            Doc::Records(r) => r.clone(),
            _ => Vec::new(),
        }
    }
}

/// The published effect of an input: its change's position and the blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Output {
    pub input: Input,
    pub position: u8,
    pub effect: Effect,
}

impl Reports for Output {
    fn input(&self) -> Input {
        self.input
    }
    fn position(&self) -> u8 {
        self.position
    }
}

const STORE: usize = 0;
const ENTITY: Key = 0;

/// The key of the side-effect records of `input` (the blobs are above 8).
fn records_key(input: Input) -> Key {
    input
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    /// The entity is requested.
    Loading,
    /// The input's records are requested; the entity was read at `version`.
    Checking { entity: Entity, version: Version },
    /// The records `records` (the document read at `rv`, with this attempt's name) are being written.
    Recording { entity: Entity, version: Version, records: Vec<Key>, rv: Version, effect: Effect },
    /// The blob is being uploaded; the records are `records` at `rv`.
    Uploading { entity: Entity, version: Version, records: Vec<Key>, rv: Version, effect: Effect },
    /// The commit of the winning effect is on its way; then publish `out` and clean up.
    Committing { records: Vec<Key>, rv: Version, out: Output },
    /// The losing blob `blob` is being deleted; the winner is `winner`.
    Cleaning { records: Vec<Key>, rv: Version, winner: Key, blob: Key },
    /// The input's records are being deleted; then ack.
    Clearing,
    /// The commit lost to another attempt's: this attempt's blob is being deleted; then start over on the copy in hand.
    Abandoning,
    /// `CheckThenAbandon`: the commit of `out` failed; the entity is being read to see whether it
    /// applied.
    Verifying { records: Vec<Key>, rv: Version, out: Output },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Work {
    pub input: Input,
    pub phase: Phase,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct SideEffectsProtocol {
    pub variant: Variant,
}

impl SideEffectsProtocol {
    /// Add this attempt's name to the input's records (read at `rv`), with a version check.
    #[allow(clippy::too_many_arguments)] // the TLA+ twin's parameters, and the effects
    fn record(&self, fx: &mut Effects<Self>, input: Input, entity: Entity, version: Version, records: &[Key], rv: Version, effect: Effect) -> Option<Work> {
        let mut records = records.to_vec();
        if !records.contains(&effect.blob) {
            records.push(effect.blob);
            records.sort();
        }
        fx.put(STORE, records_key(input), Doc::Records(records.clone()), rv);
        Some(Work { input, phase: Phase::Recording { entity, version, records, rv, effect } })
    }

    /// Upload the blob: create-only (If-None-Match: *, a put expecting version 0), so that it fails
    /// on a name already cleaned up (a tombstone); `FixedBlobName` overwrites.
    #[allow(clippy::too_many_arguments)] // the TLA+ twin's parameters, and the effects
    fn upload(&self, fx: &mut Effects<Self>, input: Input, entity: Entity, version: Version, records: Vec<Key>, rv: Version, effect: Effect) -> Option<Work> {
        if self.variant == Variant::FixedBlobName {
            fx.put_unchecked(STORE, effect.blob, Doc::Blob(effect.attempt));
        } else {
            fx.put(STORE, effect.blob, Doc::Blob(effect.attempt), 0);
        }
        Some(Work { input, phase: Phase::Uploading { entity, version, records, rv, effect } })
    }

    /// Commit the change with the winning effect, with a version check on the entity.
    #[allow(clippy::too_many_arguments)] // the TLA+ twin's parameters, and the effects
    fn commit(&self, fx: &mut Effects<Self>, input: Input, entity: &Entity, version: Version, records: Vec<Key>, rv: Version, effect: Effect) -> Option<Work> {
        let out = Output { input, position: entity.ledger.next_position(), effect };
        let committed = Entity { ledger: entity.ledger.with(input, out.position), done: ledger::with_entry(&entity.done, input, effect) };
        if self.variant == Variant::PublishBeforeCommit {
            fx.publish(out);
        }
        fx.put(STORE, ENTITY, Doc::Entity(committed), version);
        Some(Work { input, phase: Phase::Committing { records, rv, out } })
    }

    /// The commit of `out` applied: publish it, then clean up.
    fn committed(&self, fx: &mut Effects<Self>, input: Input, records: Vec<Key>, rv: Version, out: Output) -> Option<Work> {
        if self.variant != Variant::PublishBeforeCommit {
            fx.publish(out);
        }
        self.clean_up(fx, input, records, rv, out.effect.blob, None)
    }

    /// The commit of `out` will not apply (it lost): replace this attempt's blob by a tombstone,
    /// then start over on the copy in hand.
    fn abandon(&self, fx: &mut Effects<Self>, input: Input, out: Output) -> Option<Work> {
        fx.put_unchecked(STORE, out.effect.blob, Doc::Tombstone);
        Some(Work { input, phase: Phase::Abandoning })
    }

    /// Give the input back for redelivery (ack it, in `AckOnFailure`; drop it, in `GiveUp`).
    fn give_back(&self, fx: &mut Effects<Self>, input: Input) -> Option<Work> {
        match self.variant {
            Variant::AckOnFailure => fx.ack(input),
            Variant::GiveUp => {}
            _ => fx.nack(input),
        }
        None
    }

    /// Delete the next losing blob after `after`, or delete the records (read at `rv`; then ack).
    /// The records are deleted with a version check even when there are none: a record write still
    /// on its way against version `rv` (an attempt that read the entity before the commit) then
    /// fails, where it would otherwise name a blob after the cleanup and stay for ever; if it lands
    /// first, this delete fails and the input comes back, to clean up what it named.
    fn clean_up(&self, fx: &mut Effects<Self>, input: Input, records: Vec<Key>, rv: Version, winner: Key, after: Option<Key>) -> Option<Work> {
        let next = records.iter().copied().find(|k| *k != winner && after.is_none_or(|a| *k > a));
        match next {
            Some(blob) if self.variant != Variant::NoCleanup => {
                fx.put_unchecked(STORE, blob, Doc::Tombstone);
                Some(Work { input, phase: Phase::Cleaning { records, rv, winner, blob } })
            }
            _ => {
                fx.put(STORE, records_key(input), Doc::Unwritten, rv);
                Some(Work { input, phase: Phase::Clearing })
            }
        }
    }
}

/// The TLA+ twin's forms: an effect `[blob, attempt]`, an entity `[ledger, done]` (`done` a
/// function from inputs to effects), a set of keys.
fn tla_effect(e: &Effect, names: &TlaNames) -> Value {
    record([("blob", int(e.blob)), ("attempt", names.fresh_id(&e.attempt))])
}
fn tla_entity(e: &Entity, names: &TlaNames) -> Value {
    let done = e.done.iter().map(|(m, eff)| (int(*m), tla_effect(eff, names))).collect();
    record([("ledger", tla::from_serde(&e.ledger)), ("done", Value::Function(done))])
}
fn tla_keys(keys: &[Key]) -> Value {
    Value::Set(keys.iter().map(|k| int(*k)).collect())
}

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are.
impl SideEffectsProtocol {
    /// Idle: an input is delivered; load the entity.
    fn on_delivered(&self, input: Input, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, ENTITY);
        Some(Work { input, phase: Phase::Loading })
    }

    /// The entity is loaded (at `version`): read the input's records.
    fn on_entity(&self, input: Input, version: Version, doc: Doc, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, records_key(input));
        Some(Work { input, phase: Phase::Checking { entity: doc.entity(), version } })
    }

    /// The records are read (at `rv`): finish a committed input, or start an attempt.
    fn on_records(&self, input: Input, entity: &Entity, version: Version, rv: Version, doc: Doc, fx: &mut Effects<Self>) -> Option<Work> {
        let records = doc.records();
        if let Some(effect) = entity.effect(input) {
            // Committed by an earlier attempt: publish it again, finish the cleanup.
            let position = entity.ledger.stored(input).expect("a committed effect has its change");
            fx.publish(Output { input, position, effect });
            return self.clean_up(fx, input, records, rv, effect.blob, None);
        }
        let attempt = fx.fresh_id();
        let blob = if self.variant == Variant::FixedBlobName { 8 + input } else { fresh_key(attempt) };
        let effect = Effect { blob, attempt };
        if self.variant == Variant::UploadBeforeRecord {
            self.upload(fx, input, entity.clone(), version, records, rv, effect)
        } else {
            self.record(fx, input, entity.clone(), version, &records, rv, effect)
        }
    }

    /// A write is answered.
    fn on_written(&self, input: Input, phase: &Phase, result: WriteResult, fx: &mut Effects<Self>) -> Option<Work> {
        if result != WriteResult::Ok {
            return match (phase, result) {
                // Another attempt won: delete this attempt's blob before giving the input back.
                (Phase::Committing { out, .. }, WriteResult::Conflict) => self.abandon(fx, input, *out),
                // The commit failed: read the entity to see whether it applied.
                (Phase::Committing { records, rv, out }, _) if self.variant == Variant::CheckThenAbandon => {
                    fx.get(STORE, ENTITY);
                    Some(Work { input, phase: Phase::Verifying { records: records.clone(), rv: *rv, out: *out } })
                }
                _ => self.give_back(fx, input),
            };
        }
        match phase.clone() {
            Phase::Recording { entity, version, records, rv, effect } => {
                if self.variant == Variant::UploadBeforeRecord {
                    self.commit(fx, input, &entity, version, records, rv + 1, effect)
                } else {
                    self.upload(fx, input, entity, version, records, rv + 1, effect)
                }
            }
            Phase::Uploading { entity, version, records, rv, effect } => {
                if self.variant == Variant::UploadBeforeRecord {
                    self.record(fx, input, entity, version, &records, rv, effect)
                } else {
                    self.commit(fx, input, &entity, version, records, rv, effect)
                }
            }
            Phase::Committing { records, rv, out } => self.committed(fx, input, records, rv, out),
            Phase::Cleaning { records, rv, winner, blob } => self.clean_up(fx, input, records, rv, winner, Some(blob)),
            Phase::Clearing => {
                fx.ack(input);
                None
            }
            // This attempt's blob is tombstoned: start over on the copy in hand, which finds the
            // winner's commit and cleans up (this attempt's name included), or makes a new attempt.
            // Giving the copy back instead leaves this attempt's record for a redelivery that
            // never comes if the copy's lease expired and the input was consumed meanwhile.
            Phase::Abandoning => self.on_delivered(input, fx),
            Phase::Loading | Phase::Checking { .. } | Phase::Verifying { .. } => unreachable!("a write answered while reading"),
        }
    }

    /// `CheckThenAbandon`: the entity read after a failed commit. This attempt's effect committed:
    /// go on as after a commit that was answered; else abandon the attempt as a lost commit does
    /// (the write is taken for never to apply).
    fn on_verified(&self, input: Input, records: &[Key], rv: Version, out: Output, doc: Doc, fx: &mut Effects<Self>) -> Option<Work> {
        if doc.entity().effect(input) == Some(out.effect) {
            self.committed(fx, input, records.to_vec(), rv, out)
        } else {
            self.abandon(fx, input, out)
        }
    }
}

impl Protocol for SideEffectsProtocol {
    type Doc = Doc;
    type Output = Output;
    type Work = Work;

    /// Picks the step by the work's phase, as `OnEvent` does.
    fn on_event(&self, work: Option<&Work>, event: Event<Doc>, fx: &mut Effects<Self>) -> Option<Work> {
        match (work, event) {
            (None, Event::Delivered(input)) => self.on_delivered(input, fx),
            (Some(&Work { input, phase: Phase::Loading }), Event::Loaded { version, doc, .. }) => self.on_entity(input, version, doc, fx),
            (Some(Work { input, phase: Phase::Checking { entity, version } }), Event::Loaded { version: rv, doc, .. }) => {
                self.on_records(*input, entity, *version, rv, doc, fx)
            }
            (Some(Work { input, phase: Phase::Verifying { records, rv, out } }), Event::Loaded { doc, .. }) => {
                self.on_verified(*input, records, *rv, *out, doc, fx)
            }
            (Some(Work { input, phase }), Event::Written { result, .. }) => self.on_written(*input, phase, result, fx),
            (work, event) => unreachable!("side-effects handler got {event:?} while {work:?}"),
        }
    }
}

impl LedgerProtocol for SideEffectsProtocol {
    const KEY: Key = ENTITY;
    fn ledger(doc: &Doc) -> &Ledger {
        match doc {
            Doc::Entity(e) => &e.ledger,
            _ => &ledger::NO_LEDGER,
        }
    }
}

type V<'a> = View<'a, SideEffectsProtocol>;

fn entity(v: &View<'_, SideEffectsProtocol>) -> Entity {
    v.store(STORE).doc(ENTITY).entity()
}

/// The keys of the blobs in the blob store (a tombstone holds no data: not a blob; there is at
/// most one per attempt; `BoundedDedupState` bounds them, see the README).
fn blobs<'a>(v: &View<'a, SideEffectsProtocol>) -> impl Iterator<Item = Key> + 'a {
    v.store(STORE).docs.iter().filter(|(_, _, d)| matches!(&**d, Doc::Blob(_))).map(|(k, _, _)| *k)
}

/// How many tombstones the blob store holds.
fn tombstones(v: &View<'_, SideEffectsProtocol>) -> usize {
    v.store(STORE).docs.iter().filter(|(_, _, d)| matches!(&**d, Doc::Tombstone)).count()
}

/// Copies of `input` acked so far: those the broker started with, less those queued or leased.
fn acked(v: &View<'_, SideEffectsProtocol>, input: Input) -> usize {
    let b = v.broker();
    let count = |it: &mut dyn Iterator<Item = Input>| it.filter(|x| *x == input).count();
    count(&mut v.world.copies.iter().copied())
        - count(&mut b.queue.iter().copied())
        - count(&mut b.leases.iter().filter_map(|l| *l))
}

/// An input consumed (a copy acked) has its effect visible (published: on its way or received).
fn effects_visible_before_consumed(v: &V) -> bool {
    (1..=v.world.inputs).all(|i| acked(v, i) == 0 || ledger::output_sent(v, i))
}

/// Every published blob holds what the attempt that published it wrote.
fn effects_from_one_attempt(v: &V) -> bool {
    v.outputs().iter().all(|o| v.store(STORE).doc(o.effect.blob) == Doc::Blob(o.effect.attempt))
}

/// The names recorded for `input`.
fn records(v: &View<'_, SideEffectsProtocol>, input: Input) -> Vec<Key> {
    v.store(STORE).doc(records_key(input)).records()
}

/// At quiescence no record is left, and every blob is a committed effect.
fn no_garbage(v: &V) -> bool {
    at_quiescence(v, |v| {
        let e = entity(v);
        (1..=v.world.inputs).all(|i| records(v, i).is_empty())
            && blobs(v).all(|k| e.done.iter().any(|(_, eff)| eff.blob == k))
    })
}

/// Side-effect data is bounded: no more blobs than committed effects, recorded names and attempts
/// under way (handlers holding an input); and no more tombstones than attempts that lost to a
/// fault or a rival: the failures drawn on the budget and, for each committed effect, the other
/// handlers' attempts it beat (a sender duplicate loses only as such a rival). Tombstones grow
/// with faults and contention, not with the inputs a handler processes alone (README, "How
/// tombstones count").
fn bounded_dedup_state(v: &V) -> bool {
    let recorded: usize = (1..=v.world.inputs).map(|i| records(v, i).len()).sum();
    let attempts = v.handlers().filter(|(h, _)| h.is_busy()).count();
    let done = entity(v).done.len();
    let rivals = (v.world.topology.handlers - 1) * done;
    blobs(v).count() <= done + recorded + attempts
        && v.failures_used().is_some_and(|used| tombstones(v) <= used + rivals)
}

/// A handler is loading a copy of an input already recorded or committed.
fn duplicate_delivered(v: &V) -> bool {
    let e = entity(v);
    some_handler_holds(v, |w, _| {
        w.phase == Phase::Loading && (e.effect(w.input).is_some() || !records(v, w.input).is_empty())
    })
}

/// A handler is down between two store writes: its input has a record and no committed effect.
fn crash_between_record_and_commit(v: &V) -> bool {
    let e = entity(v);
    some_handler_holds(v, |w, down| down && !records(v, w.input).is_empty() && e.effect(w.input).is_none())
}

const PROPERTIES: &[Property<SideEffectsProtocol>] = &[
    property!("EffectsVisibleBeforeConsumed", Invariant, "an input consumed (a copy acked) has its effect published", effects_visible_before_consumed),
    property!("NoGhostEffects", Invariant, "no effect is visible for an input whose change is not committed", ledger::no_ghost::<SideEffectsProtocol>),
    property!("EffectsFromOneAttempt", Invariant, "every published blob holds what the attempt that published it wrote", effects_from_one_attempt),
    property!("NoGarbage", Invariant, "at quiescence no record is left and every blob is a committed effect", no_garbage),
    property!("BoundedDedupState", Invariant, "no more blobs than committed effects, recorded names and attempts under way; no more tombstones than failures and beaten rivals", bounded_dedup_state),
    super::situations::termination(),
    property!("DuplicateDelivered", Sometimes, "a handler is loading a copy of an input already recorded or committed", duplicate_delivered),
    property!("CrashBetweenRecordAndCommit", Sometimes, "a handler is down between its record and its commit", crash_between_record_and_commit),
];


impl WorldFamily for SideEffectsFamily {
    type P = SideEffectsProtocol;
    const ID: &'static str = "side-effects";
    const MODULE: &'static str = "SideEffects";
    const SUMMARY: &'static str =
        "Side effects other than messages (blobs): unique names per attempt, recorded before the upload, published after the commit, losers cleaned up.";
    const VARIANTS: &'static [&'static str] = Variant::NAMES;
    const UNREACHABLE: &'static [(&'static str, &'static str)] = &[
        ("CrashAfterPublishBeforeAck", "its handler acks only after the records' delete, a write that follows its publish"),
    ];
    const PROPERTIES: &'static [Property<SideEffectsProtocol>] = PROPERTIES;
    fn world(&self, consts: &Consts) -> crate::world::World<SideEffectsProtocol> {
        crate::world::world(SideEffectsProtocol { variant: Variant::parse(consts.string("Variant")) }, consts, 1)
    }
}

/// The TLA+ twin's names for this family's work, documents and outputs.
impl TlaMap for SideEffectsProtocol {
    /// `W(m, phase, entity, version, records, rv, effect, out, winner, blob)` of the twin, unused
    /// fields `EmptyEntity`, 0, `{}`.
    fn tla_work(&self, w: &Work, names: &TlaNames) -> Value {
        let empty = Entity::default();
        let none: &[Key] = &[];
        let (phase, entity, version, records, rv, effect, out, winner, blob) = match &w.phase {
            Phase::Loading => ("Loading", &empty, 0, none, 0, None, None, 0, 0),
            Phase::Checking { entity, version } => ("Checking", entity, *version, none, 0, None, None, 0, 0),
            Phase::Recording { entity, version, records, rv, effect } => {
                ("Recording", entity, *version, &records[..], *rv, Some(effect), None, 0, 0)
            }
            Phase::Uploading { entity, version, records, rv, effect } => {
                ("Uploading", entity, *version, &records[..], *rv, Some(effect), None, 0, 0)
            }
            Phase::Committing { records, rv, out } => ("Committing", &empty, 0, &records[..], *rv, None, Some(out), 0, 0),
            Phase::Cleaning { records, rv, winner, blob } => ("Cleaning", &empty, 0, &records[..], *rv, None, None, *winner, *blob),
            Phase::Clearing => ("Clearing", &empty, 0, none, 0, None, None, 0, 0),
            Phase::Abandoning => ("Abandoning", &empty, 0, none, 0, None, None, 0, 0),
            Phase::Verifying { records, rv, out } => ("Verifying", &empty, 0, &records[..], *rv, None, Some(out), 0, 0),
        };
        let set = |v: Option<Value>| Value::Set(v.into_iter().collect());
        record([
            ("input", int(w.input)),
            ("phase", string(phase)),
            ("entity", tla_entity(entity, names)),
            ("version", int(version)),
            ("records", tla_keys(records)),
            ("rv", int(rv)),
            ("effect", set(effect.map(|e| tla_effect(e, names)))),
            ("out", set(out.map(|o| self.tla_output(o, names)))),
            ("winner", int(winner)),
            ("blob", int(blob)),
        ])
    }

    /// `MkDoc(kind, ledger, done, records, attempt)` of the twin.
    fn tla_doc(&self, d: &Doc, names: &TlaNames) -> Value {
        let empty = Entity::default();
        let (kind, entity, records, attempt) = match d {
            Doc::Unwritten => ("Unwritten", &empty, &[][..], None),
            Doc::Entity(e) => ("Entity", e, &[][..], None),
            Doc::Records(r) => ("Records", &empty, &r[..], None),
            Doc::Blob(a) => ("Blob", &empty, &[][..], Some(names.fresh_id(a))),
            Doc::Tombstone => ("Tombstone", &empty, &[][..], None),
        };
        let e = tla_entity(entity, names);
        let Value::Record(fields) = e else { unreachable!("an entity is a record") };
        let mut fields = fields;
        fields.push(("kind".into(), string(kind)));
        fields.push(("records".into(), tla_keys(records)));
        fields.push(("attempt".into(), Value::Set(attempt.into_iter().collect())));
        tla::canon(Value::Record(fields))
    }

    fn tla_output(&self, o: &Output, names: &TlaNames) -> Value {
        record([("input", int(o.input)), ("position", int(o.position)), ("effect", tla_effect(&o.effect, names))])
    }
}
