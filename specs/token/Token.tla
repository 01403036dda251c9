------------------------------- MODULE Token --------------------------------
(***************************************************************************)
(* Token-based deduplication (the "exactly-once" blog, Masternak and       *)
(* Pobiega): a message may be processed only while its token exists, and   *)
(* processing deletes the token, so dedup data is bounded by the messages  *)
(* in flight and needs no clock.  The upstream created the inputs' tokens  *)
(* before sending them.  The handler loads the entity, then the input's    *)
(* token.  No token: a duplicate (it clears a leftover outbox entry of the *)
(* input), ack.  A token and no entry: draw a fresh id for the output's    *)
(* token, register it in the input's token (version check; the blog's      *)
(* register-cleanup), create the output's token (create-only), then commit *)
(* the new state with an outbox entry naming it (version check).  A token  *)
(* and an entry: dispatch with the entry's token, never creating it again; *)
(* delete the tokens other attempts registered, delete the input's token   *)
(* (version check: ownership), clear the entry, ack.  Downstream processes *)
(* a copy only while its token exists and uses the token up in the same    *)
(* step, at the token store (Consume, TokenServe).                         *)
(*                                                                         *)
(* Every document is written atomically on its own, nothing spans two:     *)
(* the entity under key 0 (a ledger as in the handler family, and the      *)
(* outbox), the input tokens under the inputs' keys, the output tokens     *)
(* under keys derived from their ids.  Twin of src/families/token.rs (same *)
(* counts, same verdicts).                                                 *)
(***************************************************************************)
EXTENDS LedgerWorld

CONSTANT Variant

Variants == {"Correct", "RegenerateTokensOnRetry", "RecreateTokenOnRetry",
             "DeleteBeforeDispatch", "NoOwnershipCheck", "GiveUp"}
ASSUME Variant \in Variants

-----------------------------------------------------------------------------
(* Documents: one record shape for every document and request, kind        *)
(* "Unwritten" (never written: the empty entity under key 0, the           *)
(* upstream's token under an input's key, no token under an output token's *)
(* key), "Entity", "Registered" (an input's token with the output tokens   *)
(* attempts registered, regs), "Token" (an output's token), "Deleted",     *)
(* "Used" (an output's token downstream used up processing input's         *)
(* output) or "Consume" (downstream's request).  The outbox maps the ids   *)
(* of inputs with a pending entry to [position, token].                    *)

EntityKey == 0
EmptyOutbox == [m \in {} |-> 0]
EmptyEntity == [ledger |-> <<>>, outbox |-> EmptyOutbox]
MkDoc(kind, e, regs, m) ==
    [kind |-> kind, ledger |-> e.ledger, outbox |-> e.outbox, regs |-> regs, input |-> m]
Unwritten == MkDoc("Unwritten", EmptyEntity, {}, 0)
AsDoc(e) == MkDoc("Entity", e, {}, 0)
RegisteredDoc(r) == MkDoc("Registered", EmptyEntity, r, 0)
TokenDoc == MkDoc("Token", EmptyEntity, {}, 0)
DeletedDoc == MkDoc("Deleted", EmptyEntity, {}, 0)
UsedDoc(m) == MkDoc("Used", EmptyEntity, {}, m)
ConsumeOp(m) == MkDoc("Consume", EmptyEntity, {}, m)
EntityOf(d) == [ledger |-> d.ledger, outbox |-> d.outbox]

Committed(e, m, entry) ==
    [ledger |-> Append(e.ledger, <<m, entry.position>>), outbox |-> e.outbox @@ (m :> entry)]
Cleared(e, m) == [e EXCEPT !.outbox = [x \in DOMAIN e.outbox \ {m} |-> e.outbox[x]]]

Min(S) == CHOOSE k \in S : \A j \in S : k <= j

-----------------------------------------------------------------------------
(* The protocol.  work is {} (idle) or {[input, phase, entity, version,    *)
(* tv, regs, out]}: phase "Loading" (the entity is requested), "Checking"  *)
(* (the input's token is requested; entity read at version), "Registering" *)
(* (out's token is being registered in the input's token, read at tv;     *)
(* regs: all registered after it), "Creating" (out's token is being        *)
(* created), "Committing" (the commit of entity, holding out's entry, is   *)
(* on its way), "Recreating" (a retry creates a token before dispatching   *)
(* out: two broken variants), "Cleaning" (deleting the tokens other        *)
(* attempts registered: regs are those left, the least on its way),        *)
(* "Deleting" (the input's token, at tv; then publish out, if any) and     *)
(* "Clearing".  Fields a phase does not use are EmptyEntity, 0, {} and {}. *)

W0(m, phase) ==
    [input |-> m, phase |-> phase, entity |-> EmptyEntity, version |-> 0, tv |-> 0, regs |-> {}, out |-> {}]

\* Clear the input's entry from the entity (at its version).
Clear(w) ==
    Continue(W0(w.input, "Clearing"), <<Put(EntityKey, AsDoc(Cleared(w.entity, w.input)), w.version)>>)

\* Delete the next token another attempt registered; with none left, delete
\* the input's token (version check: nobody registered one since; none in
\* NoOwnershipCheck).
CleanUp(w) ==
    IF w.regs # {}
      THEN Continue([w EXCEPT !.phase = "Cleaning"], <<PutUnchecked(Min(w.regs), DeletedDoc)>>)
      ELSE Continue([w EXCEPT !.phase = "Deleting"],
                    <<IF Variant = "NoOwnershipCheck" THEN PutUnchecked(w.input, DeletedDoc)
                      ELSE Put(w.input, DeletedDoc, w.tv)>>)

\* Dispatch o (after the input token's delete, in DeleteBeforeDispatch), then clean up.
DispatchOut(w, o) ==
    IF Variant = "DeleteBeforeDispatch"
      THEN CleanUp([w EXCEPT !.out = {o}])
      ELSE LET r == CleanUp([w EXCEPT !.out = {}]) IN [r EXCEPT !.fx = <<Publish(o)>> \o @]

\* Idle: an input is delivered; load the entity.
OnDelivered(event) == Continue(W0(event.input, "Loading"), <<Get(EntityKey)>>)

\* The entity is loaded: read the input's token.
OnEntity(w, event) ==
    Continue([W0(w.input, "Checking") EXCEPT !.entity = EntityOf(event.doc), !.version = event.version],
             <<Get(w.input)>>)

\* The input's token is read (at tv): drop a duplicate, start an attempt, or dispatch.
OnToken(ctx, w, event) ==
    LET m == w.input
        e == w.entity
        regs == event.doc.regs
        wt == [w EXCEPT !.tv = event.version]
    IN
    IF event.doc.kind = "Deleted"
      THEN IF m \in DOMAIN e.outbox THEN Clear(w) ELSE Finish(<<Ack(m)>>)
    ELSE IF m \notin DOMAIN e.outbox
      THEN \* A new attempt: register a fresh token id, then create the token, then commit.
           LET t == FreshKey(FreshId(ctx, 0))
               o == [input |-> m, position |-> Len(e.ledger) + 1, token |-> t]
           IN Drawing(Continue([wt EXCEPT !.phase = "Registering", !.regs = regs \cup {t}, !.out = {o}],
                               <<Put(m, RegisteredDoc(regs \cup {t}), event.version)>>), 1)
    ELSE \* A retry after the commit: dispatch with the committed token.
         LET entry == e.outbox[m]
             losers == regs \ {entry.token}
             o == [input |-> m, position |-> entry.position, token |-> entry.token]
             fresh == [o EXCEPT !.token = FreshKey(FreshId(ctx, 0))]
         IN CASE Variant = "RecreateTokenOnRetry" ->
                   Continue([wt EXCEPT !.phase = "Recreating", !.regs = losers, !.out = {o}],
                            <<PutUnchecked(o.token, TokenDoc)>>)
              [] Variant = "RegenerateTokensOnRetry" ->
                   Drawing(Continue([wt EXCEPT !.phase = "Recreating", !.regs = losers, !.out = {fresh}],
                                    <<Put(fresh.token, TokenDoc, 0)>>), 1)
              [] OTHER -> DispatchOut([wt EXCEPT !.regs = losers], o)

\* A write is answered.
OnWritten(ctx, w, event) ==
    IF event.result = "Ok"
      THEN CASE w.phase = "Registering" ->
                  \* Create-only: the token's key was never written.
                  Continue([w EXCEPT !.phase = "Creating", !.tv = @ + 1], <<Put(The(w.out).token, TokenDoc, 0)>>)
             [] w.phase = "Creating" ->
                  LET o == The(w.out)
                      c == Committed(w.entity, w.input, [position |-> o.position, token |-> o.token])
                  IN Continue([w EXCEPT !.phase = "Committing", !.entity = c], <<Put(EntityKey, AsDoc(c), w.version)>>)
             [] w.phase = "Committing" ->
                  DispatchOut([w EXCEPT !.version = @ + 1, !.regs = @ \ {The(w.out).token}], The(w.out))
             [] w.phase = "Recreating" ->
                  DispatchOut(w, The(w.out))
             [] w.phase = "Cleaning" ->
                  CleanUp([w EXCEPT !.regs = @ \ {Min(@)}])
             [] w.phase = "Deleting" ->
                  LET c == Clear(w) IN
                  IF w.out = {} THEN c ELSE [c EXCEPT !.fx = <<Publish(The(w.out))>> \o @]
             [] w.phase = "Clearing" ->
                  Finish(<<Ack(w.input)>>)
    ELSE IF Variant = "GiveUp"
      THEN Finish(<<>>)   \* dropped: neither acked nor nacked
      ELSE Finish(<<Nack(w.input)>>)

\* The protocol: the step for the event, chosen by the work's phase.
OnEvent(ctx, work, event) ==
    IF work = {} THEN OnDelivered(event)
    ELSE LET w == The(work) IN
         CASE w.phase = "Loading" -> OnEntity(w, event)
           [] w.phase = "Checking" -> OnToken(ctx, w, event)
           [] OTHER -> OnWritten(ctx, w, event)

\* Downstream's step on a copy, one atomic step of the token store: if the
\* output's token exists, process the copy and use the token up; else drop it.
TokenServe(k, d, op) ==
    [write |-> IF d.kind = "Token" /\ op.kind = "Consume" THEN {UsedDoc(op.input)} ELSE {},
     response |-> d, publish |-> <<>>, later |-> {}]

\* Downstream asks the token store to process the copy under its token.
Consume(o) == {[key |-> o.token, op |-> ConsumeOp(o.input)]}

\* Downstream's processings, for the store's history: a token used up counts
\* one for its input (CountApplied).
TokenChanges(k, d) == IF d.kind = "Used" THEN <<d.input>> ELSE <<>>

-----------------------------------------------------------------------------

TypeOK ==
    /\ WorldTypeOK
    /\ \A h \in Handlers : \A w \in hs[h].work :
         w.input \in Inputs
         /\ w.phase \in {"Loading", "Checking", "Registering", "Creating", "Committing", "Recreating",
                         "Cleaning", "Deleting", "Clearing"}
    /\ \A k \in DOMAIN docs :
         docs[k].doc.kind \in {"Unwritten", "Entity", "Registered", "Token", "Deleted", "Used"}

\* The world's options: the defaults.
Opts == WorldOptions(Unwritten)

Init == WorldInit(Opts)

Next == WorldNextConsuming(OnEvent, TokenServe, TokenChanges, Consume, Opts)

Spec == Init /\ [][Next]_vars /\ WF_vars(Next)

-----------------------------------------------------------------------------
(* Properties.                                                             *)

Entity == EntityOf(DocOf(EntityKey, Unwritten))
Ledger == Entity.ledger

\* The input's token is still there (the upstream created it; nobody deleted it).
InputTokenExists(m) == DocOf(m, Unwritten).kind # "Deleted"
LiveInputTokens == {m \in Inputs : InputTokenExists(m)}
\* The keys of the output tokens in the store.
OutputTokens == {k \in DOMAIN docs : docs[k].doc.kind = "Token"}

\* At quiescence, every input has been applied and has an output.
NoLostMessages == ENABLED Next \/ AllAppliedAndSent(Ledger)

\* Over the run, downstream processed each logical output at most once (each
\* input's output token was used up at most once: the store's history).
AtMostOnceProcessing == AppliedAtMostOnce

\* At quiescence no input token, no outbox entry, no output token.
NoGarbage ==
    \/ ENABLED Next
    \/ /\ LiveInputTokens = {}
       /\ DOMAIN Entity.outbox = {}
       /\ OutputTokens = {}

\* Output token k belongs to a message in flight: a pending outbox entry names
\* it, or a copy carrying it is on its way downstream or being processed there.
OutputInFlight(k) ==
    \/ \E m \in DOMAIN Entity.outbox : Entity.outbox[m].token = k
    \/ \E e \in DOMAIN net :
         \/ e.msg.type = "Output" /\ e.msg.out.token = k
         \/ e.msg.type = "Later" /\ e.msg.key = k /\ e.msg.op.kind = "Consume"

\* Every token belongs to a message in flight: an input's token to an input
\* the broker may still deliver; an output's token to an output in flight, or
\* it is registered in the token of an input in flight (an attempt's, to be
\* cleaned up).
BoundedDedupState ==
    /\ Cardinality(LiveInputTokens) <= Cardinality(InFlight)
    /\ \A k \in OutputTokens :
         OutputInFlight(k) \/ \E m \in LiveInputTokens : k \in DocOf(m, Unwritten).regs

(* Reachability ("sometimes") predicates: checked by ~P as an invariant.   *)

\* A handler is loading a copy of an input already committed or whose token is gone.
DuplicateDelivered ==
    \E h \in Handlers : \E w \in hs[h].work :
        w.phase = "Loading" /\ (w.input \in DOMAIN Entity.outbox \/ ~InputTokenExists(w.input))

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
