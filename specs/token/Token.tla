------------------------------- MODULE Token --------------------------------
(***************************************************************************)
(* Token-based deduplication (the "exactly-once" blog, Masternak and       *)
(* Pobiega): a message may be processed only while its token exists, and   *)
(* processing deletes the token, so dedup data is bounded by the messages  *)
(* in flight and needs no clock.  The upstream created the inputs' tokens  *)
(* before sending them.  The handler loads the entity, then the input's    *)
(* token.  No token: a duplicate (it clears a leftover outbox entry of the *)
(* input), ack.  A token and no entry: run the business logic and commit   *)
(* the new state with an outbox entry holding the output and its token id  *)
(* (fresh for this attempt, recorded so that a retry reuses it), with a    *)
(* version check.  Then create the output's token, dispatch, delete the    *)
(* input's token (version check: ownership), clear the entry, ack.         *)
(*                                                                         *)
(* Every document is written atomically on its own, nothing spans two:     *)
(* the entity under key 0 (a ledger as in the handler family, and the      *)
(* outbox), the input tokens under the inputs' keys, the output tokens     *)
(* under keys derived from their ids.  Downstream is the next endpoint: it *)
(* would let through one copy per existing token, so a logical output is   *)
(* processed twice exactly when its copies carry two tokens.  Twin of      *)
(* src/families/token.rs (same counts, same verdicts).                     *)
(***************************************************************************)
EXTENDS LedgerWorld

CONSTANT Variant

Variants == {"Correct", "RegenerateTokensOnRetry", "DeleteBeforeDispatch",
             "NoOwnershipCheck", "GiveUp"}
ASSUME Variant \in Variants

-----------------------------------------------------------------------------
(* Documents: one record shape for every store, kind "Unwritten" (never    *)
(* written: the empty entity under key 0, the upstream's token under an    *)
(* input's key, no token under an output token's key), "Entity", "Token"  *)
(* (an output's token) or "Deleted" (a deleted token).  The outbox maps    *)
(* the ids of inputs with a pending entry to [position, token], token {}   *)
(* or {key of the output's token}.                                         *)

EntityKey == 0
EmptyOutbox == [m \in {} |-> 0]
EmptyEntity == [ledger |-> <<>>, outbox |-> EmptyOutbox]
MkDoc(kind) == [kind |-> kind, ledger |-> <<>>, outbox |-> EmptyOutbox]
Unwritten == MkDoc("Unwritten")
TokenDoc == MkDoc("Token")
DeletedDoc == MkDoc("Deleted")
AsDoc(e) == [kind |-> "Entity", ledger |-> e.ledger, outbox |-> e.outbox]
EntityOf(d) == [ledger |-> d.ledger, outbox |-> d.outbox]

Committed(e, m, entry) ==
    [ledger |-> Append(e.ledger, <<m, entry.position>>), outbox |-> e.outbox @@ (m :> entry)]
Cleared(e, m) == [e EXCEPT !.outbox = [x \in DOMAIN e.outbox \ {m} |-> e.outbox[x]]]


-----------------------------------------------------------------------------
(* The protocol.  work is {} (idle) or {[input, phase, entity, version, tv,*)
(* entry, out]}: phase "Loading" (the entity is requested); "Checking"     *)
(* (the token is requested; entity read at version); "Committing" (the     *)
(* commit of entity, read at version, is on its way; tv the token's        *)
(* version, entry = {the entry}); "Creating" (the output's token is being  *)
(* created; out = {the output}); "Deleting" (the input's token is being    *)
(* deleted; out = {an output still to publish after it} or {});            *)
(* "Clearing".  Fields a phase does not use are EmptyEntity, 0 and {}.     *)

W(m, phase, e, v, tv, entry, out) ==
    [input |-> m, phase |-> phase, entity |-> e, version |-> v, tv |-> tv, entry |-> entry, out |-> out]
Loading(m) == W(m, "Loading", EmptyEntity, 0, 0, {}, {})
Checking(m, e, v) == W(m, "Checking", e, v, 0, {}, {})
Committing(m, e, v, tv, entry) == W(m, "Committing", e, v, tv, {entry}, {})
Creating(m, e, v, tv, o) == W(m, "Creating", e, v, tv, {}, {o})
Deleting(m, e, v, after) == W(m, "Deleting", e, v, 0, {}, after)
Clearing(m) == W(m, "Clearing", EmptyEntity, 0, 0, {}, {})

\* A write with a version check, but in NoOwnershipCheck.
Write(k, d, v) == IF Variant = "NoOwnershipCheck" THEN PutUnchecked(k, d) ELSE Put(k, d, v)

\* Clear m's entry from entity e (at version v).
Clear(m, e, v) == Continue(Clearing(m), <<Write(EntityKey, AsDoc(Cleared(e, m)), v)>>)

\* Dispatch entry of m: create the output's token (a fresh one if the entry has none).
CreateToken(ctx, m, e, v, tv, entry) ==
    LET tok == IF entry.token = {} THEN FreshKey(FreshId(ctx, 0)) ELSE The(entry.token)
        o == [input |-> m, position |-> entry.position, token |-> tok]
        r == Continue(Creating(m, e, v, tv, o), <<PutUnchecked(tok, TokenDoc)>>)
    IN IF entry.token = {} THEN Drawing(r, 1) ELSE r

\* Idle: an input is delivered; load the entity.
OnDelivered(event) == Continue(Loading(event.input), <<Get(EntityKey)>>)

\* The entity is loaded: read the input's token.
OnEntity(w, event) ==
    Continue(Checking(w.input, EntityOf(event.doc), event.version), <<Get(w.input)>>)

\* The input's token is read (at version tv): drop a duplicate, commit, or dispatch.
OnToken(ctx, w, event) ==
    LET m == w.input
        e == w.entity
        v == w.version
        tv == event.version
    IN
    IF event.doc.kind = "Deleted"
      THEN IF m \in DOMAIN e.outbox THEN Clear(m, e, v) ELSE Finish(<<Ack(m)>>)
    ELSE IF m \notin DOMAIN e.outbox
      THEN LET regenerate == Variant = "RegenerateTokensOnRetry"
               entry == [position |-> Len(e.ledger) + 1,
                         token |-> IF regenerate THEN {} ELSE {FreshKey(FreshId(ctx, 0))}]
               c == Committed(e, m, entry)
               r == Continue(Committing(m, c, v, tv, entry), <<Write(EntityKey, AsDoc(c), v)>>)
           IN IF regenerate THEN r ELSE Drawing(r, 1)
    ELSE CreateToken(ctx, m, e, v, tv, e.outbox[m])

\* A write is answered.
OnWritten(ctx, w, event) ==
    LET m == w.input IN
    IF event.result = "Ok"
      THEN CASE w.phase = "Committing" ->
                  CreateToken(ctx, m, w.entity, w.version + 1, w.tv, The(w.entry))
             [] w.phase = "Creating" /\ Variant = "DeleteBeforeDispatch" ->
                  Continue(Deleting(m, w.entity, w.version, w.out), <<Write(m, DeletedDoc, w.tv)>>)
             [] w.phase = "Creating" ->
                  Continue(Deleting(m, w.entity, w.version, {}),
                           <<Publish(The(w.out)), Write(m, DeletedDoc, w.tv)>>)
             [] w.phase = "Deleting" ->
                  LET c == Clear(m, w.entity, w.version) IN
                  IF w.out = {} THEN c ELSE [c EXCEPT !.fx = <<Publish(The(w.out))>> \o @]
             [] w.phase = "Clearing" ->
                  Finish(<<Ack(m)>>)
    ELSE IF Variant = "GiveUp"
      THEN Finish(<<>>)   \* dropped: neither acked nor nacked
      ELSE Finish(<<Nack(m)>>)

\* The protocol: the step for the event, chosen by the work's phase.
OnEvent(ctx, work, event) ==
    IF work = {} THEN OnDelivered(event)
    ELSE LET w == The(work) IN
         CASE w.phase = "Loading" -> OnEntity(w, event)
           [] w.phase = "Checking" -> OnToken(ctx, w, event)
           [] OTHER -> OnWritten(ctx, w, event)

-----------------------------------------------------------------------------

TypeOK ==
    /\ WorldTypeOK
    /\ \A h \in Handlers : \A w \in hs[h].work :
         w.input \in Inputs
         /\ w.phase \in {"Loading", "Checking", "Committing", "Creating", "Deleting", "Clearing"}
    /\ \A k \in DOMAIN docs :
         docs[k].doc.kind \in {"Unwritten", "Entity", "Token", "Deleted"}

\* The world's options: the defaults.
Opts == WorldOptions(Unwritten)

Init == WorldInit(Opts)

Next == WorldNext(OnEvent, NoServe, NoChanges, Opts)

Spec == Init /\ [][Next]_vars /\ WF_vars(Next)

-----------------------------------------------------------------------------
(* Properties.                                                             *)

Entity == EntityOf(DocOf(EntityKey, Unwritten))
Ledger == Entity.ledger

\* The input's token is still there (the upstream created it; nobody deleted it).
InputTokenExists(m) == DocOf(m, Unwritten).kind # "Deleted"
\* The keys of the output tokens in the store.
OutputTokens == {k \in DOMAIN docs : docs[k].doc.kind = "Token"}

\* At quiescence, every input has been applied and has an output.
NoLostMessages == ENABLED Next \/ AllAppliedAndSent(Ledger)

\* Downstream processes no logical output twice: the copies of one input's
\* output it received all carry one token.
AtMostOnceProcessing == \A o, p \in Outputs : o.input = p.input => o.token = p.token

\* At quiescence no input token, no outbox entry, and no output token without
\* an output carrying it.
NoGarbage ==
    \/ ENABLED Next
    \/ /\ \A m \in Inputs : ~InputTokenExists(m)
       /\ DOMAIN Entity.outbox = {}
       /\ \A k \in OutputTokens : \E o \in Outputs : o.token = k

\* No more tokens than messages in flight: inputs the broker may still
\* deliver, and outputs committed (one per change in the ledger).
BoundedDedupState ==
    Cardinality({m \in Inputs : InputTokenExists(m)}) + Cardinality(OutputTokens)
        <= Cardinality(InFlight) + Len(Ledger)

(* Reachability ("sometimes") predicates: checked by ~P as an invariant.   *)

\* A handler is loading a copy of an input already committed or whose token is gone.
DuplicateDelivered ==
    \E h \in Handlers : \E w \in hs[h].work :
        w.phase = "Loading" /\ (w.input \in DOMAIN Entity.outbox \/ ~InputTokenExists(w.input))

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
