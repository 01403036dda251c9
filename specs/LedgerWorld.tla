----------------------------- MODULE LedgerWorld -----------------------------
(***************************************************************************)
(* The shared World, for families whose business state is a ledger of     *)
(* applied changes (a sequence of <<m, p>>: input m's change took          *)
(* position p) and whose outputs are records with the fields input and     *)
(* position (the position of their input's change), and perhaps more.     *)
(* The conditions below take the ledger as an argument; a family names    *)
(* the properties.  Twin of src/families/ledger.rs.                      *)
(***************************************************************************)
EXTENDS World

\* The position of m's change in ledger l (its first one), or 0 if none.
StoredAt(l, m) ==
    LET at == {i \in 1..Len(l) : l[i][1] = m}
    IN IF at = {} THEN 0 ELSE l[CHOOSE i \in at : \A j \in at : i <= j][2]

\* The number of changes of input m in ledger l.
Changes(l, m) == Cardinality({i \in 1..Len(l) : l[i][1] = m})

\* Every output copy downstream has received.
Outputs == DOMAIN received

\* Some output of input m is on its way downstream or received.
OutputSent(m) ==
    \/ \E o \in Outputs : o.input = m
    \/ \E e \in DOMAIN net : e.msg.type = "Output" /\ e.msg.out.input = m

\* Every output's input has its change in l.
NoGhostIn(l) == \A o \in Outputs : StoredAt(l, o.input) # 0

\* Every input is in l and has an output.
AllAppliedAndSent(l) == \A m \in Inputs : StoredAt(l, m) # 0 /\ \E o \in Outputs : o.input = m

\* The inputs of the changes in ledger l, one entry per change (for
\* CountApplied: a family's Changes(k, d) is this for its ledger's key).
ChangesIn(l) == [i \in 1..Len(l) |-> l[i][1]]

\* All output copies of one input are identical and report the position of
\* every change of it in l.
ConsistentWith(l) ==
    \A o \in Outputs :
        /\ \A q \in Outputs : q.input = o.input => q = o
        /\ \A i \in 1..Len(l) : l[i][1] = o.input => l[i][2] = o.position

\* The outcome of processing each input exactly once (in some order: the
\* inputs are independent): each input's change in l once, and one distinct
\* output per input, reporting that change.
ExactlyOnceIn(l) ==
    \A m \in Inputs :
        /\ Changes(l, m) = 1
        /\ Cardinality({o \in Outputs : o.input = m}) = 1
        /\ \A o \in Outputs : o.input = m => o.position = StoredAt(l, m)

\* The inputs still to be processed: queued or leased by the broker, or in a
\* handler's hands (a copy on its way to a handler, or the copy a handler
\* works on, whose lease may have expired).
InFlight ==
    (DOMAIN queue \cup {leases[h] : h \in Handlers} \cup {hs[h].input : h \in Handlers}
       \cup {e.msg.input : e \in {x \in DOMAIN net : x.msg.type = "Deliver"}}) \ {NoLease}

\* A handler that is up has a document on its way to it that it will take,
\* and P(w, d) holds of its work w and that document d.
AboutToLoad(P(_, _)) ==
    \E e \in DOMAIN net :
        /\ e.msg.type = "Doc" /\ e.dst \in Handlers
        /\ ~crashed[e.dst] /\ e.msg.tag = hs[e.dst].tag
        /\ \E w \in hs[e.dst].work : P(w, e.msg.doc)

\* Two handlers that are up work on copies of one input at once, and its
\* change is in l: a duplicate racing its original.
DuplicateRaceIn(l) ==
    \E h1, h2 \in Handlers : \E w1 \in hs[h1].work, w2 \in hs[h2].work :
        /\ h1 # h2 /\ ~crashed[h1] /\ ~crashed[h2]
        /\ w1.input = w2.input /\ StoredAt(l, w1.input) # 0

\* The handlers numbered (any one-to-one numbering will do), for FreshKey.
HandlerIndex == CHOOSE f \in [Handlers -> 0..Cardinality(Handlers) - 1] :
                    \A a, b \in Handlers : a # b => f[a] # f[b]

\* The document key of fresh id id (a token, a blob name), above the keys
\* 0..16 that families use for entities and inputs.
FreshKey(id) == 16 + HandlerIndex[id.handler] * 56 + id.tag * 8 + id.n

=============================================================================
