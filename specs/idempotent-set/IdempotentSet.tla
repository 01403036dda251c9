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
\* business state; processed maps the message ids seen to the version their
\* change committed at (kept only when deduplicating by id); applied the inputs
\* whose writes committed, in commit order (read by the properties, never by a
\* handler).
Key == 0
EmptyOrder == [items |-> {}, processed |-> [m \in {} |-> 0], applied |-> <<>>]
Order == DocOf(Key, EmptyOrder)

IsAdd(m) == m % 2 = 1
ItemOf(m) == (m + 1) \div 2

\* The business logic: input m applied to a set of items.
Apply(items, m) == IF IsAdd(m) THEN items \cup {ItemOf(m)} ELSE items \ {ItemOf(m)}

\* The event the order publishes for input m, whose change committed at version
\* v.  The output channel does not keep order, so a downstream that applies
\* events in the order of the changes goes by the version (DownstreamItems).
Output(m, v) == [type |-> IF IsAdd(m) THEN "ItemAdded" ELSE "ItemRemoved", item |-> ItemOf(m), version |-> v]

\* Some event of input m (any version) is in the set of events os.
HasEvent(os, m) == \E o \in os : o.item = ItemOf(m) /\ (o.type = "ItemAdded") = IsAdd(m)

\* A client sends its RemoveItem only once its AddItem has been processed.
Causal == {<<m, m + 1>> : m \in {n \in Inputs : IsAdd(n) /\ n + 1 \in Inputs}}

DedupById == Variant \notin {"Ordered", "Unordered"}

-----------------------------------------------------------------------------
(* The protocol.  work is {} (idle) or {[input, phase, at]}, phase        *)
(* "Loading" or "Writing"; at is the version the change commits at if the *)
(* write applies (0 while loading).                                        *)

\* Idle: an input is delivered; read the order.
OnDelivered(event) == Continue([input |-> event.input, phase |-> "Loading", at |-> 0], <<Get(Key)>>)

\* The order is loaded: a duplicate publishes its event again and is acked
\* (by id, the event recorded with the id; by "nothing to change", at the only
\* version the handler knows, the current one); otherwise the change is
\* written, to commit at the next version.
OnLoaded(w, event) ==
    LET m == w.input
        d == event.doc
        at == event.version + 1
        items == Apply(d.items, m)
        duplicate == IF DedupById THEN m \in DOMAIN d.processed ELSE items = d.items
        dupAt == IF DedupById THEN d.processed[m] ELSE event.version
        next == [items |-> items,
                 processed |-> IF DedupById THEN d.processed @@ (m :> at) ELSE d.processed,
                 applied |-> Append(d.applied, m)]
        writing == [w EXCEPT !.phase = "Writing", !.at = at]
    IN
    IF duplicate THEN Finish(<<Publish(Output(m, dupAt)), Ack(m)>>)
    ELSE IF Variant = "PublishBeforeStore"
      THEN Continue(writing, <<Publish(Output(m, at)), Put(Key, next, event.version)>>)
      ELSE Continue(writing, <<Put(Key, next, event.version)>>)

\* The write is answered: publish and ack, or give the input back.
OnWritten(w, event) ==
    LET m == w.input IN
    IF event.result = "Ok"
      THEN IF Variant = "PublishBeforeStore"
             THEN Finish(<<Ack(m)>>)
             ELSE Finish(<<Publish(Output(m, w.at)), Ack(m)>>)
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
         w.input \in Inputs /\ w.phase \in {"Loading", "Writing"} /\ w.at \in Nat
    /\ Order.items \subseteq 1..Msgs /\ DOMAIN Order.processed \subseteq Inputs

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
NoGhostMessages == \A m \in Inputs : HasEvent(Outputs, m) => Committed(m)

\* At quiescence, every input has been applied and its event published.
NoLostMessages == ENABLED Next \/ \A m \in Inputs : Committed(m) /\ HasEvent(Outputs, m)

\* Over the run, a write added each input's change at most once (the world's
\* history, CountApplied: a change lost and applied again counts twice).
AtMostOnceStateChange == AppliedAtMostOnce

RECURSIVE ApplyAll(_, _)
ApplyAll(items, run) == IF run = <<>> THEN items ELSE ApplyAll(Apply(items, Head(run)), Tail(run))

\* At quiescence, the items and the distinct events, each with the version its
\* change committed at (the i-th change of the run at version i), are those of
\* processing each input once, in an order the client could cause (each add
\* before its remove).  So a downstream that applies each item's events in
\* version order ends as it would after that run.
ExactlyOnceOutcome ==
    ENABLED Next \/
    \E run \in ExactlyOnceOrders(Causal) :
        /\ ApplyAll({}, run) = Order.items
        /\ {Output(run[i], i) : i \in 1..Msgs} = Outputs

(* Reachability ("sometimes") predicates: checked by ~P as an invariant.   *)

\* A handler is loading a copy of an input whose change is already committed.
DuplicateDelivered ==
    \E h \in Handlers : \E w \in hs[h].work : w.phase = "Loading" /\ Committed(w.input)

\* Downstream has received ItemRemoved(i) while a copy of an older
\* ItemAdded(i) is still on its way: a downstream that applied events as they
\* arrive, without their versions, would put the item back.
StaleEventInFlight ==
    \E r \in Outputs : \E e \in DOMAIN net :
        /\ r.type = "ItemRemoved" /\ e.msg.type = "Output"
        /\ e.msg.out.type = "ItemAdded" /\ e.msg.out.item = r.item /\ e.msg.out.version < r.version

\* A handler holds a copy of an AddItem whose RemoveItem is already committed.
LateDuplicate ==
    \E h \in Handlers : \E w \in hs[h].work : IsAdd(w.input) /\ Committed(w.input + 1)

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
