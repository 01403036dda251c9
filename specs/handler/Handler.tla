------------------------------- MODULE Handler -------------------------------
(***************************************************************************)
(* A message handler with no transactions, the model-checking exercise of *)
(* the "exactly-once" workshop (Pobiega and Masternak): receive an input,  *)
(* read the entity, update it, send the output, ack; any step can fail.    *)
(* Each variant fixes one problem of the previous one and shows the next.  *)
(*                                                                         *)
(* The entity is a ledger of applied changes in commit order: the change  *)
(* of input m records <<m, p>>, p its position in the ledger, and its      *)
(* output reports [input |-> m, position |-> p].  An output that reports  *)
(* another position than the committed one is an "alternative world".     *)
(* The broker, store, downstream and all failures are the shared World;    *)
(* this module holds only the protocol and the properties.  Twin of the    *)
(* Stateright model src/families/handler.rs (same counts, same verdicts).  *)
(***************************************************************************)
EXTENDS World

CONSTANT Variant

Variants == {"ResendStoredChange", "SendThenUpdate", "AtomicUpdateAndSend",
             "NoDedupCheck", "DedupByState", "UpdateThenSend", "AckBeforePublish", "GiveUp"}
ASSUME Variant \in Variants

\* The one document: the ledger, under key 0 of the store.
Key == 0
EmptyLedger == <<>>
Ledger == DocOf(Key, EmptyLedger)

\* The position of m's change in ledger l (its first one), or 0 if none.
StoredAt(l, m) ==
    LET at == {i \in 1..Len(l) : l[i][1] = m}
    IN IF at = {} THEN 0 ELSE l[CHOOSE i \in at : \A j \in at : i <= j][2]

Output(m, p) == [input |-> m, position |-> p]

-----------------------------------------------------------------------------
(* The protocol: what a handler does on each event.  work is {} (idle) or  *)
(* {[input, phase, position]}, phase "Loading" or "Writing" (position 0    *)
(* while loading).                                                         *)

\* Idle: an input is delivered; read the ledger.
OnDelivered(event) ==
    Continue([input |-> event.input, phase |-> "Loading", position |-> 0], <<Get(Key)>>)

\* The ledger is loaded: write the change, or handle a duplicate.
OnLoaded(w, event) ==
    LET m == w.input
        l == event.doc
        p == Len(l) + 1
        stored == StoredAt(l, m)
        change == Append(l, <<m, p>>)
        writing == [w EXCEPT !.phase = "Writing", !.position = p]
    IN
    \* NoDedupCheck treats every copy as new.
    IF stored # 0 /\ Variant # "NoDedupCheck"
      THEN \* A duplicate: the change is already in the ledger.
           CASE Variant \in {"ResendStoredChange", "SendThenUpdate", "AtomicUpdateAndSend",
                             "GiveUp", "AckBeforePublish"} ->
                  Finish(<<Publish(Output(m, stored)), Ack(m)>>)
             [] Variant = "DedupByState" ->
                  \* The output of this attempt, not of the stored change.
                  Finish(<<Publish(Output(m, p)), Ack(m)>>)
             [] Variant = "UpdateThenSend" ->
                  Finish(<<Ack(m)>>)
    ELSE IF Variant = "AtomicUpdateAndSend"
      THEN Continue(writing, <<PutAndPublish(Key, change, {event.version}, <<Output(m, p)>>)>>)
    ELSE IF Variant = "SendThenUpdate"
      THEN Continue(writing, <<Publish(Output(m, p)), Put(Key, change, event.version)>>)
      ELSE Continue(writing, <<Put(Key, change, event.version)>>)

\* The write is answered: send the output and ack, or give the input back.
OnWritten(w, event) ==
    LET m == w.input IN
    IF event.result = "Ok"
      THEN IF Variant \in {"SendThenUpdate", "AtomicUpdateAndSend"}
             THEN Finish(<<Ack(m)>>)
           ELSE IF Variant = "AckBeforePublish"
             THEN Finish(<<Ack(m), Publish(Output(m, w.position))>>)
             ELSE Finish(<<Publish(Output(m, w.position)), Ack(m)>>)
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
         w.input \in Inputs /\ w.phase \in {"Loading", "Writing"}
    /\ \A o \in DOMAIN received : o.input \in Inputs

\* The world's options: the defaults, with the empty ledger.
Opts == WorldOptions(EmptyLedger)

Init == WorldInit(Opts)

\* The inputs whose changes the business state holds, one entry per change:
\* the world counts how often a write added each (CountApplied).
ChangesOf(k, d) == IF k = Key THEN [i \in 1..Len(d) |-> d[i][1]] ELSE <<>>

Next == WorldNext(OnEvent, NoServe, ChangesOf, Opts)

Spec == Init /\ [][Next]_vars /\ WF_vars(Next)

-----------------------------------------------------------------------------
(* Properties.                                                             *)

Outputs == DOMAIN received

\* No output is visible for an input whose change was never committed.
NoGhostMessages == \A o \in Outputs : StoredAt(Ledger, o.input) # 0

\* At quiescence, every input has been applied and has an output.
NoLostMessages ==
    ENABLED Next \/
    \A m \in Inputs : StoredAt(Ledger, m) # 0 /\ \E o \in Outputs : o.input = m

\* Over the run, a write added each input's change at most once (the world's
\* history, CountApplied: a change lost and applied again counts twice).
AtMostOnceStateChange == AppliedAtMostOnce

\* All output copies of one input agree with each other and with the committed change.
ConsistentOutput ==
    \A o \in Outputs :
        /\ \A q \in Outputs : q.input = o.input => q.position = o.position
        /\ \A i \in 1..Len(Ledger) : Ledger[i][1] = o.input => Ledger[i][2] = o.position

(* Reachability ("sometimes") predicates: checked by ~P as an invariant.   *)

\* A handler is loading a copy of an input whose change is already committed.
DuplicateDelivered ==
    \E h \in Handlers : \E w \in hs[h].work :
        w.phase = "Loading" /\ StoredAt(Ledger, w.input) # 0

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
