---------------------------- MODULE IdempotentSet ----------------------------
(***************************************************************************)
(* Natural idempotency, from the "exactly-once" workshop (Pobiega and     *)
(* Masternak): an order holds a set of items, and AddItem and RemoveItem   *)
(* are idempotent one message at a time, so a handler takes "nothing to    *)
(* change" for "duplicate".  That holds when the broker delivers in order, *)
(* and fails under reordering: add, remove, then a late duplicate of the   *)
(* add puts the item back.  Deduplicating by message id fixes it.          *)
(*                                                                         *)
(* Odd input m is AddItem of item (m+1) \div 2, even m is RemoveItem of    *)
(* item m \div 2.  A client sends RemoveItem only once its AddItem has     *)
(* been processed: the broker holds it back until a copy of the add has   *)
(* been acked (the World's causal order).  The order document keeps, for  *)
(* the properties only, the inputs whose writes committed.  The broker,    *)
(* store, downstream and failures are the shared World.  Twin of the       *)
(* Stateright model src/families/idempotent_set.rs (same counts).          *)
(***************************************************************************)
EXTENDS World

CONSTANT Variant

Variants == {"UnorderedWithIds", "Ordered", "Unordered", "PublishBeforeStore", "GiveUp"}
ASSUME Variant \in Variants

\* The one document: the order, under key 0 of the store.  items is the
\* business state; processed the message ids seen (kept only when deduplicating
\* by id); applied the inputs whose writes committed, in commit order (read by
\* the properties, never by a handler).
Key == 0
EmptyOrder == [items |-> {}, processed |-> {}, applied |-> <<>>]
Order == DocOf(Key, EmptyOrder)

IsAdd(m) == m % 2 = 1
ItemOf(m) == (m + 1) \div 2

\* The business logic: input m applied to a set of items.
Apply(items, m) == IF IsAdd(m) THEN items \cup {ItemOf(m)} ELSE items \ {ItemOf(m)}

\* The event the order publishes for input m.
Output(m) == [type |-> IF IsAdd(m) THEN "ItemAdded" ELSE "ItemRemoved", item |-> ItemOf(m)]

\* A client sends its RemoveItem only once its AddItem has been processed.
Causal == {<<m, m + 1>> : m \in {n \in Inputs : IsAdd(n) /\ n + 1 \in Inputs}}

DedupById == Variant \notin {"Ordered", "Unordered"}

-----------------------------------------------------------------------------
(* The protocol.  work is {} (idle) or {[input, phase]}, phase "Loading"   *)
(* or "Writing".                                                           *)

\* Idle: an input is delivered; read the order.
OnDelivered(event) == Continue([input |-> event.input, phase |-> "Loading"], <<Get(Key)>>)

\* The order is loaded: a duplicate publishes its event again and is acked;
\* otherwise the change is written.
OnLoaded(w, event) ==
    LET m == w.input
        d == event.doc
        items == Apply(d.items, m)
        duplicate == IF DedupById THEN m \in d.processed ELSE items = d.items
        next == [items |-> items,
                 processed |-> IF DedupById THEN d.processed \cup {m} ELSE d.processed,
                 applied |-> Append(d.applied, m)]
        writing == [w EXCEPT !.phase = "Writing"]
    IN
    IF duplicate THEN Finish(<<Publish(Output(m)), Ack(m)>>)
    ELSE IF Variant = "PublishBeforeStore"
      THEN Continue(writing, <<Publish(Output(m)), Put(Key, next, event.version)>>)
      ELSE Continue(writing, <<Put(Key, next, event.version)>>)

\* The write is answered: publish and ack, or give the input back.
OnWritten(w, event) ==
    LET m == w.input IN
    IF event.result = "Ok"
      THEN IF Variant = "PublishBeforeStore"
             THEN Finish(<<Ack(m)>>)
             ELSE Finish(<<Publish(Output(m)), Ack(m)>>)
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
    /\ Order.items \subseteq 1..Msgs /\ Order.processed \subseteq Inputs

\* The world's options: in order in Ordered, and each remove sent after its add.
Opts == [WorldOptions(EmptyOrder) EXCEPT !.ordered = (Variant = "Ordered"), !.causal = Causal]

Init == WorldInit(Opts)

\* The inputs whose changes the business state holds, one entry per change:
\* the world counts how often a write added each (CountApplied).
ChangesOf(k, d) == IF k = Key THEN d.applied ELSE <<>>

Next == WorldNext(OnEvent, NoServe, ChangesOf, Opts)

Spec == Init /\ [][Next]_vars /\ WF_vars(Next)

-----------------------------------------------------------------------------
(* Properties.                                                             *)

Outputs == DOMAIN received
Applied == Order.applied
Committed(m) == \E i \in 1..Len(Applied) : Applied[i] = m

\* No event is visible for an input whose change was never committed.
NoGhostMessages == \A m \in Inputs : Output(m) \in Outputs => Committed(m)

\* At quiescence, every input has been applied and its event published.
NoLostMessages == ENABLED Next \/ \A m \in Inputs : Committed(m) /\ Output(m) \in Outputs

\* Over the run, a write added each input's change at most once (the world's
\* history, CountApplied: a change lost and applied again counts twice).
AtMostOnceStateChange == AppliedAtMostOnce

RECURSIVE ApplyAll(_, _)
ApplyAll(items, run) == IF run = <<>> THEN items ELSE ApplyAll(Apply(items, Head(run)), Tail(run))

\* At quiescence, the items and the distinct events are those of processing
\* each input once, in an order the client could cause (each add before its remove).
ExactlyOnceOutcome ==
    ENABLED Next \/
    \E run \in ExactlyOnceOrders(Causal) :
        /\ ApplyAll({}, run) = Order.items
        /\ {Output(run[i]) : i \in 1..Msgs} = Outputs

(* Reachability ("sometimes") predicates: checked by ~P as an invariant.   *)

\* A handler is loading a copy of an input whose change is already committed.
DuplicateDelivered ==
    \E h \in Handlers : \E w \in hs[h].work : w.phase = "Loading" /\ Committed(w.input)

\* A handler holds a copy of an AddItem whose RemoveItem is already committed.
LateDuplicate ==
    \E h \in Handlers : \E w \in hs[h].work : IsAdd(w.input) /\ Committed(w.input + 1)

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
