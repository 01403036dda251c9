-------------------------------- MODULE Http --------------------------------
(***************************************************************************)
(* The exactly-once HTTP protocol between two message-driven systems (the  *)
(* "exactly-once" blog, an adaptation of token-based deduplication).  A    *)
(* handler of system A, processing an input, charges it through an HTTP    *)
(* server, system B: it records a request id for the input, PUTs the       *)
(* request under that id (create-only: the stored request is the token),  *)
(* POSTs to process it (the server charges a stored request once and       *)
(* stores the response with it: the processed mark), GETs the response    *)
(* (the follow-up step), records it, DELETEs the request, and acks.  Every *)
(* call is retried after a timeout, with the same id.                      *)
(*                                                                         *)
(* The server is the store's endpoint (World's StoreCall): each call is    *)
(* one atomic step of the store on the request's document, and its fate is *)
(* drawn when it is issued, as a write's is: delivered; the request lost   *)
(* (the caller sees a timeout, nothing applied); or timed out (the caller  *)
(* sees a timeout at once while the call is still on its way: it applies   *)
(* later, before or after the caller's retry).  The charge is the output   *)
(* the server sends in the same step.  Abstracted: the                     *)
(* server's own crashes (a call is atomic), and the follow-up message (the *)
(* GET follows in the same handler run; a redelivery resumes from A's      *)
(* record).  Twin of src/families/http.rs (same counts, same verdicts).    *)
(***************************************************************************)
EXTENDS LedgerWorld

CONSTANT Variant

Variants == {"Correct", "PostWithoutMark", "NewRequestIdOnRetry", "NoDelete", "GiveUp"}
ASSUME Variant \in Variants

-----------------------------------------------------------------------------
(* Documents, requests and responses: [kind, input, req].  A's records of  *)
(* the inputs (under the inputs' keys): "Requested" (req: the request id   *)
(* drawn), "Responded" (the response of req is in hand).  B's requests     *)
(* (under keys derived from fresh ids): "Stored", "Processed" (charged,    *)
(* response stored), "Deleted".  The calls: "Put" (of input), "Post",     *)
(* "Get", "Delete".                                                        *)

D(kind, m, r) == [kind |-> kind, input |-> m, req |-> r]
Unwritten == D("Unwritten", 0, 0)

-----------------------------------------------------------------------------
(* The server.                                                             *)

\* POST on a stored request: charge it, and store the response (processed).
Charge(k, m) ==
    [write |-> {D("Processed", m, 0)}, response |-> D("Processed", m, 0),
     publish |-> <<[input |-> m, req |-> k]>>, later |-> {}]

\* PUT stores a request if none was ever stored under its id (create-only);
\* POST charges a stored request and marks it processed; GET returns the
\* document; DELETE removes a stored or processed request.
Serve(k, d, op) ==
    CASE op.kind = "Put" /\ d.kind = "Unwritten" ->
           [write |-> {D("Stored", op.input, 0)}, response |-> D("Stored", op.input, 0), publish |-> <<>>, later |-> {}]
      [] op.kind = "Post" /\ d.kind = "Stored" -> Charge(k, d.input)
      [] op.kind = "Post" /\ d.kind = "Processed" /\ Variant = "PostWithoutMark" -> Charge(k, d.input)
      [] op.kind = "Delete" /\ d.kind \in {"Stored", "Processed"} ->
           [write |-> {D("Deleted", 0, 0)}, response |-> D("Deleted", 0, 0), publish |-> <<>>, later |-> {}]
      [] OTHER -> [write |-> {}, response |-> d, publish |-> <<>>, later |-> {}]

-----------------------------------------------------------------------------
(* The caller.  work is {} (idle) or {[input, phase, req, version,         *)
(* retried]}: phase "Loading" (A's record is requested), "Recording" (the  *)
(* new request id is being recorded), "Putting", "Posting", "Getting"     *)
(* (the call is on its way), "Responding" (the response is being           *)
(* recorded), "Deleting"; req the request id (0 before one is drawn);     *)
(* version that of A's record, read or written last; retried: the call on  *)
(* its way is a retry after a timeout.                                     *)

W(m, phase, r, v, retried) == [input |-> m, phase |-> phase, req |-> r, version |-> v, retried |-> retried]

\* Call the request of phase on request r.
CallIn(m, phase, r, v, retried) ==
    LET op == CASE phase = "Putting" -> D("Put", m, 0)
                [] phase = "Posting" -> D("Post", 0, 0)
                [] phase = "Getting" -> D("Get", 0, 0)
                [] phase = "Deleting" -> D("Delete", 0, 0)
    IN Continue(W(m, phase, r, v, retried), <<Call(r, op)>>)

\* The call of w timed out (the request lost, or still on its way): retry it, with the same
\* id; in NewRequestIdOnRetry a timed-out PUT or POST starts over with a fresh one.
OnTimeout(ctx, w) ==
    IF Variant = "GiveUp" THEN Finish(<<>>)   \* dropped: neither acked nor nacked
    ELSE IF Variant = "NewRequestIdOnRetry" /\ w.phase \in {"Putting", "Posting"}
      THEN Drawing(CallIn(w.input, "Putting", FreshKey(FreshId(ctx, 0)), w.version, TRUE), 1)
    ELSE CallIn(w.input, w.phase, w.req, w.version, TRUE)

\* Idle: an input is delivered; read A's record of it.
OnDelivered(event) == Continue(W(event.input, "Loading", 0, 0, FALSE), <<Get(event.input)>>)

\* A's record of the input is read (at version v).
OnRecord(ctx, w, record, v) ==
    LET m == w.input IN
    CASE record.kind = "Responded" /\ Variant = "NoDelete" -> Finish(<<Ack(m)>>)
      [] record.kind = "Responded" -> CallIn(m, "Deleting", record.req, v, FALSE)
      [] record.kind = "Requested" /\ Variant = "NewRequestIdOnRetry" ->
           Drawing(CallIn(m, "Putting", FreshKey(FreshId(ctx, 0)), v, FALSE), 1)
      [] record.kind = "Requested" -> CallIn(m, "Putting", record.req, v, FALSE)
      [] OTHER ->
           LET r == FreshKey(FreshId(ctx, 0)) IN
           Drawing(Continue(W(m, "Recording", r, v, FALSE), <<Put(m, D("Requested", 0, r), v)>>), 1)

\* A call is answered with a response.
OnResponse(w, response) ==
    CASE w.phase = "Putting" -> CallIn(w.input, "Posting", w.req, w.version, FALSE)
      [] w.phase = "Posting" -> CallIn(w.input, "Getting", w.req, w.version, FALSE)
      [] w.phase = "Getting" /\ response.kind = "Processed" ->
           Continue([w EXCEPT !.phase = "Responding", !.retried = FALSE],
                    <<Put(w.input, D("Responded", 0, w.req), w.version)>>)
      [] w.phase = "Getting" -> Finish(<<Nack(w.input)>>)   \* no response to get: start over
      [] w.phase = "Deleting" -> Finish(<<Ack(w.input)>>)

\* A write of A's record is answered, or a call timed out.
OnWritten(ctx, w, result) ==
    CASE w.phase = "Recording" /\ result = "Ok" ->
           CallIn(w.input, "Putting", w.req, w.version + 1, FALSE)
      [] w.phase = "Responding" /\ result = "Ok" /\ Variant = "NoDelete" -> Finish(<<Ack(w.input)>>)
      [] w.phase = "Responding" /\ result = "Ok" ->
           CallIn(w.input, "Deleting", w.req, w.version + 1, FALSE)
      [] w.phase \in {"Recording", "Responding"} -> Finish(<<Nack(w.input)>>)
      [] OTHER -> OnTimeout(ctx, w)

\* The protocol: the step for the event, chosen by the work's phase.
OnEvent(ctx, work, event) ==
    IF work = {} THEN OnDelivered(event)
    ELSE LET w == The(work) IN
         CASE w.phase = "Loading" -> OnRecord(ctx, w, event.doc, event.version)
           [] event.type = "Loaded" -> OnResponse(w, event.doc)
           [] OTHER -> OnWritten(ctx, w, event.result)

-----------------------------------------------------------------------------

Phases == {"Loading", "Recording", "Putting", "Posting", "Getting", "Responding", "Deleting"}

TypeOK ==
    /\ WorldTypeOK
    /\ \A h \in Handlers : \A w \in hs[h].work : w.input \in Inputs /\ w.phase \in Phases
    /\ \A k \in DOMAIN docs :
         docs[k].doc.kind \in {"Requested", "Responded", "Stored", "Processed", "Deleted"}

\* The world's options: the defaults; the store serves Serve.
Opts == WorldOptions(Unwritten)

Init == WorldInit(Opts)

Next == WorldNext(OnEvent, Serve, NoChanges, Opts)

Spec == Init /\ [][Next]_vars /\ WF_vars(Next)

-----------------------------------------------------------------------------
(* Properties.  The charges are the outputs downstream received.           *)

DocAt(k) == DocOf(k, Unwritten)

\* No input is charged twice (every charge copy counts).
AtMostOnceCharge ==
    \A o \in Outputs : received[o] = 1 /\ \A p \in Outputs : p.input = o.input => p = o

\* At quiescence every input was charged, and its caller holds the response of that charge.
NoLostResponse ==
    \/ ENABLED Next
    \/ \A m \in Inputs :
         DocAt(m).kind = "Responded" /\ [input |-> m, req |-> DocAt(m).req] \in Outputs

\* At quiescence the server keeps no stored request or response.
NoGarbage ==
    ENABLED Next \/ \A k \in DOMAIN docs : docs[k].doc.kind \notin {"Stored", "Processed"}

\* B's request records, tombstones included: a deleted id stays "Deleted", so
\* that a late or retried PUT of it cannot store the request again.
Requests == {k \in DOMAIN docs : docs[k].doc.kind \in {"Stored", "Processed", "Deleted"}}

\* The server holds at most one request record per input, tombstones included:
\* its dedup data is bounded by the inputs (how long a tombstone must be kept:
\* specs/http/README.md).
BoundedDedupState == Cardinality(Requests) <= Cardinality(Inputs)

(* Reachability ("sometimes") predicates: checked by ~P as an invariant.   *)

\* A handler is loading a copy of an input an earlier attempt recorded.
DuplicateDelivered ==
    \E h \in Handlers : \E w \in hs[h].work :
        w.phase = "Loading" /\ DocAt(w.input).kind # "Unwritten"

\* A handler is down after the server charged its request and before A recorded the response.
CrashAfterCharge ==
    \E h \in Handlers : \E w \in hs[h].work :
        crashed[h] /\ DocAt(w.req).kind = "Processed" /\ DocAt(w.input).kind # "Responded"

\* A handler retries a POST after a timeout, and the POST that timed out had been processed.
RetryAfterAmbiguousTimeout ==
    \E h \in Handlers : \E w \in hs[h].work :
        w.phase = "Posting" /\ w.retried /\ DocAt(w.req).kind = "Processed"

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
