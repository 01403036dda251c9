------------------------- MODULE OutboxOutOfDocument -------------------------
(***************************************************************************)
(* The outbox for stores with small documents and no transactions across   *)
(* documents (Cosmos DB, DynamoDB), after the exactly-once workshop and    *)
(* blog (Pobiega and Masternak).  The entity keeps its business state and  *)
(* one field: its committed, unfinished transaction.  A transaction id is  *)
(* fresh for every attempt; the attempt's outbox record (its output, under *)
(* a fresh id too) lives in another store under that id, and the input's  *)
(* done record, under the input's id, is the dedup record.                *)
(*                                                                         *)
(* The handler loads the entity and, if it holds an unfinished transaction *)
(* of any input, completes it first (read its record, dispatch, delete the *)
(* record, mark its input done, clear it) and starts over; else it reads   *)
(* its input's done record (done: a duplicate, ack), runs the business     *)
(* logic, stages the record under a fresh transaction id (create only),    *)
(* commits state and transaction (version check on the entity), completes  *)
(* it and acks.  An attempt whose commit conflicted (certainly not         *)
(* applied) deletes the record it staged, if it is still the one it wrote  *)
(* (a version check), before giving the input back.                       *)
(*                                                                         *)
(* Both stores are documents of the World's store (entity under key 0, the *)
(* done record of input m under key 10 + m, a transaction's record under   *)
(* its fresh key): nothing is atomic across them.                          *)
(* Twin of src/families/outbox_out_of_document.rs (same counts, verdicts). *)
(***************************************************************************)
EXTENDS LedgerWorld

CONSTANT Variant

Variants == {"Correct", "DispatchBeforeCommit", "DeleteBeforeDispatch",
             "ClearBeforeMark", "SkipCompletion", "GiveUp", "NoCleanup", "InputTxnId"}
ASSUME Variant \in Variants

\* Every document: the entity uses ledger (of <<m, p>>) and txns (its
\* committed, unfinished transactions [input, key]: at most one, but in
\* SkipCompletion); a transaction's outbox record uses record ({} or
\* {output}); an input's done record uses done.
EntityKey == 0
DoneKey(m) == 10 + m
EmptyDoc == [ledger |-> <<>>, txns |-> {}, record |-> {}, done |-> FALSE]
Entity == DocOf(EntityKey, EmptyDoc)
StagedDoc(o) == [EmptyDoc EXCEPT !.record = {o}]
DoneDoc == [EmptyDoc EXCEPT !.done = TRUE]

\* The output of input m, reporting position p, under the fresh id (a
\* document key, FreshKey) that the attempt which staged it drew.
Output(id, m, p) == [id |-> id, input |-> m, position |-> p]

Txn(m, k) == [input |-> m, key |-> k]
NoTxn == Txn(0, 0)

WithTxn(e, t, o) == [e EXCEPT !.ledger = Append(@, <<t.input, o.position>>), !.txns = @ \cup {t}]
WithoutTxn(e, t) == [e EXCEPT !.txns = @ \ {t}]

-----------------------------------------------------------------------------
(* The protocol.  work is {} (idle) or {[input, phase, txn, ent, ver, out,  *)
(* key, kver, step, restart]}: "LoadingEntity"; "LoadingTxn" (the record of *)
(* entity ent's unfinished transaction txn, entity read at ver);           *)
(* "LoadingRecord" (the input's done record, entity ent read at ver);      *)
(* "Staging" and "Committing" (ent read at ver, out = {output}, the record *)
(* under key, written with expected version kver in Staging, at version   *)
(* kver in Committing; in Committing ent is the doc committed);            *)
(* "Discarding" (the record under key if still at kver, after a conflict); *)
(* "Completing" transaction txn of                                         *)
(* ent (at ver), out = {output} or {}: the write of act step of Order is   *)
(* under way, then start over (restart) or ack.  Unused fields are NoTxn,  *)
(* EmptyDoc, 0, {}, 0, 0, 0, FALSE.                                        *)

W(m, phase, txn, ent, ver, out, key, kver, step, restart) ==
    [input |-> m, phase |-> phase, txn |-> txn, ent |-> ent, ver |-> ver, out |-> out,
     key |-> key, kver |-> kver, step |-> step, restart |-> restart]
LoadingEntity(m) == W(m, "LoadingEntity", NoTxn, EmptyDoc, 0, {}, 0, 0, 0, FALSE)

\* The acts that complete a transaction, in the variant's order.
Order ==
    CASE Variant = "DeleteBeforeDispatch" -> <<"Delete", "Dispatch", "Mark", "Clear">>
      [] Variant = "ClearBeforeMark" -> <<"Dispatch", "Delete", "Clear", "Mark">>
      [] OTHER -> <<"Dispatch", "Delete", "Mark", "Clear">>

Publishing(out) == IF out = {} THEN <<>> ELSE <<Publish(The(out))>>
WithFirst(fx, r) == [r EXCEPT !.fx = fx \o @]

\* Done with a completion: start over, or ack.
Finished(m, restart) ==
    IF restart THEN Continue(LoadingEntity(m), <<Get(EntityKey)>>)
    ELSE Finish(<<Ack(m)>>)

\* The write of act a for transaction t of entity e (at version v).
WriteOf(a, t, e, v) ==
    CASE a = "Delete" -> PutUnchecked(t.key, EmptyDoc)
      [] a = "Mark" -> PutUnchecked(DoneKey(t.input), DoneDoc)
      [] a = "Clear" -> Put(EntityKey, WithoutTxn(e, t), v)

\* Complete transaction t of entity e (at version v), whose output is out
\* ({} if its record is gone), from act i of Order on: the acts up to the
\* next write.  Once all are done, start over (restart) or ack.
RECURSIVE Advance(_, _, _, _, _, _, _)
Advance(m, t, e, v, out, restart, i) ==
    IF i > Len(Order) THEN Finished(m, restart)
    ELSE IF Order[i] = "Dispatch"
      THEN WithFirst(Publishing(out), Advance(m, t, e, v, out, restart, i + 1))
    ELSE IF Order[i] = "Delete" /\ out = {}
      THEN Advance(m, t, e, v, out, restart, i + 1)
    ELSE Continue(W(m, "Completing", t, e, v, out, 0, 0, i, restart), <<WriteOf(Order[i], t, e, v)>>)

\* The input goes back to the broker (in GiveUp, it is dropped).
GiveBack(m) == IF Variant = "GiveUp" THEN Finish(<<>>) ELSE Finish(<<Nack(m)>>)

\* Idle: an input is delivered; load the entity.
OnDelivered(event) == Continue(LoadingEntity(event.input), <<Get(EntityKey)>>)

\* The entity is loaded: complete an unfinished transaction first (in
\* SkipCompletion only our own), else read the input's done record.
OnEntity(w, event) ==
    LET m == w.input
        e == event.doc
        v == event.version
        pending == {t \in e.txns : Variant # "SkipCompletion" \/ t.input = m}
    IN
    IF pending # {}
      THEN LET t == CHOOSE t \in pending : \A u \in pending :
                        t.input < u.input \/ (t.input = u.input /\ t.key <= u.key) IN
           Continue(W(m, "LoadingTxn", t, e, v, {}, 0, 0, 0, FALSE), <<Get(t.key)>>)
    ELSE Continue(W(m, "LoadingRecord", NoTxn, e, v, {}, 0, 0, 0, FALSE), <<Get(DoneKey(m))>>)

\* The transaction id of an attempt of input m that drew the fresh key id:
\* that key (in InputTxnId, the input's own key: the record beside its done
\* mark, the same for every attempt).
TxnId(m, id) == IF Variant = "InputTxnId" THEN DoneKey(m) ELSE id

\* The input's done record is read (at event.version): done means processed;
\* else run the business logic and stage the outbox record under the
\* transaction id, expecting the version the attempt read it at: a fresh
\* key was never written (version 0: create only).
OnRecord(ctx, w, event) ==
    LET m == w.input
        id == FreshKey(FreshId(ctx, 0))
        o == Output(id, m, Len(w.ent.ledger) + 1)
        key == TxnId(m, id)
        kver == IF key = DoneKey(m) THEN event.version ELSE 0
        stage == Put(key, StagedDoc(o), kver)
    IN
    IF event.doc.done THEN Finish(<<Ack(m)>>)
    ELSE Drawing(Continue(W(m, "Staging", NoTxn, w.ent, w.ver, {o}, key, kver, 0, FALSE),
                          IF Variant = "DispatchBeforeCommit" THEN <<Publish(o), stage>> ELSE <<stage>>), 1)

\* The record of the transaction to complete is read: complete it,
\* dispatching its output unless the record is gone.
OnTxnRecord(w, event) == Advance(w.input, w.txn, w.ent, w.ver, event.doc.record, TRUE, 1)

\* A write is answered.
OnWritten(w, event) ==
    LET m == w.input IN
    IF w.phase = "Discarding" THEN GiveBack(m)
    ELSE IF event.result # "Ok"
      THEN IF w.phase = "Committing" /\ event.result = "Conflict" /\ Variant # "NoCleanup"
             THEN Continue(W(m, "Discarding", NoTxn, EmptyDoc, 0, {}, w.key, w.kver, 0, FALSE),
                           <<Put(w.key, EmptyDoc, w.kver)>>)
             ELSE GiveBack(m)
    ELSE CASE w.phase = "Staging" ->
                LET d == WithTxn(w.ent, Txn(m, w.key), The(w.out)) IN
                Continue(W(m, "Committing", NoTxn, d, w.ver, w.out, w.key, w.kver + 1, 0, FALSE),
                         <<Put(EntityKey, d, w.ver)>>)
           [] w.phase = "Committing" ->
                Advance(m, Txn(m, w.key), w.ent, w.ver + 1, w.out, FALSE, 1)
           [] w.phase = "Completing" ->
                Advance(m, w.txn, w.ent, w.ver, w.out, w.restart, w.step + 1)

\* The protocol: the step for the event, chosen by the work's phase.
OnEvent(ctx, work, event) ==
    IF work = {} THEN OnDelivered(event)
    ELSE LET w == The(work) IN
         CASE w.phase = "LoadingEntity" -> OnEntity(w, event)
           [] w.phase = "LoadingTxn" -> OnTxnRecord(w, event)
           [] w.phase = "LoadingRecord" -> OnRecord(ctx, w, event)
           [] OTHER -> OnWritten(w, event)

-----------------------------------------------------------------------------

TypeOK ==
    /\ WorldTypeOK
    /\ \A h \in Handlers : \A w \in hs[h].work :
         w.input \in Inputs
         /\ w.phase \in {"LoadingEntity", "LoadingTxn", "LoadingRecord", "Staging", "Committing",
                         "Discarding", "Completing"}
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

\* All output copies of one input are identical (the id included) and agree
\* with its committed change.
ConsistentOutput == ConsistentWith(Ledger)

\* At quiescence, the state and the distinct outputs (the id included: one
\* logical message per input) are those of processing each input once.
ExactlyOnceOutcome == ENABLED Next \/ ExactlyOnceIn(Ledger)

\* The entity never holds more than one transaction.
BoundedDedupState == Cardinality(Entity.txns) <= 1

\* The outbox records in the store.
Records == {k \in DOMAIN docs : docs[k].doc.record # {}}

\* At quiescence, no more outbox records are left than failures were spent.
NoGarbage == ENABLED Next \/ Cardinality(Records) <= FailuresUsed

(* Reachability ("sometimes") predicates: checked by ~P as an invariant.   *)

\* A handler is loading the entity for a copy of an input whose change is committed.
DuplicateDelivered ==
    \E h \in Handlers : \E w \in hs[h].work :
        w.phase = "LoadingEntity" /\ StoredAt(Ledger, w.input) # 0

\* Two handlers that are up work on copies of one input at once, and its change is committed.
DuplicateRace == DuplicateRaceIn(Ledger)

\* A handler is down after its commit, with its input not marked done or its
\* transaction not cleared.
CrashBetweenWrites ==
    \E h \in Handlers : \E w \in hs[h].work :
        /\ crashed[h]
        /\ w.phase \in {"Committing", "Completing"}
        /\ StoredAt(Ledger, w.input) # 0
        /\ ~DocOf(DoneKey(w.input), EmptyDoc).done \/ \E t \in Entity.txns : t.input = w.input

\* A handler completes another input's unfinished transaction before its own.
CompletesOtherTransaction ==
    \E h \in Handlers : \E w \in hs[h].work : w.phase = "LoadingTxn" /\ w.txn.input # w.input

\* A handler that is up deletes the record it staged, its commit having conflicted.
DiscardsLosingRecord ==
    \E h \in Handlers : \E w \in hs[h].work : ~crashed[h] /\ w.phase = "Discarding"

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
