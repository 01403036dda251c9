----------------------------- MODULE SyncAsync -----------------------------
(***************************************************************************)
(* The boundary between a web request and the asynchronous core (the       *)
(* exactly-once blog's sync-async post, Pobiega and Masternak, written     *)
(* fresh).  The browser's "submit order" request for cart m is input m;    *)
(* browsers retry (sender duplicates, and a redelivery after every failure *)
(* or timeout, including one whose save lands after the browser was told   *)
(* it failed).  The web handler loads the cart; if it is not submitted, it *)
(* saves it with Submitted set (version check), then sends SubmitOrder; if *)
(* it is submitted already (a retry), it sends SubmitOrder again, not      *)
(* knowing whether the first send happened.  The Orders endpoint is        *)
(* modelled minimally: a cart's orders are derived from the SubmitOrder    *)
(* copies downstream received, deduplicated by cart id, or one per copy in *)
(* ReceiverNoDedup.  Broker, store, downstream and failures are the shared *)
(* World.  Twin of src/families/sync_async.rs.                             *)
(***************************************************************************)
EXTENDS World

CONSTANT Variant

Variants == {"ResendIfInDoubt", "SendThenSave", "SaveThenSendOnce", "ReceiverNoDedup", "GiveUp"}
ASSUME Variant \in Variants

\* Each cart is a document under its own key, the input's number; a cart
\* never written is not submitted.
EmptyCart == [submitted |-> FALSE]
Submitted(c) == DocOf(c, EmptyCart).submitted

SubmitOrder(c) == [cart |-> c]

-----------------------------------------------------------------------------
(* The protocol.  work is {} (idle) or {[input, phase]}: phase "Loading"  *)
(* or "Saving" (the save of the submitted cart is on its way).            *)

\* Idle: a request is delivered; load the cart.
OnDelivered(event) ==
    Continue([input |-> event.input, phase |-> "Loading"], <<Get(event.input)>>)

\* The cart is loaded: a retry finds it submitted and sends again (or not);
\* otherwise save it as submitted.
OnLoaded(w, event) ==
    LET c == w.input IN
    IF event.doc.submitted
      THEN \* A retry: the first request was applied; was it sent?
           IF Variant \in {"ResendIfInDoubt", "ReceiverNoDedup", "GiveUp"}
             THEN Finish(<<Publish(SubmitOrder(c)), Ack(c)>>)
             ELSE Finish(<<Ack(c)>>)
    ELSE IF Variant = "SendThenSave"
      THEN Continue([w EXCEPT !.phase = "Saving"],
                    <<Publish(SubmitOrder(c)), Put(c, [submitted |-> TRUE], event.version)>>)
      ELSE Continue([w EXCEPT !.phase = "Saving"], <<Put(c, [submitted |-> TRUE], event.version)>>)

\* The save is answered: send SubmitOrder and ack, or give the request back.
OnWritten(w, event) ==
    LET c == w.input IN
    IF event.result = "Ok"
      THEN IF Variant = "SendThenSave"
             THEN Finish(<<Ack(c)>>)
             ELSE Finish(<<Publish(SubmitOrder(c)), Ack(c)>>)
    ELSE IF Variant = "GiveUp"
      THEN Finish(<<>>)        \* dropped: the request is never answered
      ELSE Finish(<<Nack(c)>>) \* an error or a timeout: the browser retries

\* The protocol: the step for the event, chosen by the work's phase.
OnEvent(ctx, work, event) ==
    IF work = {} THEN OnDelivered(event)
    ELSE IF The(work).phase = "Loading" THEN OnLoaded(The(work), event)
    ELSE OnWritten(The(work), event)

-----------------------------------------------------------------------------

\* The world's options: the defaults, with a cart never submitted.
Opts == WorldOptions(EmptyCart)

Init == WorldInit(Opts)

Next == WorldNext(OnEvent, NoServe, NoChanges, Opts)

Spec == Init /\ [][Next]_vars /\ WF_vars(Next)

-----------------------------------------------------------------------------
(* Properties.                                                             *)

\* The orders of cart c: one if some SubmitOrder of it was received (dedup by
\* cart id), or one per copy received (ReceiverNoDedup).
Copies(c) == IF SubmitOrder(c) \in DOMAIN received THEN received[SubmitOrder(c)] ELSE 0
Orders(c) == IF Variant = "ReceiverNoDedup" THEN Copies(c) ELSE IF Copies(c) > 0 THEN 1 ELSE 0

\* Some SubmitOrder of cart c is on its way or received.
Sent(c) ==
    \/ SubmitOrder(c) \in DOMAIN received
    \/ \E e \in DOMAIN net : e.msg.type = "Output" /\ e.msg.out.cart = c

\* No order exists for a cart that is not submitted.
NoGhostOrders == \A c \in Inputs : Orders(c) > 0 => Submitted(c)

\* At quiescence, every cart is submitted and has its order.
NoLostOrders == ENABLED Next \/ \A c \in Inputs : Submitted(c) /\ Orders(c) >= 1

\* No cart has two orders (the second Porsche).
AtMostOneOrder == \A c \in Inputs : Orders(c) <= 1

(* Reachability ("sometimes") predicates: checked by ~P as an invariant.   *)

\* A handler is down after its save applied and before any SubmitOrder of
\* the cart was sent.
CrashBetweenSaveAndSend ==
    \E h \in Handlers : \E w \in hs[h].work :
        crashed[h] /\ w.phase = "Saving" /\ Submitted(w.input) /\ ~Sent(w.input)

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
