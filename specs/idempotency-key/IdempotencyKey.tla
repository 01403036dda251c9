--------------------------- MODULE IdempotencyKey ---------------------------
(***************************************************************************)
(* What most HTTP APIs do against duplicate requests: the caller (a        *)
(* handler of system A) sends its POST with an operation-id header,        *)
(* derived from the input's id so that every retry and redelivery carries  *)
(* the same one; the server keeps a table of processed ids with their      *)
(* responses, charges an unknown id and enters it, and answers a known one *)
(* from the table.  The caller retries a timed-out POST, records the       *)
(* response and acks.  Window: the server evicts an id after a retention   *)
(* window, modelled as an eviction it sends itself when it enters the id,  *)
(* applied at any later point (bounded: one per entry).  GetBeforePost: no *)
(* table; the caller GETs the result first and POSTs only if there is      *)
(* none.  The server is the store's endpoint, as in Http (one atomic step  *)
(* per call, the call's fate drawn at issue; its own crashes abstracted).  *)
(* Twin of src/families/idempotency_key.rs.                                *)
(***************************************************************************)
EXTENDS LedgerWorld

CONSTANT Variant

Variants == {"KeepForever", "Window", "GetBeforePost", "GiveUp"}
ASSUME Variant \in Variants

\* Documents, requests and responses: [kind, input].  A's records under the
\* inputs' keys ("Responded"), the table's entries under EntryKey(m)
\* ("Processed", "Evicted"); the calls "Post" (of input), "Get", "Evict".
D(kind, m) == [kind |-> kind, input |-> m]
Unwritten == D("Unwritten", 0)
EntryKey(m) == 8 + m

\* POST charges an unknown id and enters it (in Window with its eviction to
\* come), and answers a known one; without a table it always charges.  GET
\* returns the entry; the eviction forgets the id.
Serve(k, d, op) ==
    LET known == d.kind = "Processed" /\ Variant # "GetBeforePost" IN
    CASE op.kind = "Post" /\ ~known ->
           [write |-> {D("Processed", op.input)}, response |-> D("Processed", op.input),
            publish |-> <<[input |-> op.input]>>,
            later |-> IF Variant = "Window" THEN {D("Evict", 0)} ELSE {}]
      [] op.kind = "Evict" /\ d.kind = "Processed" ->
           [write |-> {D("Evicted", 0)}, response |-> D("Evicted", 0), publish |-> <<>>, later |-> {}]
      [] OTHER -> [write |-> {}, response |-> d, publish |-> <<>>, later |-> {}]

-----------------------------------------------------------------------------
(* The caller.  work is {} or {[input, phase, version, retried]}: phase    *)
(* "Loading", "Checking" (the GET, GetBeforePost), "Posting",              *)
(* "Responding" (the response is being recorded).                          *)

W(m, phase, v, retried) == [input |-> m, phase |-> phase, version |-> v, retried |-> retried]

CallIn(m, phase, v, retried) ==
    Continue(W(m, phase, v, retried),
             <<Call(EntryKey(m), IF phase = "Checking" THEN D("Get", 0) ELSE D("Post", m))>>)

FirstCall == IF Variant = "GetBeforePost" THEN "Checking" ELSE "Posting"

\* Idle: an input is delivered; read A's record of it.
OnDelivered(event) == Continue(W(event.input, "Loading", 0, FALSE), <<Get(event.input)>>)

\* A's record of the input is read (at version v): a recorded response means
\* done, else make the first call.
OnRecord(w, record, v) ==
    IF record.kind = "Responded" THEN Finish(<<Ack(w.input)>>)
    ELSE CallIn(w.input, FirstCall, v, FALSE)

\* A call is answered with a response: POST after a GET that found no entry,
\* else record the response.
OnResponse(w, response) ==
    IF w.phase = "Checking" /\ response.kind # "Processed"
      THEN CallIn(w.input, "Posting", w.version, FALSE)
      ELSE Continue([w EXCEPT !.phase = "Responding", !.retried = FALSE],
                    <<Put(w.input, D("Responded", 0), w.version)>>)

\* A call timed out: retry (GET first in GetBeforePost), or give up.
OnTimeout(w) ==
    IF Variant = "GiveUp" THEN Finish(<<>>)   \* dropped: neither acked nor nacked
    ELSE CallIn(w.input, FirstCall, w.version, TRUE)

\* The write of the response is answered, or a call timed out.
OnWritten(w, result) ==
    CASE w.phase = "Responding" /\ result = "Ok" -> Finish(<<Ack(w.input)>>)
      [] w.phase = "Responding" -> Finish(<<Nack(w.input)>>)
      [] OTHER -> OnTimeout(w)

\* The protocol: the step for the event, chosen by the work's phase.
OnEvent(ctx, work, event) ==
    IF work = {} THEN OnDelivered(event)
    ELSE LET w == The(work) IN
         CASE w.phase = "Loading" -> OnRecord(w, event.doc, event.version)
           [] event.type = "Loaded" -> OnResponse(w, event.doc)
           [] OTHER -> OnWritten(w, event.result)

-----------------------------------------------------------------------------

TypeOK ==
    /\ WorldTypeOK
    /\ \A h \in Handlers : \A w \in hs[h].work :
         w.input \in Inputs /\ w.phase \in {"Loading", "Checking", "Posting", "Responding"}

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

\* At quiescence every input was charged and its caller recorded the response.
NoLostResponse ==
    \/ ENABLED Next
    \/ \A m \in Inputs : DocAt(m).kind = "Responded" /\ [input |-> m] \in Outputs

\* The table holds only ids within their retention window: each entry has its eviction to come.
BoundedDedupState ==
    \A k \in DOMAIN docs :
        docs[k].doc.kind = "Processed" =>
            \E e \in DOMAIN net : e.msg.type = "Later" /\ e.msg.key = k

\* A handler is loading a copy of an input whose response is recorded.
DuplicateDelivered ==
    \E h \in Handlers : \E w \in hs[h].work :
        w.phase = "Loading" /\ DocAt(w.input).kind = "Responded"

\* A handler is down after the server charged its input and before A recorded the response.
CrashAfterCharge ==
    \E h \in Handlers : \E w \in hs[h].work :
        crashed[h] /\ DocAt(EntryKey(w.input)).kind = "Processed" /\ DocAt(w.input).kind # "Responded"

\* A handler retries a POST after a timeout, and the POST that timed out had been processed.
RetryAfterAmbiguousTimeout ==
    \E h \in Handlers : \E w \in hs[h].work :
        w.phase = "Posting" /\ w.retried /\ DocAt(EntryKey(w.input)).kind = "Processed"

\* The world's CommittedNotPublished for this protocol (World.tla).
CrashAfterCommitBeforePublish == CommittedNotPublished(OnEvent)

=============================================================================
