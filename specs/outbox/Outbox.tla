------------------------------- MODULE Outbox -------------------------------
(***************************************************************************)
(* The classic outbox inside the entity document (the "exactly-once"       *)
(* workshop and blog, Pobiega and Masternak).  The handler loads the       *)
(* entity; if the input's id is not in it, it runs the business logic and  *)
(* commits the new state, the id and an outbox entry holding the output in *)
(* one document write with a version check; then it dispatches the entry,  *)
(* clears it (the id stays) and acks.  A copy whose id is known dispatches *)
(* the entry if it is still pending, else it just acks.                    *)
(*                                                                         *)
(* The business state is a ledger of applied changes in commit order, as  *)
(* in the handler family; the output of input m reports the position its   *)
(* change took.  Broker, store, downstream and failures are the shared     *)
(* World (with the ledger conditions of LedgerWorld).  Twin of             *)
(* src/families/outbox.rs (same counts, same verdicts).                    *)
(***************************************************************************)
EXTENDS LedgerWorld

CONSTANT Variant

Variants == {"Correct", "DispatchBeforeCommit", "ClearBeforeDispatch",
             "NoVersionCheck", "RemoveIdOnClear", "GiveUp"}
ASSUME Variant \in Variants

\* The one document, under key 0: the ledger of changes, each <<m, p>>, and
\* the outbox, a function from the ids of processed inputs to their pending
\* output ({o}) or {} once dispatched.
Key == 0
EmptyEntity == [ledger |-> <<>>, outbox |-> [m \in {} |-> {}]]
Entity == DocOf(Key, EmptyEntity)

Output(m, p) == [input |-> m, position |-> p]

\* The business logic's result committed with m's id and a pending entry.
Committed(e, m, o) ==
    [ledger |-> Append(e.ledger, <<m, o.position>>), outbox |-> e.outbox @@ (m :> {o})]

\* The entity with m's entry cleared; the id stays, unless keepId is false.
Cleared(e, m, keepId) ==
    IF keepId THEN [e EXCEPT !.outbox[m] = {}]
    ELSE [e EXCEPT !.outbox = [x \in DOMAIN e.outbox \ {m} |-> e.outbox[x]]]

-----------------------------------------------------------------------------
(* The protocol.  work is {} (idle) or {[input, phase, doc, version, out]}:*)
(* phase "Loading"; "Committing" (the commit of doc, read at version, is   *)
(* on its way; out = {the output it holds}); "Clearing" (the clear is on   *)
(* its way; out = {an output still to publish after it} or {}).  Fields a  *)
(* phase does not use are EmptyEntity, 0 and {}.                           *)

Loading(m) == [input |-> m, phase |-> "Loading", doc |-> EmptyEntity, version |-> 0, out |-> {}]
Committing(m, d, v, o) == [input |-> m, phase |-> "Committing", doc |-> d, version |-> v, out |-> {o}]
Clearing(m, after) == [input |-> m, phase |-> "Clearing", doc |-> EmptyEntity, version |-> 0, out |-> after]

\* A document write: with a version check, but in NoVersionCheck.
Write(d, v) == IF Variant = "NoVersionCheck" THEN PutUnchecked(Key, d) ELSE Put(Key, d, v)

\* Dispatch m's pending output o in entity e (at version v) and clear the entry.
DispatchAndClear(m, e, v, o) ==
    LET cleared == Cleared(e, m, Variant # "RemoveIdOnClear") IN
    IF Variant = "ClearBeforeDispatch"
      THEN Continue(Clearing(m, {o}), <<Write(cleared, v)>>)
      ELSE Continue(Clearing(m, {}), <<Publish(o), Write(cleared, v)>>)

\* Idle: an input is delivered; load the entity.
OnDelivered(event) == Continue(Loading(event.input), <<Get(Key)>>)

\* The entity is loaded: process a new input, or dispatch a pending entry, or ack.
OnLoaded(w, event) ==
    LET m == w.input
        e == event.doc
        v == event.version
    IN
    IF m \notin DOMAIN e.outbox
      THEN LET o == Output(m, Len(e.ledger) + 1)
               c == Committed(e, m, o)
           IN IF Variant = "DispatchBeforeCommit"
                THEN \* Already dispatched: commit the entry as cleared.
                     Continue(Committing(m, Cleared(c, m, TRUE), v, o),
                              <<Publish(o), Write(Cleared(c, m, TRUE), v)>>)
                ELSE Continue(Committing(m, c, v, o), <<Write(c, v)>>)
    ELSE IF e.outbox[m] # {}
      THEN DispatchAndClear(m, e, v, The(e.outbox[m]))
      ELSE Finish(<<Ack(m)>>)

\* A write is answered.
OnWritten(w, event) ==
    LET m == w.input IN
    IF event.result = "Ok"
      THEN CASE w.phase = "Committing" /\ Variant = "DispatchBeforeCommit" ->
                  Finish(<<Ack(m)>>)
             [] w.phase = "Committing" ->
                  DispatchAndClear(m, w.doc, w.version + 1, The(w.out))
             [] w.phase = "Clearing" /\ w.out # {} ->
                  Finish(<<Publish(The(w.out)), Ack(m)>>)
             [] w.phase = "Clearing" ->
                  Finish(<<Ack(m)>>)
    ELSE IF Variant = "GiveUp"
      THEN Finish(<<>>)   \* dropped: neither acked nor nacked
      ELSE Finish(<<Nack(m)>>)

\* The protocol: the step for the event, chosen by the work's phase.
OnEvent(ctx, work, event) ==
    IF work = {} THEN OnDelivered(event)
    ELSE IF The(work).phase = "Loading" THEN OnLoaded(The(work), event)
    ELSE OnWritten(The(work), event)

-----------------------------------------------------------------------------

TypeOK ==
    /\ WorldTypeOK
    /\ \A h \in Handlers : \A w \in hs[h].work :
         w.input \in Inputs /\ w.phase \in {"Loading", "Committing", "Clearing"}
    /\ \A o \in DOMAIN received : o.input \in Inputs

\* The world's options: the defaults, with the empty entity.
Opts == WorldOptions(EmptyEntity)

Init == WorldInit(Opts)

\* The inputs whose changes the business state holds, one entry per change:
\* the world counts how often a write added each (CountApplied).
ChangesOf(k, d) == IF k = Key THEN ChangesIn(d.ledger) ELSE <<>>

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

\* The document holds no more ids than there are inputs the broker may still deliver.
BoundedDedupState == Cardinality(DOMAIN Entity.outbox) <= Cardinality(InFlight)

(* Reachability ("sometimes") predicates: checked by ~P as an invariant.   *)

\* A handler is loading a copy of an input whose id is already in the document.
DuplicateDelivered ==
    \E h \in Handlers : \E w \in hs[h].work :
        w.phase = "Loading" /\ w.input \in DOMAIN Entity.outbox

\* A handler is about to load a document in which its input's entry is still
\* pending: it will dispatch an output committed by an earlier attempt.
PendingEntryFound ==
    AboutToLoad(LAMBDA w, d : w.phase = "Loading" /\ w.input \in DOMAIN d.outbox
                              /\ d.outbox[w.input] # {})

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
