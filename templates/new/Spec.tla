---- MODULE __MODULE__ ----
(***************************************************************************)
(* __ID__: a new family of the catalog, made by `exactly new __ID__`.      *)
(* A handler reads a ledger of committed inputs, appends its input, sends  *)
(* one output and acks.  Correct sends after the commit (and resends for a *)
(* duplicate); SendThenUpdate sends before the commit (ghost messages).    *)
(* The broker, store, downstream and failures are the shared World.  Twin  *)
(* of src/families/__IDENT__.rs: keep them in step.                        *)
(***************************************************************************)
EXTENDS World

CONSTANT Variant

Variants == {"Correct", "SendThenUpdate"}
ASSUME Variant \in Variants

\* The one document: the ledger (a sequence of inputs), under key 0.
Key == 0
EmptyLedger == <<>>
Ledger == DocOf(Key, EmptyLedger)

Committed(l, m) == \E i \in 1..Len(l) : l[i] = m

Output(m) == [input |-> m]

-----------------------------------------------------------------------------
(* The protocol.  work is {} (idle) or {[input, phase]}.                    *)

\* Idle: an input is delivered; read the ledger.
OnDelivered(event) == Continue([input |-> event.input, phase |-> "Loading"], <<Get(Key)>>)

\* The ledger is loaded: write the change, or resend the output of a duplicate.
OnLoaded(w, event) ==
    LET m == w.input
        l == event.doc
        writing == [w EXCEPT !.phase = "Writing"]
    IN
    IF Committed(l, m)
      THEN Finish(<<Publish(Output(m)), Ack(m)>>)   \* a duplicate: resend
    ELSE IF Variant = "SendThenUpdate"
      THEN Continue(writing, <<Publish(Output(m)), Put(Key, Append(l, m), event.version)>>)
      ELSE Continue(writing, <<Put(Key, Append(l, m), event.version)>>)

\* The write is answered: send the output and ack, or give the input back.
OnWritten(w, event) ==
    IF event.result = "Ok"
      THEN IF Variant = "Correct"
             THEN Finish(<<Publish(Output(w.input)), Ack(w.input)>>)
             ELSE Finish(<<Ack(w.input)>>)
      ELSE Finish(<<Nack(w.input)>>)

\* The protocol: the step for the event, chosen by the work's phase.
OnEvent(ctx, work, event) ==
    IF work = {} THEN OnDelivered(event)
    ELSE IF The(work).phase = "Loading" THEN OnLoaded(The(work), event)
    ELSE OnWritten(The(work), event)

\* The world's options: the defaults, with the empty ledger.
Opts == WorldOptions(EmptyLedger)

Init == WorldInit(Opts)

Next == WorldNext(OnEvent, NoServe, NoChanges, Opts)

Spec == Init /\ [][Next]_vars /\ WF_vars(Next)

-----------------------------------------------------------------------------
(* Properties.                                                             *)

Outputs == DOMAIN received

\* No output is visible for an input whose change was never committed.
NoGhostMessages == \A o \in Outputs : Committed(Ledger, o.input)

\* At quiescence, every input is committed and has an output.
NoLostMessages ==
    ENABLED Next \/ \A m \in Inputs : Committed(Ledger, m) /\ \E o \in Outputs : o.input = m

\* A handler is loading a copy of an input whose change is already committed.
DuplicateDelivered ==
    \E h \in Handlers : \E w \in hs[h].work : w.phase = "Loading" /\ Committed(Ledger, w.input)

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
