------------------------------- MODULE Inbox --------------------------------
(***************************************************************************)
(* The outbox plus a separate dedup store, the "improving outbox" of the   *)
(* exactly-once workshop and blog (Pobiega and Masternak).  The entity     *)
(* document holds the business state and the pending outbox entries; the   *)
(* ids of processed inputs live in an inbox store, one record per id.  The *)
(* handler loads the entity; a pending entry for its input is dispatched;  *)
(* otherwise it checks the inbox and, if the id is not there, runs the     *)
(* business logic and commits state and entry in one entity write (with a  *)
(* version check).  Then it dispatches the entry, adds the id to the       *)
(* inbox, removes the entry from the entity and acks.                      *)
(*                                                                         *)
(* Both stores are documents of the World's store (the entity under key 0, *)
(* the inbox record of input m under key 10 + m; a record exists once its  *)
(* version is above 0): nothing is atomic across documents, as with two    *)
(* stores.  In StaleInbox the inbox reads are at a weak consistency level  *)
(* and the store keeps the previous version of every inbox record (the     *)
(* World's staleKeys option).  Twin of src/families/inbox.rs (same counts, *)
(* same verdicts).                                                         *)
(***************************************************************************)
EXTENDS LedgerWorld

CONSTANT Variant

Variants == {"Correct", "CheckBeforeLoad", "StaleInbox", "CleanupBeforeMark",
             "DispatchBeforeCommit", "GiveUp"}
ASSUME Variant \in Variants

\* Every document: the entity's ledger of changes (each <<m, p>>) and its
\* pending outbox entries (input -> output).  An inbox record is the empty
\* document: what counts is that it exists.
EntityKey == 0
InboxKey(m) == 10 + m
EmptyDoc == [ledger |-> <<>>, outbox |-> [m \in {} |-> 0]]
Entity == DocOf(EntityKey, EmptyDoc)
InInbox(m) == VersionOf(InboxKey(m)) > 0

Output(m, p) == [input |-> m, position |-> p]

\* The business logic's result committed with a pending entry.
Committed(e, m, o) ==
    [ledger |-> Append(e.ledger, <<m, o.position>>), outbox |-> e.outbox @@ (m :> o)]

\* The entity with m's entry removed.
Cleaned(e, m) == [e EXCEPT !.outbox = [x \in DOMAIN e.outbox \ {m} |-> e.outbox[x]]]

-----------------------------------------------------------------------------
(* The protocol.  work is {} (idle) or {[input, phase, ent, out, mark]}:   *)
(* "Loading" the entity; "Checking" the inbox record (ent = {<<entity,      *)
(* version>>} when loaded first, else {}); "Committing" (ent = {<<doc,     *)
(* version read>>}, out = {its entry's output}); "Marking" the inbox (ent = *)
(* {<<doc, version>>} to clean up next, or {}); "Cleaning" the entry (mark: *)
(* the id still to be added).  Unused fields are {}, {} and FALSE.         *)

W(m, phase, ent, out, mark) == [input |-> m, phase |-> phase, ent |-> ent, out |-> out, mark |-> mark]

\* Read the inbox record of m: at a weak level in StaleInbox.
CheckInbox(m) == IF Variant = "StaleInbox" THEN GetWeak(InboxKey(m)) ELSE Get(InboxKey(m))

Mark(m) == PutUnchecked(InboxKey(m), EmptyDoc)

\* Dispatch the entry's output o of entity e (at version v), then mark and
\* clean up in the variant's order.
DispatchEntry(m, e, v, o) ==
    IF Variant = "CleanupBeforeMark"
      THEN Continue(W(m, "Cleaning", {}, {}, TRUE), <<Publish(o), Put(EntityKey, Cleaned(e, m), v)>>)
      ELSE Continue(W(m, "Marking", {<<Cleaned(e, m), v>>}, {}, FALSE), <<Publish(o), Mark(m)>>)

\* Run the business logic on entity e (at version v) and commit.
Commit(m, e, v) ==
    LET o == Output(m, Len(e.ledger) + 1)
        c == Committed(e, m, o)
        w == W(m, "Committing", {<<c, v>>}, {o}, FALSE)
    IN IF Variant = "DispatchBeforeCommit"
         THEN Continue(w, <<Publish(o), Put(EntityKey, c, v)>>)
         ELSE Continue(w, <<Put(EntityKey, c, v)>>)

\* Idle: an input is delivered; load the entity (check the inbox first in CheckBeforeLoad).
OnDelivered(event) ==
    LET m == event.input IN
    IF Variant = "CheckBeforeLoad"
      THEN Continue(W(m, "Checking", {}, {}, FALSE), <<CheckInbox(m)>>)
      ELSE Continue(W(m, "Loading", {}, {}, FALSE), <<Get(EntityKey)>>)

\* The entity is loaded: dispatch a pending entry, or check the inbox.
OnEntity(w, event) ==
    LET m == w.input
        e == event.doc
        v == event.version
    IN
    IF m \in DOMAIN e.outbox THEN DispatchEntry(m, e, v, e.outbox[m])
    ELSE IF Variant = "CheckBeforeLoad" THEN Commit(m, e, v)
    ELSE Continue(W(m, "Checking", {<<e, v>>}, {}, FALSE), <<CheckInbox(m)>>)

\* The inbox record is read: the id is known, or process (load the entity first if not loaded).
OnRecord(w, event) ==
    LET m == w.input IN
    IF event.version > 0 THEN Finish(<<Ack(m)>>)
    ELSE IF w.ent # {} THEN Commit(m, The(w.ent)[1], The(w.ent)[2])
    ELSE Continue(W(m, "Loading", {}, {}, FALSE), <<Get(EntityKey)>>)

\* A write is answered.
OnWritten(w, event) ==
    LET m == w.input IN
    IF event.result = "Ok"
      THEN CASE w.phase = "Committing" ->
                  DispatchEntry(m, The(w.ent)[1], The(w.ent)[2] + 1, The(w.out))
             [] w.phase = "Marking" /\ w.ent # {} ->
                  Continue(W(m, "Cleaning", {}, {}, FALSE), <<Put(EntityKey, The(w.ent)[1], The(w.ent)[2])>>)
             [] w.phase = "Cleaning" /\ w.mark ->
                  Continue(W(m, "Marking", {}, {}, FALSE), <<Mark(m)>>)
             [] OTHER ->
                  Finish(<<Ack(m)>>)
    ELSE IF Variant = "GiveUp"
      THEN Finish(<<>>)   \* dropped: neither acked nor nacked
      ELSE Finish(<<Nack(m)>>)

\* The protocol: the step for the event, chosen by the work's phase.
OnEvent(ctx, work, event) ==
    IF work = {} THEN OnDelivered(event)
    ELSE IF The(work).phase = "Loading" THEN OnEntity(The(work), event)
    ELSE IF The(work).phase = "Checking" THEN OnRecord(The(work), event)
    ELSE OnWritten(The(work), event)

-----------------------------------------------------------------------------

TypeOK ==
    /\ WorldTypeOK
    /\ \A h \in Handlers : \A w \in hs[h].work :
         w.input \in Inputs /\ w.phase \in {"Loading", "Checking", "Committing", "Marking", "Cleaning"}
    /\ \A o \in DOMAIN received : o.input \in Inputs

\* In StaleInbox the store keeps the previous version of every inbox record.
StaleKeys == IF Variant = "StaleInbox" THEN {InboxKey(m) : m \in Inputs} ELSE {}

\* The world's options: the defaults, with stale reads of StaleKeys.
Opts == [WorldOptions(EmptyDoc) EXCEPT !.staleKeys = StaleKeys]

Init == WorldInit(Opts)

\* The inputs whose changes the business state holds, one entry per change:
\* the world counts how often a write added each (CountApplied).
ChangesOf(k, d) == IF k = EntityKey THEN ChangesIn(d.ledger) ELSE <<>>

Next == WorldNext(OnEvent, NoServe, ChangesOf, Opts)

Spec == Init /\ [][Next]_vars /\ WF_vars(Next)

-----------------------------------------------------------------------------
(* Properties.                                                             *)

Ledger == Entity.ledger

\* No output is visible for an input whose change is not in the business state.
NoGhostMessages == NoGhostIn(Ledger)

\* At quiescence, every input has been applied and has an output.
NoLostMessages == ENABLED Next \/ AllAppliedAndSent(Ledger)

\* Over the run, a write added each input's change at most once (the world's
\* history, CountApplied: a change lost and applied again counts twice).
AtMostOnceStateChange == AppliedAtMostOnce

\* All output copies of one input agree with each other and with its committed change.
ConsistentOutput == ConsistentWith(Ledger)

\* At quiescence, the state and the distinct outputs are those of processing each input once.
ExactlyOnceOutcome == ENABLED Next \/ ExactlyOnceIn(Ledger)

\* The inbox holds no more ids than there are inputs the broker may still deliver.
BoundedDedupState == Cardinality({m \in Inputs : InInbox(m)}) <= Cardinality(InFlight)

(* Reachability ("sometimes") predicates: checked by ~P as an invariant.   *)

\* A handler is loading the entity for a copy of an input whose change is committed.
DuplicateDelivered ==
    \E h \in Handlers : \E w \in hs[h].work :
        w.phase = "Loading" /\ StoredAt(Ledger, w.input) # 0

\* Two handlers that are up work on copies of one input at once, and its change is committed.
DuplicateRace == DuplicateRaceIn(Ledger)

\* A handler is down after its commit, with the entry not yet removed or the id not yet in the inbox.
CrashBetweenWrites ==
    \E h \in Handlers : \E w \in hs[h].work :
        /\ crashed[h]
        /\ w.phase \in {"Committing", "Marking", "Cleaning"}
        /\ StoredAt(Ledger, w.input) # 0
        /\ w.input \in DOMAIN Entity.outbox \/ ~InInbox(w.input)

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
