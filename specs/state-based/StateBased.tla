----------------------------- MODULE StateBased -----------------------------
(***************************************************************************)
(* State-based consistent messaging (the "exactly-once" blog, Pobiega and  *)
(* Masternak): every version of the entity is kept, tagged with the id of  *)
(* the input that produced it.  A new input runs the handler on the newest *)
(* version, stores the next version with a version check, then publishes.  *)
(* A copy whose id tags a version is a duplicate: the handler reloads the  *)
(* version just before the one that input produced, runs again (it is     *)
(* deterministic, so it computes the same output), skips the store and    *)
(* publishes.                                                              *)
(*                                                                         *)
(* The document is the version history, a ledger: entry i is version i,    *)
(* <<m, i>>, tagged with its input m; the business state of a version is   *)
(* its number, and the output of m reports the version its change          *)
(* produced.  Broker, store, downstream and failures are the shared World  *)
(* (with the ledger conditions of LedgerWorld).  Twin of                   *)
(* src/families/state_based.rs (same counts, same verdicts).               *)
(***************************************************************************)
EXTENDS LedgerWorld

CONSTANT Variant

Variants == {"Correct", "NondeterministicHandler", "PublishBeforeStore",
             "NoDuplicateCheck", "RerunOnNewest", "GiveUp"}
ASSUME Variant \in Variants

\* The one document, under key 0: the version history.
Key == 0
EmptyHistory == <<>>
History == DocOf(Key, EmptyHistory)

\* The versions before m's first change (m has one in history h).
VersionBefore(h, m) == SubSeq(h, 1, StoredAt(h, m) - 1)

\* An output: the version its input's change produced, and the message's id:
\* {} when it is derived from the input's id, else {a fresh random id}.
Output(m, p, id) == [input |-> m, position |-> p, id |-> id]

\* The business logic on the state of version history s: the output of m.
Handle(ctx, s, m) ==
    Output(m, Len(s) + 1, IF Variant = "NondeterministicHandler" THEN {FreshId(ctx, 0)} ELSE {})

\* A step that ran the business logic (it draws a fresh id when nondeterministic).
Ran(r) == IF Variant = "NondeterministicHandler" THEN Drawing(r, 1) ELSE r

-----------------------------------------------------------------------------
(* The protocol.  work is {} (idle) or {[input, phase, out]}: phase        *)
(* "Loading" (out = {}) or "Storing" (out = {the output of the version     *)
(* being stored}).                                                         *)

Loading(m) == [input |-> m, phase |-> "Loading", out |-> {}]
Storing(m, o) == [input |-> m, phase |-> "Storing", out |-> {o}]

\* Idle: an input is delivered; load the history.
OnDelivered(event) == Continue(Loading(event.input), <<Get(Key)>>)

\* The history is loaded: replay a duplicate, or store the next version.
OnLoaded(ctx, w, event) ==
    LET m == w.input
        h == event.doc
    IN
    IF StoredAt(h, m) # 0 /\ Variant # "NoDuplicateCheck"
      THEN \* A duplicate: the output it had, from the state it saw; no store.
           \* (RerunOnNewest: from the newest version instead.)
           LET o == Handle(ctx, IF Variant = "RerunOnNewest" THEN h ELSE VersionBefore(h, m), m)
           IN Ran(Finish(<<Publish(o), Ack(m)>>))
      ELSE LET o == Handle(ctx, h, m)
               store == Put(Key, Append(h, <<m, o.position>>), event.version)
           IN Ran(IF Variant = "PublishBeforeStore"
                    THEN Continue(Storing(m, o), <<Publish(o), store>>)
                    ELSE Continue(Storing(m, o), <<store>>))

\* The store write is answered.
OnWritten(w, event) ==
    LET m == w.input IN
    IF event.result = "Ok"
      THEN IF Variant = "PublishBeforeStore"
             THEN Finish(<<Ack(m)>>)
             ELSE Finish(<<Publish(The(w.out)), Ack(m)>>)
    ELSE IF Variant = "GiveUp"
      THEN Finish(<<>>)   \* dropped: neither acked nor nacked
      ELSE Finish(<<Nack(m)>>)

\* The protocol: the step for the event, chosen by the work's phase.
OnEvent(ctx, work, event) ==
    IF work = {} THEN OnDelivered(event)
    ELSE IF The(work).phase = "Loading" THEN OnLoaded(ctx, The(work), event)
    ELSE OnWritten(The(work), event)

-----------------------------------------------------------------------------

TypeOK ==
    /\ WorldTypeOK
    /\ \A h \in Handlers : \A w \in hs[h].work :
         w.input \in Inputs /\ w.phase \in {"Loading", "Storing"}
    /\ \A o \in DOMAIN received : o.input \in Inputs

\* The world's options: the defaults, with the empty history.
Opts == WorldOptions(EmptyHistory)

Init == WorldInit(Opts)

\* The inputs whose changes the business state holds, one entry per change:
\* the world counts how often a write added each (CountApplied).
ChangesOf(k, d) == IF k = Key THEN ChangesIn(d) ELSE <<>>

Next == WorldNext(OnEvent, NoServe, ChangesOf, Opts)

Spec == Init /\ [][Next]_vars /\ WF_vars(Next)

-----------------------------------------------------------------------------
(* Properties.                                                             *)

\* No output is visible for an input whose version was never stored.
NoGhostMessages == NoGhostIn(History)

\* At quiescence, every input has a version and an output.
NoLostMessages == ENABLED Next \/ AllAppliedAndSent(History)

\* Over the run, a write added each input's change at most once (the world's
\* history, CountApplied: a change lost and applied again counts twice).
AtMostOnceStateChange == AppliedAtMostOnce

\* All output copies of one input are identical and report the version it produced.
ConsistentOutput == ConsistentWith(History)

\* At quiescence, the history and the distinct outputs are those of processing each input once.
ExactlyOnceOutcome == ENABLED Next \/ ExactlyOnceIn(History)

(* Reachability ("sometimes") predicates: checked by ~P as an invariant.   *)

\* A handler is loading a copy of an input that already produced a version.
DuplicateDelivered ==
    \E h \in Handlers : \E w \in hs[h].work :
        w.phase = "Loading" /\ StoredAt(History, w.input) # 0

\* A duplicate is loading after a later input changed the entity: its re-run
\* needs the past version.
DuplicateAfterLaterChange ==
    \E h \in Handlers : \E w \in hs[h].work :
        /\ w.phase = "Loading"
        /\ StoredAt(History, w.input) # 0
        /\ StoredAt(History, w.input) < Len(History)

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
