//! `sync-async`: the boundary between a web request and the asynchronous core. The browser's
//! "submit order" request for cart `m` is input `m`; browsers and clients retry (sender
//! duplicates, and a redelivery after every failure: an error or a timeout, including one whose
//! save still lands after the browser was told it failed). The web handler loads the cart;
//! if it is not submitted, it saves it with `Submitted` set (version check) and then sends a
//! `SubmitOrder` message; if it is already submitted (a retry, the first request may have been
//! applied), it sends `SubmitOrder` again, since it cannot know whether the first send happened
//! (`ResendIfInDoubt`). `SubmitOrder` carries a message id derived from the cart's id (the blog:
//! the id is generated at the boundary from the identity of the data set), so that every copy
//! and every resend is one logical message. The Orders endpoint is modelled minimally: it
//! deduplicates by message id, so the orders of a cart are the distinct ids of its `SubmitOrder`
//! copies downstream received.
//!
//! Twin of `specs/sync-async/SyncAsync.tla`.

use super::situations::{self, at_quiescence, some_handler_holds};
use super::world_family::WorldFamily;
use crate::property;
use crate::world::Property;
use crate::world::{TlaMap, Effects, Event, Input, Msg, MsgId, Protocol, TlaNames, Version, View, World, WriteResult};
use crate::core::tla::{int, record, Value};
use std::collections::BTreeSet;
use crate::core::vocab::{Consts};
use serde::Serialize;

pub struct SyncAsyncFamily;
pub static SYNC_ASYNC: SyncAsyncFamily = SyncAsyncFamily;

crate::variants! {
    pub enum Variant {
        /// Save, then send; a retry that finds the cart submitted sends again; the receiver dedups.
        ResendIfInDoubt,
        /// As `ResendIfInDoubt`, but a cart not yet submitted gets its `SubmitOrder` before the
        /// save: an order for a cart that is not submitted.
        SendThenSave,
        /// Save, then send; a retry that finds the cart submitted sends nothing: a lost order.
        SaveThenSendOnce,
        /// As `ResendIfInDoubt`, but each send draws a fresh message id: a resend is a second
        /// logical message, and the Orders endpoint creates a second order.
        FreshIdPerRequest,
        /// As `ResendIfInDoubt`, but a failed or conflicting save drops the request, unanswered.
        GiveUp,
    }
}



/// A cart, under its own key (the input's number). Never written: not submitted.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Cart {
    pub submitted: bool,
}

/// The message to the asynchronous core, under its message id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SubmitOrder {
    pub id: MsgId,
    pub cart: Input,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    Loading,
    /// The save of the submitted cart is on its way.
    Saving,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Work {
    pub input: Input,
    pub phase: Phase,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct SyncAsyncProtocol {
    pub variant: Variant,
}

const STORE: usize = 0;

/// The protocol's steps, one method per step of the TLA+ twin, named as its operators are.
impl SyncAsyncProtocol {
    /// Send `SubmitOrder` for `cart`, under the id derived from the cart, or a fresh one.
    fn send(&self, cart: Input, fx: &mut Effects<Self>) {
        let id = if self.variant == Variant::FreshIdPerRequest { MsgId::Fresh(fx.fresh_id()) } else { MsgId::Of(cart) };
        fx.publish(SubmitOrder { id, cart });
    }

    /// Idle: a request is delivered; load the cart.
    fn on_delivered(&self, cart: Input, fx: &mut Effects<Self>) -> Option<Work> {
        fx.get(STORE, cart);
        Some(Work { input: cart, phase: Phase::Loading })
    }

    /// The cart is loaded: a retry finds it submitted and sends again (or not); otherwise save
    /// it as submitted.
    fn on_loaded(&self, cart: Input, version: Version, doc: Cart, fx: &mut Effects<Self>) -> Option<Work> {
        use Variant::*;
        if doc.submitted {
            // A retry: the first request was applied, its send may or may not have happened.
            if self.variant != SaveThenSendOnce {
                self.send(cart, fx);
            }
            fx.ack(cart);
            return None;
        }
        if self.variant == SendThenSave {
            self.send(cart, fx);
        }
        fx.put(STORE, cart, Cart { submitted: true }, version);
        Some(Work { input: cart, phase: Phase::Saving })
    }

    /// The save is answered: send `SubmitOrder` and ack, or give the request back.
    fn on_written(&self, cart: Input, result: WriteResult, fx: &mut Effects<Self>) -> Option<Work> {
        use Variant::*;
        if result == WriteResult::Ok {
            if self.variant != SendThenSave {
                self.send(cart, fx);
            }
            fx.ack(cart);
        } else if self.variant != GiveUp {
            // An error or a timeout: the browser retries.
            fx.nack(cart);
        }
        None
    }
}

impl Protocol for SyncAsyncProtocol {
    type Doc = Cart;
    type Output = SubmitOrder;
    type Work = Work;

    /// Picks the step by the work's phase, as `OnEvent` does.
    fn on_event(&self, work: Option<&Work>, event: Event<Cart>, fx: &mut Effects<Self>) -> Option<Work> {
        match (work, event) {
            (None, Event::Delivered(cart)) => self.on_delivered(cart, fx),
            (Some(&Work { input: cart, phase: Phase::Loading }), Event::Loaded { version, doc, .. }) => self.on_loaded(cart, version, doc, fx),
            (Some(&Work { input: cart, phase: Phase::Saving }), Event::Written { result, .. }) => self.on_written(cart, result, fx),
            (work, event) => unreachable!("sync-async handler got {event:?} while {work:?}"),
        }
    }
}

type V<'a> = View<'a, SyncAsyncProtocol>;

fn submitted(v: &View<'_, SyncAsyncProtocol>, cart: Input) -> bool {
    v.store(STORE).doc(cart).submitted
}

/// The orders the Orders endpoint holds for `cart`: it dedups by message id, so one per distinct
/// id among the `SubmitOrder` copies of the cart downstream received (every variant alike).
fn orders(v: &View<'_, SyncAsyncProtocol>, cart: Input) -> usize {
    v.outputs().iter().filter(|o| o.cart == cart).map(|o| o.id).collect::<BTreeSet<_>>().len()
}

/// Some `SubmitOrder` of `cart` is on its way or received.
fn sent(v: &View<'_, SyncAsyncProtocol>, cart: Input) -> bool {
    v.outputs().iter().any(|o| o.cart == cart) || v.in_flight().any(|m| matches!(m, Msg::Output(o) if o.cart == cart))
}

/// No order exists for a cart that is not submitted.
fn no_ghost_orders(v: &V) -> bool {
    (1..=v.world.inputs).all(|c| orders(v, c) == 0 || submitted(v, c))
}

/// At quiescence, every cart is submitted and has its order.
fn no_lost_orders(v: &V) -> bool {
    at_quiescence(v, |v| (1..=v.world.inputs).all(|c| submitted(v, c) && orders(v, c) >= 1))
}

/// No cart has two orders.
fn at_most_one_order(v: &V) -> bool {
    (1..=v.world.inputs).all(|c| orders(v, c) <= 1)
}


/// A handler is down after its save applied and before any `SubmitOrder` of the cart was sent.
fn crash_between_save_and_send(v: &V) -> bool {
    some_handler_holds(v, |w, down| down && w.phase == Phase::Saving && submitted(v, w.input) && !sent(v, w.input))
}

const PROPERTIES: &[Property<SyncAsyncProtocol>] = &[
    property!("NoGhostOrders", Invariant, "no order exists for a cart that is not submitted", no_ghost_orders),
    property!("NoLostOrders", Invariant, "at quiescence every cart is submitted and has its order", no_lost_orders),
    property!("AtMostOneOrder", Invariant, "no cart has two orders (the second Porsche)", at_most_one_order),
    property!("Termination", Liveness, "every run ends with every request consumed", situations::terminated::<SyncAsyncProtocol>),
    property!("CrashBetweenSaveAndSend", Sometimes, "a handler is down after saving the cart and before sending SubmitOrder", crash_between_save_and_send),
];


impl WorldFamily for SyncAsyncFamily {
    type P = SyncAsyncProtocol;
    const ID: &'static str = "sync-async";
    const MODULE: &'static str = "SyncAsync";
    const SUMMARY: &'static str =
        "A web request that starts an asynchronous process: save the cart as submitted, send SubmitOrder; browsers retry.";
    const VARIANTS: &'static [&'static str] = Variant::NAMES;
    const PROPERTIES: &'static [Property<SyncAsyncProtocol>] = PROPERTIES;

    fn world(&self, consts: &Consts) -> World<SyncAsyncProtocol> {
        crate::world::world(SyncAsyncProtocol { variant: Variant::parse(consts.string("Variant")) }, consts, 1)
    }
}

/// The TLA+ twin writes work and documents as their serde form, and an output's id as
/// World.tla's `IdOf` or `FreshId`.
impl TlaMap for SyncAsyncProtocol {
    fn tla_output(&self, o: &SubmitOrder, names: &TlaNames) -> Value {
        record([("id", names.msg_id(&o.id)), ("cart", int(o.cart))])
    }
}
