---------------------------- MODULE OutboxRelay ----------------------------
(***************************************************************************)
(* The outbox as most teams build it: the handler commits the business     *)
(* state and an outbox row holding the output in one document write (with *)
(* a version check) and acks; it never publishes.  A relay, a process of   *)
(* its own, polls the outbox: it takes the oldest row not yet sent,        *)
(* publishes its output and marks the row sent, and polls again until no   *)
(* row is left; a failed write makes it poll again.  The mark is a         *)
(* row-level update: a call the store serves on its current document (see *)
(* Serve), with no version check, so it never conflicts with a commit of   *)
(* another row.  Variants: MarkBeforePublish marks first; CompetingRelays  *)
(* runs two relays that claim a row (a version-checked write of the        *)
(* relay's name, as SELECT ... FOR UPDATE SKIP LOCKED does) before         *)
(* publishing it; DualWrite has the handler publish before its commit (no *)
(* outbox);                                                                *)
(* GiveUp has the relay drop its poll after a failed write.                *)
(*                                                                         *)
(* The relays' polls are jobs of the shared World's broker that only the   *)
(* relays take: Polls polls per relay at any time, and one final sweep per *)
(* relay, offered once every input has been processed (standing for the   *)
(* polls that never stop).  One entity, its ledger of changes in commit    *)
(* order, so that the order of its outputs can be checked.  Twin of        *)
(* src/families/outbox_relay.rs (same counts, same verdicts).              *)
(***************************************************************************)
EXTENDS LedgerWorld

CONSTANTS
    Variant,
    Relays,   \* the handlers that are relays (a subset of Handlers)
    Polls     \* polls per relay that may run at any time, before its final sweep

Variants == {"SingleRelay", "MarkBeforePublish", "CompetingRelays", "DualWrite", "GiveUp"}
ASSUME Variant \in Variants /\ Relays \subseteq Handlers /\ Polls \in Nat

\* The jobs, numbered above the inputs: a poll, and the final sweep, which
\* the broker offers only once every input has been processed.
Poll == Msgs + 1
Sweep == Msgs + 2
JobCopies ==
    IF Polls = 0 THEN Sweep :> Cardinality(Relays)
    ELSE (Poll :> Polls * Cardinality(Relays)) @@ (Sweep :> Cardinality(Relays))
SweepAfterInputs == {<<m, Sweep>> : m \in Inputs}

\* The one document, under key 0: the ledger of changes, each <<m, p>>, and
\* the outbox, a function from processed inputs to their rows [out, sent,
\* claim], claim being {} or {the relay that claimed it}.  Rows stay.
Key == 0
EmptyEntity == [ledger |-> <<>>, outbox |-> [m \in {} |-> {}]]
Entity == DocOf(Key, EmptyEntity)

Output(m, p) == [input |-> m, position |-> p]

\* The change of m committed with its row (already marked sent, if sent).
Committed(e, m, o, sent) ==
    [ledger |-> Append(e.ledger, <<m, o.position>>),
     outbox |-> e.outbox @@ (m :> [out |-> o, sent |-> sent, claim |-> {}])]

Marked(e, m) == [e EXCEPT !.outbox[m].sent = TRUE]

\* The request of a row-level mark of output o's row, written as a document:
\* only that row, marked sent.  The store serves it on its current document.
MarkRequest(o) == [ledger |-> <<>>, outbox |-> (o.input :> [out |-> o, sent |-> TRUE, claim |-> {}])]
MarkRow(o) == Call(Key, MarkRequest(o))
Serve(k, d, op) ==
    LET marked == Marked(d, CHOOSE m \in DOMAIN op.outbox : TRUE)
    IN [write |-> {marked}, response |-> marked, publish |-> <<>>, later |-> {}]
Claimed(e, m, h) == [e EXCEPT !.outbox[m].claim = {h}]

\* The rows relay h may take: not sent, and not claimed by another relay.
Open(e, h) == {m \in DOMAIN e.outbox : ~e.outbox[m].sent /\ e.outbox[m].claim \subseteq {h}}
\* The oldest of them, in commit order.
Oldest(e, h) ==
    CHOOSE m \in Open(e, h) : \A n \in Open(e, h) : e.outbox[m].out.position <= e.outbox[n].out.position

-----------------------------------------------------------------------------
(* The protocol.  work is {} (idle) or {[input, phase, out]}: input is an *)
(* input or, for a relay, the job it runs; phase "Loading", "Committing"   *)
(* (the handler's commit), "Claiming" (a relay's claim of out's row),      *)
(* "Marking" (out published, its mark on its way), "MarkThenPublish" (the  *)
(* mark on its way, then publish out).  out is {} or {the output}.         *)

W(m, phase, o) == [input |-> m, phase |-> phase, out |-> o]
Loading(m) == W(m, "Loading", {})

\* Poll again: read the outbox.
PollAgain(j) == Continue(Loading(j), <<Get(Key)>>)

\* Idle: an input (or a relay's job) is delivered; load the entity.
OnDelivered(event) == Continue(Loading(event.input), <<Get(Key)>>)

\* The handler has loaded the entity: ack a known input, else commit.
OnInputLoaded(w, event) ==
    LET m == w.input
        e == event.doc
        o == Output(m, Len(e.ledger) + 1)
    IN
    IF m \in DOMAIN e.outbox THEN Finish(<<Ack(m)>>)
    ELSE IF Variant = "DualWrite"
      THEN Continue(W(m, "Committing", {}), <<Publish(o), Put(Key, Committed(e, m, o, TRUE), event.version)>>)
      ELSE Continue(W(m, "Committing", {}), <<Put(Key, Committed(e, m, o, FALSE), event.version)>>)

\* The handler's commit is answered.
OnCommitted(w, event) ==
    IF event.result = "Ok" THEN Finish(<<Ack(w.input)>>) ELSE Finish(<<Nack(w.input)>>)

\* Relay h has read the outbox: take the oldest open row, or ack the job.
OnPolled(h, w, event) ==
    LET j == w.input
        e == event.doc
        v == event.version
    IN
    IF Open(e, h) = {} THEN Finish(<<Ack(j)>>)
    ELSE LET m == Oldest(e, h)
             o == e.outbox[m].out
         IN CASE Variant = "CompetingRelays" /\ e.outbox[m].claim = {} ->
                   Continue(W(j, "Claiming", {o}), <<Put(Key, Claimed(e, m, h), v)>>)
              [] Variant = "MarkBeforePublish" ->
                   Continue(W(j, "MarkThenPublish", {o}), <<MarkRow(o)>>)
              [] OTHER ->
                   Continue(W(j, "Marking", {o}), <<Publish(o), MarkRow(o)>>)

\* A relay's write (a claim) or mark is answered; a failed or conflicting
\* one makes it poll again.  A mark's answer is the document after it
\* (Loaded), or Failed if it timed out.
OnRelayWritten(w, event) ==
    LET j == w.input IN
    IF event.type = "Loaded" \/ event.result = "Ok"
      THEN CASE w.phase = "Claiming" ->
                  LET o == The(w.out) IN
                  Continue(W(j, "Marking", {o}), <<Publish(o), MarkRow(o)>>)
             [] w.phase = "MarkThenPublish" ->
                  Continue(Loading(j), <<Publish(The(w.out)), Get(Key)>>)
             [] OTHER -> PollAgain(j)
    ELSE IF Variant = "GiveUp"
      THEN Finish(<<>>)   \* the poll is dropped: neither acked nor nacked
      ELSE PollAgain(j)

\* The protocol: the step for the event, chosen by the work's phase.
OnEvent(ctx, work, event) ==
    IF work = {} THEN OnDelivered(event)
    ELSE LET w == The(work) IN
         IF w.input \in Inputs
           THEN IF w.phase = "Loading" THEN OnInputLoaded(w, event) ELSE OnCommitted(w, event)
           ELSE IF w.phase = "Loading" THEN OnPolled(ctx.handler, w, event) ELSE OnRelayWritten(w, event)

-----------------------------------------------------------------------------

\* The world's options: the relays run the jobs, and the sweeps come last.
Opts == [WorldOptions(EmptyEntity) EXCEPT
            !.causal = SweepAfterInputs, !.relays = Relays, !.jobs = JobCopies]

Init == WorldInit(Opts)

Next == WorldNext(OnEvent, Serve, NoChanges, Opts)

Spec == Init /\ [][Next]_vars /\ WF_vars(Next)

-----------------------------------------------------------------------------
(* Properties.                                                             *)

Ledger == Entity.ledger
Rows == Entity.outbox

\* No output is visible for an input whose change is not in the business state.
NoGhostMessages == NoGhostIn(Ledger)

\* At quiescence, every input has been applied and has an output.
NoLostMessages == ENABLED Next \/ AllAppliedAndSent(Ledger)

\* At quiescence, the state and the distinct outputs are those of processing each input once.
ExactlyOnceOutcome == ENABLED Next \/ ExactlyOnceIn(Ledger)

\* Downstream receives no output twice.
AtMostOnceDelivery == \A o \in Outputs : received[o] = 1

\* If a later row's output has been published (on its way downstream or
\* received), so has every earlier row's: first publications in commit order.
PerEntityOrder ==
    \A b \in DOMAIN Rows : OutputSent(b) =>
        \A a \in DOMAIN Rows : Rows[a].out.position < Rows[b].out.position => OutputSent(a)

(* Reachability ("sometimes") predicates: checked by ~P as an invariant.   *)

\* A relay is down between publishing a row and marking it sent (or, marking
\* first, between the mark and the publication).
CrashBetweenPublishAndMark ==
    \E h \in Handlers : \E w \in hs[h].work :
        /\ crashed[h]
        /\ \/ w.phase = "Marking" /\ The(w.out).input \in DOMAIN Rows /\ ~Rows[The(w.out).input].sent
           \/ /\ w.phase = "MarkThenPublish"
              /\ The(w.out).input \in DOMAIN Rows /\ Rows[The(w.out).input].sent
              /\ ~OutputSent(The(w.out).input)

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
