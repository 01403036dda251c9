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
(* knowing whether the first send happened.  SubmitOrder carries a        *)
(* message id derived from the cart (IdOf), so every copy and resend is    *)
(* one logical message; FreshIdPerRequest draws a fresh id per send.  The  *)
(* Orders endpoint is modelled minimally: it dedups by message id, so a    *)
(* cart's orders are the distinct ids of the SubmitOrder copies downstream *)
(* received.  Broker, store, downstream and failures are the shared World. *)
(* Twin of src/families/sync_async.rs.                                     *)
(***************************************************************************)
EXTENDS World

CONSTANT Variant

Variants == {"ResendIfInDoubt", "SendThenSave", "SaveThenSendOnce", "FreshIdPerRequest", "GiveUp"}
ASSUME Variant \in Variants

\* Each cart is a document under its own key, the input's number; a cart
\* never written is not submitted.
EmptyCart == [submitted |-> FALSE]
Submitted(c) == DocOf(c, EmptyCart).submitted

\* SubmitOrder for cart c as step ctx sends it: the id derived from the cart,
\* or a fresh one (FreshIdPerRequest); SendOrder(ctx, c, r) adds it to the
\* effects of step result r, before them.
SubmitOrder(ctx, c) ==
    [id |-> IF Variant = "FreshIdPerRequest" THEN FreshId(ctx, 0) ELSE IdOf(c), cart |-> c]
SendOrder(ctx, c, r) ==
    LET sent == [r EXCEPT !.fx = <<Publish(SubmitOrder(ctx, c))>> \o @]
    IN IF Variant = "FreshIdPerRequest" THEN Drawing(sent, 1) ELSE sent

-----------------------------------------------------------------------------
(* The protocol.  work is {} (idle) or {[input, phase]}: phase "Loading"  *)
(* or "Saving" (the save of the submitted cart is on its way).            *)

\* Idle: a request is delivered; load the cart.
OnDelivered(event) ==
    Continue([input |-> event.input, phase |-> "Loading"], <<Get(event.input)>>)

\* The cart is loaded: a retry finds it submitted and sends again (or not);
\* otherwise save it as submitted.
OnLoaded(ctx, w, event) ==
    LET c == w.input
        save == Continue([w EXCEPT !.phase = "Saving"], <<Put(c, [submitted |-> TRUE], event.version)>>)
    IN
    IF event.doc.submitted
      THEN \* A retry: the first request was applied; was it sent?
           IF Variant = "SaveThenSendOnce"
             THEN Finish(<<Ack(c)>>)
             ELSE SendOrder(ctx, c, Finish(<<Ack(c)>>))
    ELSE IF Variant = "SendThenSave"
      THEN SendOrder(ctx, c, save)
      ELSE save

\* The save is answered: send SubmitOrder and ack, or give the request back.
OnWritten(ctx, w, event) ==
    LET c == w.input IN
    IF event.result = "Ok"
      THEN IF Variant = "SendThenSave"
             THEN Finish(<<Ack(c)>>)
             ELSE SendOrder(ctx, c, Finish(<<Ack(c)>>))
    ELSE IF Variant = "GiveUp"
      THEN Finish(<<>>)        \* dropped: the request is never answered
      ELSE Finish(<<Nack(c)>>) \* an error or a timeout: the browser retries

\* The protocol: the step for the event, chosen by the work's phase.
OnEvent(ctx, work, event) ==
    IF work = {} THEN OnDelivered(event)
    ELSE IF The(work).phase = "Loading" THEN OnLoaded(ctx, The(work), event)
    ELSE OnWritten(ctx, The(work), event)

-----------------------------------------------------------------------------

\* The world's options: the defaults, with a cart never submitted.
Opts == WorldOptions(EmptyCart)

Init == WorldInit(Opts)

Next == WorldNext(OnEvent, NoServe, NoChanges, Opts)

Spec == Init /\ [][Next]_vars /\ WF_vars(Next)

-----------------------------------------------------------------------------
(* Properties.                                                             *)

\* The orders of cart c: the endpoint dedups by message id, so one per
\* distinct id among the SubmitOrder copies of c received (every variant).
Orders(c) == Cardinality({o.id : o \in {o \in DOMAIN received : o.cart = c}})

\* Some SubmitOrder of cart c is on its way or received.
Sent(c) ==
    \/ \E o \in DOMAIN received : o.cart = c
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
