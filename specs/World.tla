-------------------------------- MODULE World --------------------------------
(***************************************************************************)
(* The shared world every family of exactly-once algorithms runs in        *)
(* (section 1 of the catalog): an at-least-once broker that leases one     *)
(* copy of an input at a time to competing handlers, a store of versioned  *)
(* documents with optimistic concurrency, and a downstream that records    *)
(* every output copy.  Handlers may crash while busy, each store write may *)
(* fail before it applies or time out and apply later, and the broker may  *)
(* take back a leased copy; all of these draw on one budget,               *)
(* MaxFailures.  The broker may hand out inputs in order, and may hold an  *)
(* input back until the inputs it causally follows have been processed (a  *)
(* client sends RemoveItem only after its AddItem).                        *)
(*                                                                         *)
(* This module is not a family: a family EXTENDS it and supplies only its  *)
(* protocol, an operator OnEvent(ctx, work, event) that returns the new    *)
(* work and a sequence of effects (Get, GetWeak, Put, PutUnchecked,        *)
(* PutAndPublish, Publish, Call, Ack, Nack), which Step carries out as the *)
(* handler's messages and waits, one at a time (CarryNext), so that a      *)
(* handler may crash between any two; ctx gives the fresh ids the handler  *)
(* may draw.  OnEvent only picks the step for the event by the work's      *)
(* phase: each step is an operator of its own (OnDelivered, OnLoaded,      *)
(* OnWritten, ...), named as the method of the Rust twin is                *)
(* (on_loaded).  The family chooses the world's options in one record      *)
(* (WorldOptions): in-order delivery, a causal order of the inputs, the    *)
(* documents whose previous version the store keeps for reads at a weak    *)
(* consistency level, and jobs that only some handlers run.  The store may *)
(* serve an endpoint, the family's Serve (an HTTP server whose state is    *)
(* its documents; NoServe if none): a Call effect is one atomic step of    *)
(* the store, with a fate drawn as a write's is, and may schedule a        *)
(* request to itself for later, e.g. an eviction (StoreLater).  The        *)
(* family's Init and Next are WorldInit(opts) and WorldNext(OnEvent,       *)
(* Serve, Changes, opts), where Changes(k, d) lists the inputs whose       *)
(* changes the business state in document d under key k holds (NoChanges   *)
(* for a family that counts none; see CountApplied); a family whose        *)
(* downstream also sends the store a request per output copy uses          *)
(* WorldNextConsuming(OnEvent, Serve, Changes, Consume, opts) instead      *)
(* (DownstreamReceive).  The checks every                                  *)
(* family shares (Done, Termination, AppliedAtMostOnce, and the world's    *)
(* situations) are defined at the end, once.                               *)
(*                                                                         *)
(* It is the lockstep twin of the Stateright actor model in src/world: the *)
(* variables are that model's whole state (network of envelopes as a bag,  *)
(* every actor's state, crashed flags, the handlers' durable failure       *)
(* counts), and every action is one Stateright action that yields a new    *)
(* state within the failure budget, so both checkers count the same        *)
(* distinct and generated states.  Stateright's random choices (the        *)
(* broker's dispatch, a write's fate) are a function of the actors' states *)
(* and need no variable.                                                   *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets, TLC

CONSTANTS
    Msgs,         \* logical input messages, numbered 1..Msgs
    Handlers,     \* competing handlers, as model values
    DupCount,     \* sender duplicates: extra copies, given to inputs 1, 2, ... in turn
    MaxFailures   \* crashes, failed and timed-out writes, expired leases per run, all together

ASSUME Msgs \in Nat \ {0} /\ DupCount \in Nat /\ MaxFailures \in Nat

VARIABLES
    net,       \* messages in flight: a bag, envelope [src, dst, msg] -> copies
    queue,     \* the broker's copies waiting for a handler: a bag, input -> copies
    leases,    \* the copy each handler holds (NoLease if none)
    leaseNo,   \* the delivery number of each handler's lease (0 if none)
    hs,        \* each handler's state: [tag, work, wait, pending]
    docs,      \* the store: key -> [version, doc], for the keys written so far
    received,  \* downstream: every copy of every output, a bag
    crashed,   \* handlers that are down right now
    failures,  \* each handler's durable count of failures (its Stateright storage)
    expired,   \* leases the broker has taken back so far (each is a failure)
    applied    \* history, read by properties only: times each input's change was added (CountApplied)

vars == <<net, queue, leases, leaseNo, hs, docs, received, crashed, failures, expired, applied>>

Inputs == 1..Msgs
NoLease == 0
Waits == {"Nothing", "Doc", "PutReply", "Fate", "Level", "Reply"}
\* A handler draws the fate of each write only when failures are possible at all.
FailuresEnabled == MaxFailures > 0

-----------------------------------------------------------------------------
(* Bags: functions from values to positive counts; a key whose count       *)
(* reaches 0 disappears, as in Stateright's network.                       *)

EmptyBag == [x \in {} |-> 0]
BagAdd(b, x) == IF x \in DOMAIN b THEN [b EXCEPT ![x] = @ + 1] ELSE b @@ (x :> 1)
BagRemove(b, x) ==
    IF b[x] = 1 THEN [y \in DOMAIN b \ {x} |-> b[y]] ELSE [b EXCEPT ![x] = @ - 1]

\* The one element of an option, represented as {} (none) or {x} (some x).
The(opt) == CHOOSE x \in opt : TRUE

RECURSIVE SumOver(_, _)
SumOver(S, f) ==
    IF S = {} THEN 0 ELSE LET x == CHOOSE y \in S : TRUE IN f[x] + SumOver(S \ {x}, f)

\* The failure budget used: every failure so far (the handlers' and the expired
\* leases) plus the handlers down right now.
FailuresUsed == SumOver(Handlers, failures) + expired + Cardinality({h \in Handlers : crashed[h]})

-----------------------------------------------------------------------------
(* Messages.                                                               *)

\* A copy of input m with its delivery number n (a delivery tag, a receipt
\* handle): the number of lease expiries before its dispatch.  A lease that
\* expired had a smaller number than every lease given after it, and without
\* an expiry no ack arrives late.  An ack or a nack names the delivery it
\* answers.
DeliverMsg(m, n) == [type |-> "Deliver", input |-> m, n |-> n]
AckMsg(m, n) == [type |-> "Ack", input |-> m, n |-> n]
NackMsg(m, n) == [type |-> "Nack", input |-> m, n |-> n]
ReconnectMsg == [type |-> "Reconnect"]
GetMsg(tag, k) == [type |-> "Get", tag |-> tag, key |-> k]
\* A read at a weak consistency level that returns an older committed version.
StaleGetMsg(tag, k) == [type |-> "GetStale", tag |-> tag, key |-> k]
DocMsg(tag, k, v, d) == [type |-> "Doc", tag |-> tag, key |-> k, version |-> v, doc |-> d]
\* expected is {} for a write with no version check, else {version read}; late:
\* the write timed out (its writer was told it failed) and gets no answer.
PutMsg(tag, put, late) ==
    [type |-> "Put", tag |-> tag, key |-> put.key, doc |-> put.doc,
     expected |-> put.expected, late |-> late, publish |-> put.publish]
PutReplyMsg(tag, k, result) == [type |-> "PutReply", tag |-> tag, key |-> k, result |-> result]
OutputMsg(o) == [type |-> "Output", out |-> o]
\* A call of the endpoint the store serves (see StoreCall); late: the call
\* timed out (its caller was told it failed) and gets no answer.
CallMsg(tag, call, late) ==
    [type |-> "Call", tag |-> tag, key |-> call.key, op |-> call.op, late |-> late]
\* The store to itself: request op on key k, applied whenever it is delivered.
LaterMsg(k, op) == [type |-> "Later", key |-> k, op |-> op]

Send(b, src, dst, msg) == BagAdd(b, [src |-> src, dst |-> dst, msg |-> msg])

RECURSIVE SendOutputs(_, _, _, _)
\* Sends the outputs of sequence outs, one message each.
SendOutputs(b, src, dst, outs) ==
    IF outs = <<>> THEN b
    ELSE SendOutputs(Send(b, src, dst, OutputMsg(Head(outs))), src, dst, Tail(outs))

-----------------------------------------------------------------------------
(* The store: a key never written reads as version 0 and the family's     *)
(* empty document.                                                         *)

VersionOf(k) == IF k \in DOMAIN docs THEN docs[k].version ELSE 0
DocOf(k, emptyDoc) == IF k \in DOMAIN docs THEN docs[k].doc ELSE emptyDoc

-----------------------------------------------------------------------------
(* What a family's protocol says.  OnEvent(ctx, work, event) gets work =  *)
(* {} when the handler is idle (the event is then a delivery) and {w}      *)
(* while it works on w; it returns Continue(w, fx) or Finish(fx), or one   *)
(* of these passed through Drawing(r, k) when it drew k fresh ids.         *)

Delivered(m) == [type |-> "Delivered", input |-> m]
Loaded(k, v, d) == [type |-> "Loaded", key |-> k, version |-> v, doc |-> d]
Written(k, result) == [type |-> "Written", key |-> k, result |-> result]

Continue(w, fx) == [work |-> {w}, fx |-> fx]
Finish(fx) == [work |-> {}, fx |-> fx]

\* A fresh id (a GUID, in a model): unique across handlers, incarnations and
\* attempts.  FreshId(ctx, i) is the i-th (from 0) id drawn in this step.
FreshId(ctx, i) == [handler |-> ctx.handler, tag |-> ctx.tag, n |-> ctx.ids + i]
\* A message id derived from input m's id (a name-based GUID, in real life).
IdOf(m) == [input |-> m]
\* Result r of a step that drew k fresh ids.
Drawing(r, k) == [work |-> r.work, fx |-> r.fx, drawn |-> k]
Drawn(r) == IF "drawn" \in DOMAIN r THEN r.drawn ELSE 0

Get(k) == [type |-> "Get", key |-> k]
\* A read at a weak consistency level: it may return the previous committed
\* version of a document whose key the store keeps it for (staleKeys, see
\* WorldOptions).
GetWeak(k) == [type |-> "GetWeak", key |-> k]
\* A write of document d under key k if its version is still the one read
\* (expected = {v}; {} for no check), publishing outs in the same atomic step.
PutAndPublish(k, d, expected, outs) ==
    [type |-> "Put", key |-> k, doc |-> d, expected |-> expected, publish |-> outs]
Put(k, d, v) == PutAndPublish(k, d, {v}, <<>>)
PutUnchecked(k, d) == PutAndPublish(k, d, {}, <<>>)
Publish(o) == [type |-> "Publish", out |-> o]
\* A call of the endpoint the store serves, request op on key k: answered by
\* Loaded (the response) or, after a timeout, Written(k, "Failed").  Its fate
\* is drawn as a write's is.
Call(k, op) == [type |-> "Call", key |-> k, op |-> op]
Ack(m) == [type |-> "Ack", input |-> m]
Nack(m) == [type |-> "Nack", input |-> m]

\* A handler that starts, as incarnation tag, having had failed writes that
\* failed before applying (a history kept across crashes, for FailedWrite).
Idle(tag, failed) ==
    [tag |-> tag, ids |-> 0, work |-> {}, wait |-> "Nothing", pending |-> {}, input |-> 0, delivery |-> 0, todo |-> <<>>,
     failed |-> failed]

\* Handler h works on an input or has effects left to carry out: only then can
\* a crash lose anything.  (A sum, not a disjunction: TLC would count a state
\* reached through both disjuncts twice among the generated states.)
Busy(h) == Cardinality(hs[h].work) + Len(hs[h].todo) > 0

\* A handler state s that is idle (no work, no effects left) holds no delivery.
Settle(s) == IF Cardinality(s.work) + Len(s.todo) = 0 THEN [s EXCEPT !.input = 0, !.delivery = 0] ELSE s

\* Handler h issues a write: it sends it to the store and waits for the reply.
SendPut(h, acc, put, late) ==
    IF put.type = "Call"
      THEN [state |-> [acc.state EXCEPT !.wait = "Reply"],
            net   |-> Send(acc.net, h, "store", CallMsg(acc.state.tag, put, late))]
    ELSE [state |-> [acc.state EXCEPT !.wait = "PutReply"],
          net   |-> Send(acc.net, h, "store", PutMsg(acc.state.tag, put, late))]

\* Carries out one effect f of handler h, on acc = [state, net].
CarryOne(h, acc, f) ==
    LET s == acc.state IN
    CASE f.type = "Get" ->
         [state |-> [s EXCEPT !.wait = "Doc"],
          net   |-> Send(acc.net, h, "store", GetMsg(s.tag, f.key))]
    [] f.type = "GetWeak" ->
         \* Whether the read returns an older version is drawn first.
         [state |-> [s EXCEPT !.pending = {f}, !.wait = "Level"], net |-> acc.net]
    [] f.type \in {"Put", "Call"} /\ FailuresEnabled ->
         \* The fate of the write is drawn before it is sent.
         [state |-> [s EXCEPT !.pending = {f}, !.wait = "Fate"], net |-> acc.net]
    [] f.type \in {"Put", "Call"} ->
         SendPut(h, acc, f, FALSE)
    [] f.type = "Publish" ->
         [state |-> s, net |-> Send(acc.net, h, "downstream", OutputMsg(f.out))]
    [] f.type = "Ack" ->
         [state |-> s, net |-> Send(acc.net, h, "broker", AckMsg(f.input, s.delivery))]
    [] f.type = "Nack" ->
         [state |-> s, net |-> Send(acc.net, h, "broker", NackMsg(f.input, s.delivery))]

RECURSIVE CarryAll(_, _, _)
\* Carries out the effects fx of handler h in order, at once.
CarryAll(h, acc, fx) ==
    IF fx = <<>> THEN acc ELSE CarryAll(h, CarryOne(h, acc, Head(fx)), Tail(fx))

\* Carries out the effects fx of handler h's step: the first at once, and the
\* rest one at a time (CarryNext), so that a crash may come between any two;
\* all at once when no failure is possible.  An effect that waits for an
\* answer (a read, a write, a call) is the last of its step.
Carry(h, acc, fx) ==
    IF fx = <<>> THEN acc
    ELSE IF FailuresEnabled
      THEN LET r == CarryOne(h, acc, Head(fx)) IN
           [state |-> [r.state EXCEPT !.todo = Tail(fx)], net |-> r.net]
    ELSE CarryAll(h, acc, fx)

\* Handler h in state s (waiting for nothing) reacts to event: the protocol
\* decides, and its effects become messages and waits.  Returns [state, net].
Step(h, s, event, n, OnEvent(_, _, _)) ==
    LET r == OnEvent([handler |-> h, tag |-> s.tag, ids |-> s.ids], s.work, event)
        c == Carry(h, [state |-> [s EXCEPT !.work = r.work, !.wait = "Nothing", !.ids = @ + Drawn(r)],
                       net |-> n], r.fx)
    IN [state |-> Settle(c.state), net |-> c.net]

-----------------------------------------------------------------------------

WorldTypeOK ==
    /\ \A e \in DOMAIN net : net[e] \in Nat \ {0} /\ e.src \in Handlers \cup {"broker", "store"}
    /\ DOMAIN queue \subseteq Inputs /\ \A m \in DOMAIN queue : queue[m] \in Nat \ {0}
    /\ leases \in [Handlers -> Nat]
    /\ leaseNo \in [Handlers -> Nat]
    /\ \A h \in Handlers :
         /\ hs[h].tag \in Nat
         /\ hs[h].failed \in 0..hs[h].tag
         /\ hs[h].delivery \in Nat
         /\ \A i \in 1..Len(hs[h].todo) : hs[h].todo[i].type \in {"Publish", "Ack", "Nack", "Get", "GetWeak", "Put", "Call"}
         /\ hs[h].ids \in Nat
         /\ Cardinality(hs[h].work) <= 1
         /\ hs[h].wait \in Waits
         /\ Cardinality(hs[h].pending) <= 1
    /\ \A k \in DOMAIN docs : docs[k].version \in Nat \ {0}
    /\ \A o \in DOMAIN received : received[o] \in Nat \ {0}
    /\ crashed \in [Handlers -> BOOLEAN]
    /\ failures \in [Handlers -> 0..MaxFailures]
    /\ expired \in 0..MaxFailures

\* The broker starts with one copy of each input and the sender duplicates.
InitialQueue == [m \in Inputs |-> 1 + Cardinality({d \in 0..DupCount - 1 : (d % Msgs) + 1 = m})]

\* The world's options, as a family chooses them: its empty document (what a
\* key never written reads as); whether the broker hands out inputs in order;
\* the causal order of the inputs (a set of pairs <<a, b>>: b is sent only
\* once a has been processed); the keys whose previous committed version the
\* store keeps for stale reads (eventual consistency, at most one version
\* behind); the handlers (relays) that alone run the jobs, and the jobs the
\* broker starts with (a bag of inputs beyond Msgs, such as a relay's poll).
\* These are the defaults: a family changes some with EXCEPT.
WorldOptions(emptyDoc) ==
    [emptyDoc |-> emptyDoc, ordered |-> FALSE, causal |-> {}, staleKeys |-> {},
     relays |-> {}, jobs |-> EmptyBag]

\* The initial state under options opts: the broker holds the inputs, the
\* sender duplicates and the jobs.
WorldInit(opts) ==
    /\ net = EmptyBag
    /\ queue = InitialQueue @@ opts.jobs
    /\ leases = [h \in Handlers |-> NoLease]
    /\ leaseNo = [h \in Handlers |-> 0]
    /\ hs = [h \in Handlers |-> Idle(0, 0)]
    /\ docs = [k \in {} |-> 0]
    /\ received = EmptyBag
    /\ crashed = [h \in Handlers |-> FALSE]
    /\ failures = [h \in Handlers |-> 0]
    /\ expired = 0
    /\ applied = EmptyBag

-----------------------------------------------------------------------------
(* The broker.                                                             *)

\* Copies of input m acked so far: those the queue started with that are
\* neither queued nor leased.
Acked(m) ==
    InitialQueue[m] - (IF m \in DOMAIN queue THEN queue[m] ELSE 0)
                    - Cardinality({h \in Handlers : leases[h] = m})

\* Input m has been sent: every input it causally follows (causal is a set of
\* pairs <<a, b>>: b is sent only once a has been processed) has been acked once.
Released(m, causal) == \A c \in causal : c[2] = m => Acked(c[1]) > 0

\* The broker leases a copy of input m to handler h, which holds none; only an
\* input that has been sent, and in order (opts.ordered) only the lowest of
\* those (an input not sent yet is not in the queue and blocks nothing).  A job
\* (an input in opts.jobs, such as a relay's poll) goes only to a handler in
\* opts.relays, and nothing else does.
Dispatch(h, m, opts) ==
    /\ leases[h] = NoLease
    /\ m \in DOMAIN queue
    /\ Released(m, opts.causal)
    /\ (h \in opts.relays) = (m \in DOMAIN opts.jobs)
    /\ opts.ordered => \A n \in DOMAIN queue : Released(n, opts.causal) => m <= n
    /\ queue' = BagRemove(queue, m)
    /\ leases' = [leases EXCEPT ![h] = m]
    /\ leaseNo' = [leaseNo EXCEPT ![h] = expired]
    /\ net' = Send(net, "broker", h, DeliverMsg(m, expired))
    /\ UNCHANGED <<hs, docs, received, crashed, failures, expired>>

\* Handler h holds the lease of delivery n of input m; the handler that sent
\* envelope e holds the lease its ack or nack names.
Named(h, m, n) == leases[h] = m /\ leaseNo[h] = n
Names(e) == Named(e.src, e.msg.input, e.msg.n)

\* Handler h's lease ends (whatever becomes of its copy).
EndLease(h) ==
    /\ leases' = [leases EXCEPT ![h] = NoLease]
    /\ leaseNo' = [leaseNo EXCEPT ![h] = 0]

\* The broker receives an ack: the lease it names ends.  An ack of a copy
\* whose lease expired (the handler holds another lease, or none) is dropped.
BrokerAck(e) ==
    /\ e.dst = "broker" /\ e.msg.type = "Ack"
    /\ IF Names(e) THEN EndLease(e.src) ELSE UNCHANGED <<leases, leaseNo>>
    /\ net' = BagRemove(net, e)
    /\ UNCHANGED <<queue, hs, docs, received, crashed, failures, expired>>

\* The broker receives a nack: the copy it names goes back, if its lease has
\* not expired; else the nack is dropped.
BrokerNack(e) ==
    /\ e.dst = "broker" /\ e.msg.type = "Nack"
    /\ IF Names(e)
         THEN /\ queue' = BagAdd(queue, e.msg.input)
              /\ EndLease(e.src)
         ELSE UNCHANGED <<queue, leases, leaseNo>>
    /\ net' = BagRemove(net, e)
    /\ UNCHANGED <<hs, docs, received, crashed, failures, expired>>

\* The broker receives a reconnect after a crash: whatever copy the handler
\* holds goes back.
BrokerReconnect(e) ==
    /\ e.dst = "broker" /\ e.msg.type = "Reconnect"
    /\ IF leases[e.src] = NoLease
         THEN UNCHANGED queue
         ELSE queue' = BagAdd(queue, leases[e.src])
    /\ EndLease(e.src)
    /\ net' = BagRemove(net, e)
    /\ UNCHANGED <<hs, docs, received, crashed, failures, expired>>

\* The broker takes back the copy it leased to handler h: the lease expired
\* (the handler is slow, or its ack was lost).  The copy is offered again
\* while h may still work on it; h is not told.  A job's lease does not
\* expire.  Draws on the failure budget.
Expire(h, opts) ==
    /\ leases[h] # NoLease
    /\ leases[h] \notin DOMAIN opts.jobs
    /\ FailuresUsed + 1 <= MaxFailures
    /\ queue' = BagAdd(queue, leases[h])
    /\ EndLease(h)
    /\ expired' = expired + 1
    /\ UNCHANGED <<net, hs, docs, received, crashed, failures>>

-----------------------------------------------------------------------------
(* The store.                                                              *)

\* The store answers a read with the document and its version.
StoreGet(e, emptyDoc) ==
    LET m == e.msg IN
    /\ e.dst = "store" /\ m.type = "Get"
    /\ net' = Send(BagRemove(net, e), "store", e.src,
                   DocMsg(m.tag, m.key, VersionOf(m.key), DocOf(m.key, emptyDoc)))
    /\ UNCHANGED <<queue, leases, leaseNo, hs, docs, received, crashed, failures, expired>>

\* The store answers a stale read with the previous committed version of the
\* document, if it keeps it, else with the current one.
StoreGetStale(e, emptyDoc) ==
    LET m == e.msg
        kept == m.key \in DOMAIN docs /\ "prev" \in DOMAIN docs[m.key]
    IN
    /\ e.dst = "store" /\ m.type = "GetStale"
    /\ net' = Send(BagRemove(net, e), "store", e.src,
                   IF kept THEN DocMsg(m.tag, m.key, VersionOf(m.key) - 1, docs[m.key].prev)
                   ELSE DocMsg(m.tag, m.key, VersionOf(m.key), DocOf(m.key, emptyDoc)))
    /\ UNCHANGED <<queue, leases, leaseNo, hs, docs, received, crashed, failures, expired>>

\* The store applies a write if the version is still the one read, and with it
\* publishes the write's outputs in the same atomic step.  For a key in
\* staleKeys it keeps the document as it was before the write (prev).  A write
\* that timed out (late) lands without an answer: its writer has moved on.
StorePut(e, emptyDoc, staleKeys) ==
    LET m == e.msg
        passes == m.expected = {} \/ VersionOf(m.key) = The(m.expected)
        result == IF passes THEN "Ok" ELSE "Conflict"
        reply == IF m.late THEN BagRemove(net, e)
                 ELSE Send(BagRemove(net, e), "store", e.src, PutReplyMsg(m.tag, m.key, result))
    IN
    /\ e.dst = "store" /\ m.type = "Put"
    /\ IF passes
         THEN /\ docs' = [k \in DOMAIN docs \cup {m.key} |->
                            IF k # m.key THEN docs[k]
                            ELSE IF k \in staleKeys
                              THEN [version |-> VersionOf(k) + 1, doc |-> m.doc, prev |-> DocOf(k, emptyDoc)]
                            ELSE [version |-> VersionOf(m.key) + 1, doc |-> m.doc]]
              /\ net' = SendOutputs(reply, "store", "downstream", m.publish)
         ELSE /\ net' = reply
              /\ UNCHANGED docs
    /\ UNCHANGED <<queue, leases, leaseNo, hs, received, crashed, failures, expired>>

\* The endpoint of a store that serves none: no Call ever reaches it.
NoServe(k, d, op) == [write |-> {}, response |-> d, publish |-> <<>>, later |-> {}]

\* The store serves a call of its endpoint: Serve(k, d, op) returns [write
\* ({} or {the new document}), response, publish (outputs sent in the same
\* atomic step, later ({} or {a request the store applies to the document at
\* any later point: a message to itself, such as a retention timer's
\* eviction)].  A call that timed out (late) gets no answer.
StoreCall(e, Serve(_, _, _), emptyDoc) ==
    LET m == e.msg
        r == Serve(m.key, DocOf(m.key, emptyDoc), m.op)
        v == IF r.write = {} THEN VersionOf(m.key) ELSE VersionOf(m.key) + 1
        n == IF r.later = {} THEN BagRemove(net, e)
             ELSE Send(BagRemove(net, e), "store", "store", LaterMsg(m.key, The(r.later)))
        reply == IF m.late THEN n ELSE Send(n, "store", e.src, DocMsg(m.tag, m.key, v, r.response))
    IN
    /\ e.dst = "store" /\ m.type = "Call"
    /\ IF r.write = {}
         THEN /\ net' = reply
              /\ UNCHANGED docs
         ELSE /\ docs' = [k \in DOMAIN docs \cup {m.key} |->
                            IF k # m.key THEN docs[k] ELSE [version |-> v, doc |-> The(r.write)]]
              /\ net' = SendOutputs(reply, "store", "downstream", r.publish)
    /\ UNCHANGED <<queue, leases, leaseNo, hs, received, crashed, failures, expired>>

\* The store applies a request it sent itself (see StoreCall); no reply.
StoreLater(e, Serve(_, _, _), emptyDoc) ==
    LET m == e.msg
        r == Serve(m.key, DocOf(m.key, emptyDoc), m.op)
    IN
    /\ e.dst = "store" /\ m.type = "Later"
    /\ IF r.write = {}
         THEN /\ net' = BagRemove(net, e)
              /\ UNCHANGED docs
         ELSE /\ docs' = [k \in DOMAIN docs \cup {m.key} |->
                            IF k # m.key THEN docs[k] ELSE [version |-> VersionOf(m.key) + 1, doc |-> The(r.write)]]
              /\ net' = SendOutputs(BagRemove(net, e), "store", "downstream", r.publish)
    /\ UNCHANGED <<queue, leases, leaseNo, hs, received, crashed, failures, expired>>

-----------------------------------------------------------------------------
(* Downstream.                                                             *)

\* Downstream records an output copy.  A family whose downstream does more
\* with it gives Consume(o) = {[key |-> k, op |-> op]}: downstream also sends
\* the store the request op on key k, applied whenever it arrives, as a
\* Later request is (StoreLater; e.g. the check and delete of the output's
\* token); NoConsume(o) = {} for the others.
NoConsume(o) == {}
DownstreamReceive(e, Consume(_)) ==
    LET c == Consume(e.msg.out) IN
    /\ e.dst = "downstream" /\ e.msg.type = "Output"
    /\ received' = BagAdd(received, e.msg.out)
    /\ net' = IF c = {} THEN BagRemove(net, e)
              ELSE Send(BagRemove(net, e), "downstream", "store", LaterMsg(The(c).key, The(c).op))
    /\ UNCHANGED <<queue, leases, leaseNo, hs, docs, crashed, failures, expired>>

-----------------------------------------------------------------------------
(* Handlers.                                                               *)

\* Handler h takes message m now (if it is up): a delivery while idle, or the
\* answer it waits for, addressed to its incarnation.
Takes(h, m) ==
    \/ m.type = "Deliver" /\ ~Busy(h) /\ hs[h].wait = "Nothing"
    \/ m.type = "Doc" /\ m.tag = hs[h].tag /\ hs[h].wait = "Doc"
    \/ m.type = "PutReply" /\ m.tag = hs[h].tag /\ hs[h].wait = "PutReply"
    \/ m.type \in {"Doc", "PutReply"} /\ m.tag = hs[h].tag /\ hs[h].wait = "Reply"

\* The event a message a handler takes is to its protocol.
EventOf(m) ==
    CASE m.type = "Deliver" -> Delivered(m.input)
      [] m.type = "Doc" -> Loaded(m.key, m.version, m.doc)
      [] m.type = "PutReply" -> Written(m.key, m.result)

\* A handler that is up takes a message it is waiting for and runs the protocol.
\* Anything else (a delivery while busy, a reply to an earlier incarnation) waits.
HandlerReceive(e, OnEvent(_, _, _)) ==
    LET h == e.dst
        m == e.msg
    IN
    /\ h \in Handlers
    /\ ~crashed[h]
    /\ Takes(h, m)
    /\ LET s == IF m.type = "Deliver" THEN [hs[h] EXCEPT !.input = m.input, !.delivery = m.n] ELSE hs[h]
           r == Step(h, s, EventOf(m), BagRemove(net, e), OnEvent)
       IN /\ hs' = [hs EXCEPT ![h] = r.state]
          /\ net' = r.net
    /\ UNCHANGED <<queue, leases, leaseNo, docs, received, crashed, failures, expired>>

\* The write handler h is issuing reaches the store.
FateOk(h) ==
    LET s == hs[h]
        r == SendPut(h, [state |-> [s EXCEPT !.pending = {}], net |-> net], The(s.pending), FALSE)
    IN
    /\ ~crashed[h] /\ s.wait = "Fate"
    /\ hs' = [hs EXCEPT ![h] = r.state]
    /\ net' = r.net
    /\ UNCHANGED <<queue, leases, leaseNo, docs, received, crashed, failures, expired>>

\* The write handler h is issuing fails before it applies: a new incarnation
\* sees the failure.
FateFailBefore(h, OnEvent(_, _, _)) ==
    LET s == hs[h]
        put == The(s.pending)
        s1 == [s EXCEPT !.tag = @ + 1, !.pending = {}, !.failed = @ + 1]
        r == Step(h, s1, Written(put.key, "Failed"), net, OnEvent)
    IN
    /\ ~crashed[h] /\ s.wait = "Fate"
    /\ FailuresUsed + 1 <= MaxFailures
    /\ failures' = [failures EXCEPT ![h] = @ + 1]
    /\ hs' = [hs EXCEPT ![h] = r.state]
    /\ net' = r.net
    /\ UNCHANGED <<queue, leases, leaseNo, docs, received, crashed, expired>>

\* The write handler h is issuing times out: a new incarnation is told it
\* failed at once, while the write is still on its way; it applies (version
\* check included) whenever it reaches the store, and no one hears of it.
FateTimeout(h, OnEvent(_, _, _)) ==
    LET s == hs[h]
        put == The(s.pending)
        s1 == [s EXCEPT !.tag = @ + 1, !.pending = {}]
        sent == SendPut(h, [state |-> s1, net |-> net], put, TRUE)
        r == Step(h, sent.state, Written(put.key, "Failed"), sent.net, OnEvent)
    IN
    /\ ~crashed[h] /\ s.wait = "Fate"
    /\ FailuresUsed + 1 <= MaxFailures
    /\ failures' = [failures EXCEPT ![h] = @ + 1]
    /\ hs' = [hs EXCEPT ![h] = r.state]
    /\ net' = r.net
    /\ UNCHANGED <<queue, leases, leaseNo, docs, received, crashed, expired>>

\* The weak read handler h is issuing returns the current version (fresh) or
\* the previous one (stale).
ReadAtLevel(h, stale) ==
    LET s == hs[h]
        k == The(s.pending).key
    IN
    /\ ~crashed[h] /\ s.wait = "Level"
    /\ hs' = [hs EXCEPT ![h] = [s EXCEPT !.pending = {}, !.wait = "Doc"]]
    /\ net' = Send(net, h, "store", IF stale THEN StaleGetMsg(s.tag, k) ELSE GetMsg(s.tag, k))
    /\ UNCHANGED <<queue, leases, leaseNo, docs, received, crashed, failures, expired>>

\* Handler h carries out the next effect of its last step.
CarryNext(h) ==
    LET s == hs[h]
        r == CarryOne(h, [state |-> [s EXCEPT !.todo = Tail(@)], net |-> net], Head(s.todo))
    IN
    /\ ~crashed[h] /\ s.todo # <<>>
    /\ hs' = [hs EXCEPT ![h] = Settle(r.state)]
    /\ net' = r.net
    /\ UNCHANGED <<queue, leases, leaseNo, docs, received, crashed, failures, expired>>

\* A busy handler crashes: it keeps its state until it recovers, and its
\* messages stay in flight.
Crash(h) ==
    /\ ~crashed[h]
    /\ Busy(h)
    /\ FailuresUsed + 1 <= MaxFailures
    /\ crashed' = [crashed EXCEPT ![h] = TRUE]
    /\ UNCHANGED <<net, queue, leases, leaseNo, hs, docs, received, failures, expired>>

\* A crashed handler restarts as a new incarnation with nothing in hand and
\* tells the broker that its lease is gone.
Recover(h) ==
    /\ crashed[h]
    /\ hs' = [hs EXCEPT ![h] = Idle(failures[h] + 1, hs[h].failed)]
    /\ failures' = [failures EXCEPT ![h] = @ + 1]
    /\ crashed' = [crashed EXCEPT ![h] = FALSE]
    /\ net' = Send(net, h, "broker", ReconnectMsg)
    /\ UNCHANGED <<queue, leases, leaseNo, docs, received, expired>>

-----------------------------------------------------------------------------

\* The store's history for AtMostOnceStateChange (the twin of
\* StoreState::applied): how many times a write added each input's change to
\* the business state over the run, a bag (2 stands for twice or more).  A
\* change lost to a lost update and applied again counts twice, though the
\* document then holds it once.  Changes(k, d) lists the inputs whose changes
\* document d under key k holds, one entry per change; a step writes at most
\* one document, and what it adds is what the new document holds beyond the
\* old one, input by input.  No actor reads applied.
NoChanges(k, d) == <<>>
Times(s, m) == Cardinality({i \in 1..Len(s) : s[i] = m})
CountApplied(Changes(_, _), emptyDoc) ==
    LET written == {k \in DOMAIN docs' : k \notin DOMAIN docs \/ docs'[k].doc # docs[k].doc}
    IN IF written = {} THEN applied' = applied
       ELSE LET k == CHOOSE x \in written : TRUE
                old == Changes(k, DocOf(k, emptyDoc))
                new == Changes(k, docs'[k].doc)
                Gain(m) == IF Times(new, m) > Times(old, m) THEN Times(new, m) - Times(old, m) ELSE 0
                Count(m) == LET n == (IF m \in DOMAIN applied THEN applied[m] ELSE 0) + Gain(m)
                            IN IF n > 2 THEN 2 ELSE n
            IN applied' = [m \in {x \in DOMAIN applied \cup {new[i] : i \in 1..Len(new)} : Count(x) > 0} |-> Count(m)]

\* Over the run, a write added each input's change to the business state at
\* most once (a family's AtMostOnceStateChange, from CountApplied).
AppliedAtMostOnce == \A m \in DOMAIN applied : applied[m] <= 1

\* Every step of the world, given the family's protocol OnEvent, the endpoint
\* its store serves, Serve (NoServe if none, see StoreCall), what downstream
\* does with an output, Consume (see DownstreamReceive), and its options opts
\* (see WorldOptions).  WorldNext is for a downstream that only records.
WorldNextConsuming(OnEvent(_, _, _), Serve(_, _, _), Changes(_, _), Consume(_), opts) ==
  /\ \/ \E h \in Handlers, m \in DOMAIN queue : Dispatch(h, m, opts)
     \/ \E e \in DOMAIN net :
          \/ BrokerAck(e)
          \/ BrokerNack(e)
          \/ BrokerReconnect(e)
          \/ StoreGet(e, opts.emptyDoc)
          \/ StoreGetStale(e, opts.emptyDoc)
          \/ StorePut(e, opts.emptyDoc, opts.staleKeys)
          \/ StoreCall(e, Serve, opts.emptyDoc)
          \/ StoreLater(e, Serve, opts.emptyDoc)
          \/ DownstreamReceive(e, Consume)
          \/ HandlerReceive(e, OnEvent)
     \/ \E h \in Handlers :
          \/ Expire(h, opts)
          \/ FateOk(h)
          \/ FateFailBefore(h, OnEvent)
          \/ FateTimeout(h, OnEvent)
          \/ CarryNext(h)
          \/ Crash(h)
          \/ Recover(h)
          \/ ReadAtLevel(h, FALSE)
          \/ ReadAtLevel(h, TRUE)
  /\ CountApplied(Changes, opts.emptyDoc)

WorldNext(OnEvent(_, _, _), Serve(_, _, _), Changes(_, _), opts) ==
    WorldNextConsuming(OnEvent, Serve, Changes, NoConsume, opts)

\* The orders in which a run could process each input exactly once: sequences
\* holding every input once, with a before b for each <<a, b>> in causal.
ExactlyOnceOrders(causal) ==
    LET At(s, m) == CHOOSE i \in 1..Msgs : s[i] = m IN
    { s \in [1..Msgs -> Inputs] :
        /\ \A m \in Inputs : \E i \in 1..Msgs : s[i] = m
        /\ \A c \in causal : At(s, c[1]) < At(s, c[2]) }

\* A write or call m that timed out will apply when it reaches the store (a
\* call always does; a write if its version check passes).
WillApply(m) == m.late /\ (m.type = "Call" \/ m.expected = {} \/ The(m.expected) = VersionOf(m.key))

\* A write that timed out is on its way and will apply: its writer was told it
\* failed.
AmbiguousWrite == \E e \in DOMAIN net : e.msg.type = "Put" /\ WillApply(e.msg)

\* A write or call that timed out is on its way and will apply, while its
\* writer (up, the same incarnation), told that it failed, works on: the
\* retry races the late write.
LateWrite ==
    \E e \in DOMAIN net :
        /\ e.msg.type \in {"Put", "Call"} /\ WillApply(e.msg)
        /\ e.src \in Handlers /\ ~crashed[e.src] /\ e.msg.tag = hs[e.src].tag /\ Busy(e.src)

\* Every input consumed: nothing left in the queue, nothing leased.
InputConsumed == DOMAIN queue = {} /\ \A h \in Handlers : leases[h] = NoLease

\* Where every run is to end: nothing left in the queue (inputs and jobs) and
\* nothing leased.
Done == InputConsumed

\* Every run ends with the input consumed (the one liveness property).
Termination == <>Done

-----------------------------------------------------------------------------
(* The world's situations: non-vacuity checks with one meaning in every     *)
(* family, beside the family's own (twins of src/families/situations.rs).   *)

\* A write will fail its version check, and its writer has never failed (so
\* its own writes were all answered before it read): the version moved
\* because another handler wrote.
ConflictBetweenHandlers ==
    \E e \in DOMAIN net :
        /\ e.msg.type = "Put" /\ e.msg.expected # {}
        /\ The(e.msg.expected) # VersionOf(e.msg.key)
        /\ e.src \in Handlers /\ hs[e.src].tag = 0

\* A handler that is down has the answer to a write (or call) of its that
\* applied on its way to it, and taking it, the handler would send outputs: a
\* change it committed has outputs not yet sent.  A family names it
\* CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent).
CommittedNotPublished(OnEvent(_, _, _)) ==
    \E e \in DOMAIN net :
        LET h == e.dst
            m == e.msg
        IN
        /\ h \in Handlers /\ crashed[h]
        /\ \/ m.type = "PutReply" /\ m.result = "Ok" /\ hs[h].wait \in {"PutReply", "Reply"}
           \/ m.type = "Doc" /\ hs[h].wait = "Reply"
        /\ Takes(h, m)
        /\ LET r == OnEvent([handler |-> h, tag |-> hs[h].tag, ids |-> hs[h].ids], hs[h].work, EventOf(m))
           IN \E i \in DOMAIN r.fx : r.fx[i].type = "Publish"

\* A handler that is down has an ack among the effects it had left: it crashed
\* after publishing and before acking (only a publish can come before an ack
\* in one step).
CrashAfterPublishBeforeAck ==
    \E h \in Handlers : crashed[h] /\ \E i \in DOMAIN hs[h].todo : hs[h].todo[i].type = "Ack"

\* A handler's lease is taken back and its copy offered again: a nack or a
\* reconnect that ends a lease is on its way to the broker, or a handler holds
\* a copy (or has one on its way to it, or its ack of it on the way back) that
\* its lease no longer names (the lease expired, or the ack will be lost).
\* Not a sender duplicate.
Redelivery ==
    \/ \E e \in DOMAIN net :
        \/ e.src \in Handlers /\ e.msg.type = "Nack" /\ Names(e)
        \/ e.src \in Handlers /\ e.msg.type = "Ack" /\ ~Names(e)
        \/ e.src \in Handlers /\ e.msg.type = "Reconnect" /\ leases[e.src] # NoLease
        \/ e.dst \in Handlers /\ e.msg.type = "Deliver" /\ ~Named(e.dst, e.msg.input, e.msg.n)
    \/ \E h \in Handlers : hs[h].input # 0 /\ ~Named(h, hs[h].input, hs[h].delivery)

\* A write (or call) has failed before applying: its writer was told, and it
\* never lands (a history each handler keeps in hs[h].failed).
FailedWrite == \E h \in Handlers : hs[h].failed > 0

\* A weak read is on its way that will return an older committed version: the
\* store keeps the previous version of its document.
StaleRead ==
    \E e \in DOMAIN net :
        e.msg.type = "GetStale" /\ e.msg.key \in DOMAIN docs /\ "prev" \in DOMAIN docs[e.msg.key]

\* The handlers are interchangeable: a model file that checks invariants only may
\* name SYMMETRY HandlerPerms (symmetry reduction is unsound for liveness).
HandlerPerms == Permutations(Handlers)

=============================================================================
