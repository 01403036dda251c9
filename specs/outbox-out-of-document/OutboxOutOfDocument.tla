------------------------- MODULE OutboxOutOfDocument -------------------------
(***************************************************************************)
(* The outbox for stores with small documents and no transactions across   *)
(* documents (Cosmos DB, DynamoDB), after the exactly-once workshop and    *)
(* blog (Pobiega and Masternak).  The entity keeps its business state and  *)
(* one field: the id of its committed, unfinished transaction.  The outbox *)
(* record of a transaction lives in another store under the transaction id *)
(* (here the input's id) and doubles as the dedup record: once marked done, *)
(* the input is known as processed.                                        *)
(*                                                                         *)
(* The handler reads its input's record (done: a duplicate, ack); loads    *)
(* the entity and, if it holds an unfinished transaction of any input,     *)
(* completes it first (read its record, dispatch, mark the record done,    *)
(* clear the id) and starts over; else it runs the business logic, stages  *)
(* the record (version check on the record), commits state and id         *)
(* (version check on the entity), dispatches, marks done, clears, acks.    *)
(*                                                                         *)
(* Both stores are documents of the World's store (entity under key 0, the *)
(* record of input m under key 10 + m): nothing is atomic across them.     *)
(* Twin of src/families/outbox_out_of_document.rs (same counts, verdicts). *)
(***************************************************************************)
EXTENDS LedgerWorld

CONSTANT Variant

Variants == {"Correct", "DispatchBeforeCommit", "MarkBeforeDispatch",
             "ClearBeforeMark", "SkipCompletion", "GiveUp"}
ASSUME Variant \in Variants

\* Every document: the entity uses ledger (of <<m, p>>) and txns (the ids of
\* its committed, unfinished transactions: at most one, but in
\* SkipCompletion); an outbox record uses record ({} or {[out, done]}).
EntityKey == 0
RecordKey(m) == 10 + m
EmptyDoc == [ledger |-> <<>>, txns |-> {}, record |-> {}]
Entity == DocOf(EntityKey, EmptyDoc)
RecordDoc(o, done) == [EmptyDoc EXCEPT !.record = {[out |-> o, done |-> done]}]
IsDone(d) == \E r \in d.record : r.done
RecordDone(m) == IsDone(DocOf(RecordKey(m), EmptyDoc))

\* The output of input m, reporting position p, under the fresh id (a document
\* key, FreshKey) that the attempt which staged it drew.
Output(id, m, p) == [id |-> id, input |-> m, position |-> p]

WithTxn(e, m, o) == [e EXCEPT !.ledger = Append(@, <<m, o.position>>), !.txns = @ \cup {m}]
WithoutTxn(e, t) == [e EXCEPT !.txns = @ \ {t}]

-----------------------------------------------------------------------------
(* The protocol.  work is {} (idle) or {[input, phase, txn, ent, ver, out,  *)
(* marking, restart]}: "LoadingRecord"; "LoadingEntity" (ver: the record's *)
(* version); "LoadingTxn" (the record of the entity ent's unfinished       *)
(* transaction txn, entity read at ver); "Staging" and "Committing" (ent   *)
(* read at ver, out = {output}; in Committing ent is the doc committed);   *)
(* "Completing" transaction txn of ent (at ver), out = {output} or {}:     *)
(* writing the record done (marking) or clearing the id, then start over   *)
(* (restart) or ack.  Unused fields are 0, EmptyDoc, 0, {}, FALSE, FALSE.   *)

W(m, phase, txn, ent, ver, out, marking, restart) ==
    [input |-> m, phase |-> phase, txn |-> txn, ent |-> ent, ver |-> ver, out |-> out,
     marking |-> marking, restart |-> restart]
LoadingRecord(m) == W(m, "LoadingRecord", 0, EmptyDoc, 0, {}, FALSE, FALSE)
Completing(m, t, e, v, out, marking, restart) == W(m, "Completing", t, e, v, out, marking, restart)

Mark(t, out) == PutUnchecked(RecordKey(t), RecordDoc(The(out), TRUE))
Clear(t, e, v) == Put(EntityKey, WithoutTxn(e, t), v)
Publishing(out) == IF out = {} THEN <<>> ELSE <<Publish(The(out))>>

\* Complete transaction t of entity e (at version v) whose output is out
\* ({} if none to dispatch): the first of its steps, in the variant's order.
Complete(m, t, e, v, out, restart) ==
    LET first == IF Variant = "MarkBeforeDispatch" THEN <<>> ELSE Publishing(out) IN
    IF Variant = "ClearBeforeMark" \/ out = {}
      THEN Continue(Completing(m, t, e, v, out, FALSE, restart), first \o <<Clear(t, e, v)>>)
      ELSE Continue(Completing(m, t, e, v, out, TRUE, restart), first \o <<Mark(t, out)>>)

\* Done with a completion: start over, or ack.
Finished(m, restart) ==
    IF restart THEN Continue(LoadingRecord(m), <<Get(RecordKey(m))>>)
    ELSE Finish(<<Ack(m)>>)

\* A write of completion w succeeded: its next step.
CompletedStep(w) ==
    LET m == w.input IN
    IF w.marking
      THEN LET after == IF Variant = "MarkBeforeDispatch" THEN Publishing(w.out) ELSE <<>> IN
           IF Variant = "ClearBeforeMark" THEN Finished(m, w.restart)
           ELSE Continue(Completing(m, w.txn, w.ent, w.ver, w.out, FALSE, w.restart),
                         after \o <<Clear(w.txn, w.ent, w.ver)>>)
    ELSE IF Variant = "ClearBeforeMark" /\ w.out # {}
      THEN Continue(Completing(m, w.txn, w.ent, w.ver, w.out, TRUE, w.restart), <<Mark(w.txn, w.out)>>)
    ELSE Finished(m, w.restart)

\* Idle: an input is delivered; read its outbox record.
OnDelivered(event) == Continue(LoadingRecord(event.input), <<Get(RecordKey(event.input))>>)

\* The input's record is read: done means processed; else load the entity.
OnRecord(w, event) ==
    IF IsDone(event.doc) THEN Finish(<<Ack(w.input)>>)
    ELSE Continue(W(w.input, "LoadingEntity", 0, EmptyDoc, event.version, {}, FALSE, FALSE), <<Get(EntityKey)>>)

\* The entity is loaded: complete an unfinished transaction first (in
\* SkipCompletion only our own), else stage the record.
OnEntity(ctx, w, event) ==
    LET m == w.input
        e == event.doc
        v == event.version
        pending == {t \in e.txns : Variant # "SkipCompletion" \/ t = m}
        o == Output(FreshKey(FreshId(ctx, 0)), m, Len(e.ledger) + 1)
        stage == Put(RecordKey(m), RecordDoc(o, FALSE), w.ver)
    IN
    IF pending # {}
      THEN LET t == CHOOSE t \in pending : \A u \in pending : t <= u IN
           Continue(W(m, "LoadingTxn", t, e, v, {}, FALSE, FALSE), <<Get(RecordKey(t))>>)
    ELSE Drawing(Continue(W(m, "Staging", 0, e, v, {o}, FALSE, FALSE),
                          IF Variant = "DispatchBeforeCommit" THEN <<Publish(o), stage>> ELSE <<stage>>), 1)

\* The record of the transaction to complete is read: dispatch its output,
\* unless it is done already or missing.
OnTxnRecord(w, event) ==
    LET out == {r.out : r \in {r \in event.doc.record : ~r.done}} IN
    Complete(w.input, w.txn, w.ent, w.ver, out, TRUE)

\* A write is answered.
OnWritten(w, event) ==
    LET m == w.input IN
    IF event.result = "Ok"
      THEN CASE w.phase = "Staging" ->
                  LET d == WithTxn(w.ent, m, The(w.out)) IN
                  Continue(W(m, "Committing", 0, d, w.ver, w.out, FALSE, FALSE), <<Put(EntityKey, d, w.ver)>>)
             [] w.phase = "Committing" ->
                  Complete(m, m, w.ent, w.ver + 1, w.out, FALSE)
             [] w.phase = "Completing" ->
                  CompletedStep(w)
    ELSE IF Variant = "GiveUp"
      THEN Finish(<<>>)   \* dropped: neither acked nor nacked
      ELSE Finish(<<Nack(m)>>)

\* The protocol: the step for the event, chosen by the work's phase.
OnEvent(ctx, work, event) ==
    IF work = {} THEN OnDelivered(event)
    ELSE LET w == The(work) IN
         CASE w.phase = "LoadingRecord" -> OnRecord(w, event)
           [] w.phase = "LoadingEntity" -> OnEntity(ctx, w, event)
           [] w.phase = "LoadingTxn" -> OnTxnRecord(w, event)
           [] OTHER -> OnWritten(w, event)

-----------------------------------------------------------------------------

TypeOK ==
    /\ WorldTypeOK
    /\ \A h \in Handlers : \A w \in hs[h].work :
         w.input \in Inputs
         /\ w.phase \in {"LoadingRecord", "LoadingEntity", "LoadingTxn", "Staging", "Committing", "Completing"}
    /\ \A o \in DOMAIN received : o.input \in Inputs

\* The world's options: the defaults.
Opts == WorldOptions(EmptyDoc)

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

\* The entity never holds more than one transaction id.
BoundedDedupState == Cardinality(Entity.txns) <= 1

(* Reachability ("sometimes") predicates: checked by ~P as an invariant.   *)

\* A handler is reading the outbox record of a copy of an input whose change is committed.
DuplicateDelivered ==
    \E h \in Handlers : \E w \in hs[h].work :
        w.phase = "LoadingRecord" /\ StoredAt(Ledger, w.input) # 0

\* Two handlers that are up work on copies of one input at once, and its change is committed.
DuplicateRace == DuplicateRaceIn(Ledger)

\* A handler is down after its commit, with its record not done or its transaction id not cleared.
CrashBetweenWrites ==
    \E h \in Handlers : \E w \in hs[h].work :
        /\ crashed[h]
        /\ w.phase \in {"Committing", "Completing"}
        /\ StoredAt(Ledger, w.input) # 0
        /\ ~RecordDone(w.input) \/ w.input \in Entity.txns

\* A handler completes another input's unfinished transaction before its own.
CompletesOtherTransaction ==
    \E h \in Handlers : \E w \in hs[h].work : w.phase = "LoadingTxn" /\ w.txn # w.input

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
