------------------------------ MODULE MessageId ------------------------------
(***************************************************************************)
(* Identity-based deduplication (the "exactly-once" workshop and the blog  *)
(* post "Consistent messaging", Pobiega and Masternak): the handler keeps  *)
(* the ids of the messages it has processed in the same document as the   *)
(* business state, written in the same atomic write.  A message whose id   *)
(* is there is a duplicate: its state change is skipped, and its output is *)
(* published again under an id derived from the input's id, so that       *)
(* downstream can deduplicate the copies in turn.                          *)
(*                                                                         *)
(* The business is the moving target: odd input m is FireAt (shot m, aimed *)
(* at position 0, where the target starts), even m is MoveTarget (the      *)
(* target moves to position m).  A shot's result, Hit or Missed, is        *)
(* published; a move publishes nothing.  The range's document logs what    *)
(* happened in commit order.  The broker, store, downstream and failures   *)
(* are the shared World.  Twin of the Stateright model                     *)
(* src/families/message_id.rs (same counts, same verdicts).                *)
(***************************************************************************)
EXTENDS World

CONSTANT Variant

Variants == {"DeterministicIds", "RandomIds", "RecomputeOnDuplicate",
             "PublishBeforeStore", "SeparateIdWrite", "GiveUp"}
ASSUME Variant \in Variants

\* The one document: the range, under key 0 of the store.  log is the business
\* state, a sequence of [input, outcome]; processed the ids of the messages seen.
Key == 0
EmptyRange == [log |-> <<>>, processed |-> {}]
Range == DocOf(Key, EmptyRange)

IsShot(m) == m % 2 = 1
\* Where every shot is aimed: the target's starting position.
Aim == 0

Entry(m, outcome) == [input |-> m, outcome |-> outcome]

\* Where the target stands after log l: where the last move put it.
Target(l) ==
    IF \E i \in 1..Len(l) : l[i].outcome = "Moved"
      THEN l[CHOOSE i \in 1..Len(l) :
               l[i].outcome = "Moved" /\ \A j \in i + 1..Len(l) : l[j].outcome # "Moved"].input
      ELSE Aim

\* The business logic: what input m does to a range with log l.
OutcomeOf(l, m) ==
    IF ~IsShot(m) THEN "Moved" ELSE IF Target(l) = Aim THEN "Hit" ELSE "Missed"

\* The outcome of input m as first recorded in log l (m must be there).
Recorded(l, m) ==
    l[CHOOSE i \in 1..Len(l) : l[i].input = m /\ \A j \in 1..i - 1 : l[j].input # m].outcome

\* Output ids: derived from the input's id (IdOf, World.tla), or fresh for the attempt.
ResultId(ctx, m) == IF Variant = "RandomIds" THEN FreshId(ctx, 0) ELSE IdOf(m)

\* The effects publishing the result of input m with outcome o (none for a move).
PublishResult(ctx, m, o) ==
    IF IsShot(m) THEN <<Publish([id |-> ResultId(ctx, m), shot |-> m, hit |-> o = "Hit"])>>
    ELSE <<>>

\* Step result r, which published the result of m: it drew a fresh id if random.
WithIds(r, m) == IF IsShot(m) /\ Variant = "RandomIds" THEN Drawing(r, 1) ELSE r

-----------------------------------------------------------------------------
(* The protocol.  work is {} (idle) or {[input, phase, outcome]}, phase    *)
(* "Loading", "Writing", and for SeparateIdWrite "Reloading" and          *)
(* "Marking"; outcome is "None" while loading.                             *)

\* Idle: an input is delivered; read the range.
OnDelivered(event) ==
    Continue([input |-> event.input, phase |-> "Loading", outcome |-> "None"], <<Get(Key)>>)

\* The range is loaded: a duplicate publishes its result again and is acked;
\* otherwise the change is written, with the id (but for SeparateIdWrite).
OnLoaded(ctx, w, event) ==
    LET m == w.input
        d == event.doc
    IN
    IF m \in d.processed
      THEN LET o == IF Variant = "RecomputeOnDuplicate"
                      THEN OutcomeOf(d.log, m)   \* against the current target
                      ELSE Recorded(d.log, m)
           IN WithIds(Finish(PublishResult(ctx, m, o) \o <<Ack(m)>>), m)
      ELSE LET o == OutcomeOf(d.log, m)
               next == [log |-> Append(d.log, Entry(m, o)),
                        processed |-> IF Variant = "SeparateIdWrite" THEN d.processed
                                      ELSE d.processed \cup {m}]
               writing == [w EXCEPT !.phase = "Writing", !.outcome = o]
           IN IF Variant = "PublishBeforeStore"
                THEN Continue(writing, PublishResult(ctx, m, o) \o <<Put(Key, next, event.version)>>)
                ELSE Continue(writing, <<Put(Key, next, event.version)>>)

\* SeparateIdWrite: the range is read again; write the id.
OnReloaded(w, event) ==
    Continue([w EXCEPT !.phase = "Marking"],
             <<Put(Key, [event.doc EXCEPT !.processed = @ \cup {w.input}], event.version)>>)

\* A write is answered: publish and ack, or give the input back.
OnWritten(ctx, w, event) ==
    LET m == w.input IN
    IF event.result = "Ok" /\ w.phase = "Writing" /\ Variant = "SeparateIdWrite"
      THEN Continue([w EXCEPT !.phase = "Reloading"], <<Get(Key)>>)
    ELSE IF event.result = "Ok"
      THEN IF Variant = "PublishBeforeStore"
             THEN Finish(<<Ack(m)>>)
             ELSE WithIds(Finish(PublishResult(ctx, m, w.outcome) \o <<Ack(m)>>), m)
    ELSE IF Variant = "GiveUp"
      THEN Finish(<<>>)   \* dropped: neither acked nor nacked
      ELSE Finish(<<Nack(m)>>)

\* The protocol: the step for the event, chosen by the work's phase.
OnEvent(ctx, work, event) ==
    IF work = {} THEN OnDelivered(event)
    ELSE CASE The(work).phase = "Loading" -> OnLoaded(ctx, The(work), event)
           [] The(work).phase = "Reloading" -> OnReloaded(The(work), event)
           [] OTHER -> OnWritten(ctx, The(work), event)

-----------------------------------------------------------------------------

TypeOK ==
    /\ WorldTypeOK
    /\ \A h \in Handlers : \A w \in hs[h].work :
         /\ w.input \in Inputs
         /\ w.phase \in {"Loading", "Writing", "Reloading", "Marking"}
         /\ w.outcome \in {"None", "Hit", "Missed", "Moved"}
    /\ Range.processed \subseteq Inputs

\* The world's options: the defaults, with the empty range.
Opts == WorldOptions(EmptyRange)

Init == WorldInit(Opts)

\* The inputs whose changes the business state holds, one entry per change:
\* the world counts how often a write added each (CountApplied).
ChangesOf(k, d) == IF k = Key THEN [i \in 1..Len(d.log) |-> d.log[i].input] ELSE <<>>

Next == WorldNext(OnEvent, NoServe, ChangesOf, Opts)

Spec == Init /\ [][Next]_vars /\ WF_vars(Next)

-----------------------------------------------------------------------------
(* Properties.                                                             *)

Outputs == DOMAIN received
Log == Range.log
Committed(m) == \E i \in 1..Len(Log) : Log[i].input = m

\* No result is visible for a shot whose change was never committed.
NoGhostMessages == \A o \in Outputs : Committed(o.shot)

\* At quiescence, every input has been applied, and every shot has a result published.
NoLostMessages ==
    ENABLED Next \/
    \A m \in Inputs : Committed(m) /\ (IsShot(m) => \E o \in Outputs : o.shot = m)

\* Over the run, a write added each input's change at most once (the world's
\* history, CountApplied: a change lost and applied again counts twice).
AtMostOnceStateChange == AppliedAtMostOnce

\* All copies of a shot's result are identical (same id, same result) and agree with the log.
ConsistentOutput ==
    \A o \in Outputs :
        /\ \A q \in Outputs : q.shot = o.shot => q = o
        /\ \A i \in 1..Len(Log) : Log[i].input = o.shot => (Log[i].outcome = "Hit") = o.hit

RECURSIVE RunLog(_, _)
\* The log of processing the inputs of run one after the other, from log l.
RunLog(l, run) ==
    IF run = <<>> THEN l
    ELSE RunLog(Append(l, Entry(Head(run), OutcomeOf(l, Head(run)))), Tail(run))

\* At quiescence, the log and the distinct results are those of processing each
\* input once in some order: one result per shot (under any id), the one that
\* order gives.
ExactlyOnceOutcome ==
    ENABLED Next \/
    \E run \in ExactlyOnceOrders({}) :
        LET l == RunLog(<<>>, run)
            results == {[shot |-> l[i].input, hit |-> l[i].outcome = "Hit"] :
                          i \in {j \in 1..Len(l) : IsShot(l[j].input)}}
        IN /\ l = Log
           /\ Cardinality(Outputs) = Cardinality(results)
           /\ {[shot |-> o.shot, hit |-> o.hit] : o \in Outputs} = results

(* Reachability ("sometimes") predicates: checked by ~P as an invariant.   *)

\* A handler is loading a copy of an input whose change is already committed.
DuplicateDelivered ==
    \E h \in Handlers : \E w \in hs[h].work : w.phase = "Loading" /\ Committed(w.input)

\* A handler holds a copy of a shot already committed, and the target has moved since.
MovingTarget ==
    \E h \in Handlers : \E w \in hs[h].work :
        /\ IsShot(w.input)
        /\ \E i, j \in 1..Len(Log) : i < j /\ Log[i].input = w.input /\ Log[j].outcome = "Moved"

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
