---------------------------- MODULE SideEffects -----------------------------
(***************************************************************************)
(* Side effects other than messages (the "exactly-once" blog's side-      *)
(* effects post, Pobiega): processing an input creates a blob, published  *)
(* by an output message carrying its name.  Each attempt draws a unique    *)
(* name and adds it to the input's side-effect records (a document of its *)
(* own, version check) before it uploads the blob, create-only (a put     *)
(* expecting version 0, as If-None-Match does); then it commits the state  *)
(* and the winning effect to the entity (version check).  Only after the   *)
(* commit is the blob published.  Then the losing attempts' blobs (the     *)
(* other recorded names) are replaced by tombstones (no data; a late       *)
(* create-only upload of that name fails), the records deleted, the input  *)
(* acked.  An attempt whose commit conflicts tombstones its own blob and   *)
(* starts over on its copy.  A copy whose input is committed publishes the *)
(* committed blob again and finishes the cleanup.                          *)
(*                                                                         *)
(* Every document is written atomically on its own: the entity under key  *)
(* 0 (a ledger as in the handler family, and the committed effects), the   *)
(* records of input m under key m, the blobs under keys from their names. *)
(* Twin of src/families/side_effects.rs (same counts, same verdicts).      *)
(***************************************************************************)
EXTENDS LedgerWorld

CONSTANT Variant

Variants == {"Correct", "FixedBlobName", "UploadBeforeRecord", "NoCleanup",
             "PublishBeforeCommit", "AckOnFailure", "GiveUp", "CheckThenAbandon"}
ASSUME Variant \in Variants

-----------------------------------------------------------------------------
(* Documents: one record shape for every store, kind "Unwritten" (never   *)
(* written or deleted), "Entity" (ledger, done: input -> its committed     *)
(* effect [blob, attempt]), "Records" (records: the recorded blob names)   *)
(* or "Blob" (attempt = {the id of the attempt that wrote it}) or         *)
(* "Tombstone" (a deleted blob's marker: no data, the name stays taken).   *)

EntityKey == 0
EmptyDone == [m \in {} |-> 0]
EmptyEntity == [ledger |-> <<>>, done |-> EmptyDone]
MkDoc(kind, l, d, r, a) == [kind |-> kind, ledger |-> l, done |-> d, records |-> r, attempt |-> a]
Unwritten == MkDoc("Unwritten", <<>>, EmptyDone, {}, {})
EntityDoc(e) == MkDoc("Entity", e.ledger, e.done, {}, {})
RecordsDoc(r) == MkDoc("Records", <<>>, EmptyDone, r, {})
BlobDoc(a) == MkDoc("Blob", <<>>, EmptyDone, {}, {a})
\* A deleted blob's marker (a zero-byte object): no data, but the name exists, so a late
\* create-only upload of that name fails.
Tombstone == MkDoc("Tombstone", <<>>, EmptyDone, {}, {})
EntityOf(d) == [ledger |-> d.ledger, done |-> d.done]

Min(S) == CHOOSE x \in S : \A y \in S : x <= y

-----------------------------------------------------------------------------
(* The protocol.  work is {} (idle) or {[input, phase, entity, version,   *)
(* records, rv, effect, out, winner, blob]}: phase "Loading"; "Checking"   *)
(* (the records are requested; entity read at version); "Recording" (the  *)
(* records, read at rv, with this attempt's name, are being written;       *)
(* effect = {[blob, attempt]}); "Uploading"; "Committing" (out = {the      *)
(* output}); "Cleaning" (a losing blob is being deleted); "Clearing" (the  *)
(* records are being deleted); "Abandoning" (the commit lost: this         *)
(* attempt's blob is being deleted); "Verifying" (CheckThenAbandon: the    *)
(* commit failed and the entity is being read to see whether it applied). *)
(* Unused fields are EmptyEntity, 0, {}.                                   *)

W(m, phase, e, v, r, rv, eff, out, winner, blob) ==
    [input |-> m, phase |-> phase, entity |-> e, version |-> v, records |-> r, rv |-> rv,
     effect |-> eff, out |-> out, winner |-> winner, blob |-> blob]
Loading(m) == W(m, "Loading", EmptyEntity, 0, {}, 0, {}, {}, 0, 0)
Checking(m, e, v) == W(m, "Checking", e, v, {}, 0, {}, {}, 0, 0)
Recording(m, e, v, r, rv, eff) == W(m, "Recording", e, v, r, rv, {eff}, {}, 0, 0)
Uploading(m, e, v, r, rv, eff) == W(m, "Uploading", e, v, r, rv, {eff}, {}, 0, 0)
Committing(m, r, rv, o) == W(m, "Committing", EmptyEntity, 0, r, rv, {}, {o}, 0, 0)
Cleaning(m, r, rv, winner, b) == W(m, "Cleaning", EmptyEntity, 0, r, rv, {}, {}, winner, b)
Clearing(m) == W(m, "Clearing", EmptyEntity, 0, {}, 0, {}, {}, 0, 0)
Abandoning(m) == W(m, "Abandoning", EmptyEntity, 0, {}, 0, {}, {}, 0, 0)
Verifying(m, r, rv, o) == W(m, "Verifying", EmptyEntity, 0, r, rv, {}, {o}, 0, 0)

\* Step result r with the effects pre carried out first.
Before(pre, r) == [r EXCEPT !.fx = pre \o @]

\* Give the input back for redelivery (ack it, in AckOnFailure; drop it, in GiveUp).
GiveBack(m) ==
    CASE Variant = "AckOnFailure" -> Finish(<<Ack(m)>>)
      [] Variant = "GiveUp" -> Finish(<<>>)   \* dropped: neither acked nor nacked
      [] OTHER -> Finish(<<Nack(m)>>)

\* Add this attempt's name to m's records (read at rv), with a version check.
Record(m, e, v, r, rv, eff) ==
    LET r2 == r \cup {eff.blob}
    IN Continue(Recording(m, e, v, r2, rv, eff), <<Put(m, RecordsDoc(r2), rv)>>)

\* Upload the blob: create-only (If-None-Match, a put expecting version 0), so that it fails
\* on a name already cleaned up (a tombstone); FixedBlobName overwrites.
Upload(m, e, v, r, rv, eff) ==
    Continue(Uploading(m, e, v, r, rv, eff),
             <<IF Variant = "FixedBlobName" THEN PutUnchecked(eff.blob, BlobDoc(eff.attempt))
               ELSE Put(eff.blob, BlobDoc(eff.attempt), 0)>>)

\* Commit the change with the winning effect, with a version check on the entity.
Commit(m, e, v, r, rv, eff) ==
    LET o == [input |-> m, position |-> Len(e.ledger) + 1, effect |-> eff]
        c == [ledger |-> Append(e.ledger, <<m, o.position>>), done |-> e.done @@ (m :> eff)]
        write == Put(EntityKey, EntityDoc(c), v)
    IN Continue(Committing(m, r, rv, o),
                IF Variant = "PublishBeforeCommit" THEN <<Publish(o), write>> ELSE <<write>>)

\* Delete the next losing blob after after (0: none yet; blob keys are above 8), or delete the
\* records (read at rv; then ack).  The records are deleted with a version check even when
\* there are none: a record write still on its way against version rv then fails, where it
\* would otherwise name a blob after the cleanup and stay for ever; if it lands first, this
\* delete fails and the input comes back, to clean up what it named.
CleanUp(m, r, rv, winner, after) ==
    LET next == {k \in r : k # winner /\ k > after} IN
    IF next # {} /\ Variant # "NoCleanup"
      THEN Continue(Cleaning(m, r, rv, winner, Min(next)), <<PutUnchecked(Min(next), Tombstone)>>)
    ELSE Continue(Clearing(m), <<Put(m, Unwritten, rv)>>)

\* The commit of output o applied: publish it, then clean up.
Committed(m, r, rv, o) ==
    Before(IF Variant = "PublishBeforeCommit" THEN <<>> ELSE <<Publish(o)>>,
           CleanUp(m, r, rv, o.effect.blob, 0))

\* The commit of output o will not apply (it lost): replace this attempt's blob
\* by a tombstone, then start over on the copy in hand.
Abandon(m, o) == Continue(Abandoning(m), <<PutUnchecked(o.effect.blob, Tombstone)>>)

\* Idle: an input is delivered; load the entity.
OnDelivered(event) == Continue(Loading(event.input), <<Get(EntityKey)>>)

\* The entity is loaded: read the input's records.
OnEntity(w, event) ==
    Continue(Checking(w.input, EntityOf(event.doc), event.version), <<Get(w.input)>>)

\* The records are read (at rv): finish a committed input, or start an attempt.
OnRecords(ctx, w, event) ==
    LET m == w.input
        e == w.entity
        r == event.doc.records
        rv == event.version
    IN
    IF m \in DOMAIN e.done
      THEN LET eff == e.done[m]
               o == [input |-> m, position |-> StoredAt(e.ledger, m), effect |-> eff]
           IN Before(<<Publish(o)>>, CleanUp(m, r, rv, eff.blob, 0))
      ELSE LET attempt == FreshId(ctx, 0)
               eff == [blob |-> IF Variant = "FixedBlobName" THEN 8 + m ELSE FreshKey(attempt),
                       attempt |-> attempt]
           IN Drawing(IF Variant = "UploadBeforeRecord"
                        THEN Upload(m, e, w.version, r, rv, eff)
                        ELSE Record(m, e, w.version, r, rv, eff), 1)

\* A write is answered.
OnWritten(w, event) ==
    LET m == w.input IN
    IF event.result = "Ok"
      THEN CASE w.phase = "Recording" /\ Variant = "UploadBeforeRecord" ->
                  Commit(m, w.entity, w.version, w.records, w.rv + 1, The(w.effect))
             [] w.phase = "Recording" ->
                  Upload(m, w.entity, w.version, w.records, w.rv + 1, The(w.effect))
             [] w.phase = "Uploading" /\ Variant = "UploadBeforeRecord" ->
                  Record(m, w.entity, w.version, w.records, w.rv, The(w.effect))
             [] w.phase = "Uploading" ->
                  Commit(m, w.entity, w.version, w.records, w.rv, The(w.effect))
             [] w.phase = "Committing" ->
                  Committed(m, w.records, w.rv, The(w.out))
             [] w.phase = "Cleaning" ->
                  CleanUp(m, w.records, w.rv, w.winner, w.blob)
             [] w.phase = "Clearing" ->
                  Finish(<<Ack(m)>>)
             [] w.phase = "Abandoning" ->
                  \* Start over on the copy in hand: it finds the winner's commit and cleans
                  \* up (this attempt's name included), or makes a new attempt.
                  OnDelivered([input |-> m])
    ELSE IF w.phase = "Committing" /\ event.result = "Conflict"
      THEN \* Another attempt won: delete this attempt's blob, then start over.
           Abandon(m, The(w.out))
    ELSE IF w.phase = "Committing" /\ Variant = "CheckThenAbandon"
      THEN \* The commit failed: read the entity to see whether it applied.
           Continue(Verifying(m, w.records, w.rv, The(w.out)), <<Get(EntityKey)>>)
    ELSE GiveBack(m)

\* CheckThenAbandon: the entity read after a failed commit.  This attempt's
\* effect committed: go on as after a commit that was answered; else abandon
\* the attempt as a lost commit does (the write is taken for never to apply).
OnVerified(w, event) ==
    LET m == w.input
        o == The(w.out)
        e == EntityOf(event.doc)
    IN IF m \in DOMAIN e.done /\ e.done[m] = o.effect
         THEN Committed(m, w.records, w.rv, o)
         ELSE Abandon(m, o)

\* The protocol: the step for the event, chosen by the work's phase.
OnEvent(ctx, work, event) ==
    IF work = {} THEN OnDelivered(event)
    ELSE LET w == The(work) IN
         CASE w.phase = "Loading" -> OnEntity(w, event)
           [] w.phase = "Checking" -> OnRecords(ctx, w, event)
           [] w.phase = "Verifying" -> OnVerified(w, event)
           [] OTHER -> OnWritten(w, event)

-----------------------------------------------------------------------------

TypeOK ==
    /\ WorldTypeOK
    /\ \A h \in Handlers : \A w \in hs[h].work :
         w.input \in Inputs
         /\ w.phase \in {"Loading", "Checking", "Recording", "Uploading", "Committing",
                         "Cleaning", "Clearing", "Abandoning", "Verifying"}
    /\ \A k \in DOMAIN docs : docs[k].doc.kind \in {"Unwritten", "Entity", "Records", "Blob", "Tombstone"}

\* The world's options: the defaults.
Opts == WorldOptions(Unwritten)

Init == WorldInit(Opts)

Next == WorldNext(OnEvent, NoServe, NoChanges, Opts)

Spec == Init /\ [][Next]_vars /\ WF_vars(Next)

-----------------------------------------------------------------------------
(* Properties.                                                             *)

Entity == EntityOf(DocOf(EntityKey, Unwritten))
Ledger == Entity.ledger
\* The names recorded for input m.
RecordsOf(m) == DocOf(m, Unwritten).records
\* The keys of the blobs in the blob store (a tombstone holds no data: not a blob; there is
\* at most one per attempt; BoundedDedupState bounds them, see README).
Blobs == {k \in DOMAIN docs : docs[k].doc.kind = "Blob"}
\* The keys of the tombstones (BoundedDedupState bounds them).
Tombstones == {k \in DOMAIN docs : docs[k].doc.kind = "Tombstone"}

\* An input consumed (a copy acked) has its effect published (on its way or received).
EffectsVisibleBeforeConsumed == \A m \in Inputs : Acked(m) > 0 => OutputSent(m)

\* No effect is visible for an input whose change is not committed.
NoGhostEffects == NoGhostIn(Ledger)

\* Every published blob holds what the attempt that published it wrote.
EffectsFromOneAttempt ==
    \A o \in Outputs : DocOf(o.effect.blob, Unwritten) = BlobDoc(o.effect.attempt)

\* At quiescence no record is left, and every blob is a committed effect.
NoGarbage ==
    \/ ENABLED Next
    \/ /\ \A m \in Inputs : RecordsOf(m) = {}
       /\ \A k \in Blobs : \E m \in DOMAIN Entity.done : Entity.done[m].blob = k

\* Side-effect data is bounded: no more blobs than committed effects, recorded names and
\* attempts under way (handlers holding an input); and no more tombstones than attempts that
\* lost to a fault or a rival: the failures drawn on the budget and, for each committed effect,
\* the other handlers' attempts it beat (a sender duplicate loses only as such a rival; README,
\* "How tombstones count").
BoundedDedupState ==
    /\ Cardinality(Blobs)
          <= Cardinality(DOMAIN Entity.done)
             + SumOver(Inputs, [m \in Inputs |-> Cardinality(RecordsOf(m))])
             + Cardinality({h \in Handlers : hs[h].work # {}})
    /\ Cardinality(Tombstones)
          <= FailuresUsed + (Cardinality(Handlers) - 1) * Cardinality(DOMAIN Entity.done)

(* Reachability ("sometimes") predicates: checked by ~P as an invariant.   *)

\* A handler is loading a copy of an input already recorded or committed.
DuplicateDelivered ==
    \E h \in Handlers : \E w \in hs[h].work :
        w.phase = "Loading" /\ (w.input \in DOMAIN Entity.done \/ RecordsOf(w.input) # {})

\* A handler is down between two store writes: its input has a record and no committed effect.
CrashBetweenRecordAndCommit ==
    \E h \in Handlers : \E w \in hs[h].work :
        crashed[h] /\ RecordsOf(w.input) # {} /\ w.input \notin DOMAIN Entity.done

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
