// The TV user interface: a stack of screens driven by remote keys only.
// Each screen is an object { name, title, view() -> [Node], key?(k) -> handled,
// enter?(), leave?() }; focusable nodes carry the class "focusable" and an
// `ok` function. The page reads its client token from ?token= (the STB's
// browser launcher passes it), then keeps it in sessionStorage.

import { Rpc } from './rpc.js';
import { keyOf } from './keys.js';
import {
  money, time, when, dateTime, terms, refusals, orderEnds, orderSteps, reasonOf, methodText, creditApproved, settlementText,
} from './format.js';

const query = new URLSearchParams(location.search);
const token = query.get('token') || sessionStorage.getItem('boxoffice.token') || '';
sessionStorage.setItem('boxoffice.token', token);
// The token stays out of the address (and so out of the browser's history) once kept.
if (query.has('token')) history.replaceState(null, '', location.pathname);
const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
const rpc = new Rpc(`${scheme}://${location.host}/jsonrpc?token=${encodeURIComponent(token)}`);

const $ = (id) => document.getElementById(id);
const main = $('main');
const banner = $('message');

// ---- DOM helpers ----

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'ok') node.ok = v;
    else if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

const button = (label, id, ok) => h('span', { class: 'button focusable', 'data-id': id, ok }, label);
const facts = (pairs) => h('dl', { class: 'facts' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));

// ---- messages ----

function say(text, { reason = '', kind = 'error' } = {}) {
  banner.textContent = text;
  banner.className = kind;
  banner.dataset.reason = reason;
  banner.hidden = false;
}

function clearMessage() {
  banner.hidden = true;
  banner.textContent = '';
  banner.dataset.reason = '';
}

// A refusal from ppv (or any call): the contract's sentence for its keyword.
// `ev`: the event being bought, when there is one.
async function refuse(error, ev = null) {
  const reason = reasonOf(error);
  let text = refusals[reason] || error.message;
  try {
    if (reason === 'over-credit-limit' && ev) {
      const c = await rpc.call('billing.1.credit');
      text = `${refusals[reason]} It costs ${money(ev.price, ev.currency)}; ${money(c.available, c.currency)} of your ` +
        `${money(c.limit, c.currency)} credit is left. Settle through your phone to free credit.`;
    } else if (reason === 'pin-wrong') {
      const s = error.data.attemptsLeft !== undefined ? error.data : await rpc.call('ppv.1.pinStatus');
      text += ` ${s.attemptsLeft} attempt${s.attemptsLeft === 1 ? '' : 's'} left.`;
    } else if (reason === 'pin-locked') {
      const s = error.data.lockedUntil ? error.data : await rpc.call('ppv.1.pinStatus');
      if (s.lockedUntil) text += ` Try again after ${time(s.lockedUntil)}.`;
    }
  } catch (e) { /* the sentence alone is still clear */ }
  say(text, { reason });
}

// ---- screen stack ----

let stack = [];
const current = () => stack[stack.length - 1];

function render() {
  const s = current();
  document.body.dataset.screen = s.name;
  $('title').textContent = s.title;
  main.replaceChildren(...[s.view()].flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
  const items = [...main.querySelectorAll('.focusable')];
  s.focus = Math.max(0, Math.min(s.focus || 0, items.length - 1));
  items.forEach((n, i) => n.classList.toggle('focused', i === s.focus));
  if (items[s.focus]) items[s.focus].scrollIntoView({ block: 'nearest' });
}

// Re-renders `screen` if it is the one showing.
function refresh(screen) { if (current() === screen) render(); }

function open(screen) {
  stack.push(screen);
  render();
  if (screen.enter) screen.enter();
}

function replace(screen) {
  const old = stack.pop();
  if (old && old.leave) old.leave();
  open(screen);
}

function back() {
  if (stack.length < 2) return;
  const old = stack.pop();
  if (old.leave) old.leave();
  render();
  if (current().enter) current().enter();
}

// Colour keys jump to a top-level screen; the guide stays at the bottom.
function jump(make) {
  while (stack.length > 1) { const old = stack.pop(); if (old.leave) old.leave(); }
  if (make) open(make()); else { render(); current().enter(); }
}

function moveFocus(delta) {
  const s = current();
  const count = main.querySelectorAll('.focusable').length;
  if (!count) return;
  s.focus = Math.max(0, Math.min((s.focus || 0) + delta, count - 1));
  render();
}

function press(k) {
  clearMessage();
  const s = current();
  if (s.key && s.key(k)) return;
  switch (k) {
    case 'up': case 'left': moveFocus(-1); break;
    case 'down': case 'right': moveFocus(1); break;
    case 'ok': {
      const node = main.querySelectorAll('.focusable')[s.focus || 0];
      if (node && node.ok) node.ok();
      break;
    }
    case 'back': back(); break;
    case 'red': jump(null); break;
    case 'green': jump(playingScreen); break;
    case 'yellow': jump(historyScreen); break;
    case 'blue': jump(pairingScreen); break;
    default: break;
  }
}

document.addEventListener('keydown', (e) => {
  const k = keyOf(e);
  if (!k) return;
  e.preventDefault();
  press(k);
});
// Keys from the IR receiver, forwarded by the STB's input plugin.
rpc.on('input.1.key', (p) => { if (p.key) press(String(p.key)); });

// ---- shared data ----

const catalog = { now: 0, events: [] };
// Events whose ticket was delivered ahead, dormant (flow 5): bought on credit without a line.
let dormantEvents = new Set();
const deliveredAhead = (ev) => ev.state === 'on-sale' && dormantEvents.has(ev.eventId);
// The guide's and event page's state: "delivered" replaces "on-sale" for a dormant ticket.
const shownState = (ev) => (deliveredAhead(ev) ? 'delivered' : ev.state);

async function loadDormant() {
  const t = await rpc.call('ppv.1.tickets');
  dormantEvents = new Set((t.tickets || []).filter((x) => x.state === 'dormant').map((x) => x.eventId));
}
const titleOf = (eventId) => (catalog.events.find((e) => e.eventId === eventId) || {}).title || eventId;
let nowPlaying = null;  // the event last started with ppv.1.watch

function windowText(ev) {
  switch (shownState(ev)) {
    case 'delivered': return 'Delivered — buy to watch';
    case 'on-sale': return `On sale until ${when(ev.saleUntil)}`;
    case 'not-yet-on-sale': return `On sale from ${when(ev.saleFrom)}`;
    case 'window-closed': return 'Sale closed';
    case 'blackout': return 'Blacked out';
    case 'owned': return 'Ticket in your wallet';
    default: return ev.state;
  }
}

const stateLabel = { delivered: 'delivered', 'on-sale': 'on sale', 'not-yet-on-sale': 'soon', 'window-closed': 'closed', blackout: 'blackout', owned: 'owned' };

// ---- guide ----

const guide = {
  name: 'guide',
  title: 'Pay-per-view guide',
  loading: true,
  view() {
    if (this.loading) return [h('p', { class: 'muted' }, 'Loading the guide…')];
    if (!catalog.events.length) return [h('p', { class: 'muted' }, 'No pay-per-view events right now.')];
    return [h('ul', { class: 'list' }, catalog.events.map((ev) => h('li', {
      class: 'row focusable', 'data-id': ev.eventId, ok: () => open(eventScreen(ev)),
    },
    h('span', { class: 'title' }, ev.title),
    h('span', {}, `${when(ev.startsAt)}–${time(ev.endsAt)}`),
    h('span', { class: 'price' }, money(ev.price, ev.currency)),
    h('span', {}, h('span', { class: 'badge', 'data-state': shownState(ev) }, stateLabel[shownState(ev)] || ev.state), ' ',
      h('small', { class: 'muted window' }, windowText(ev))))))];
  },
  async enter() {
    try {
      // Tickets only mark dormant ones: the guide still shows without them.
      const [c] = await Promise.all([rpc.call('ppv.1.catalog'), loadDormant().catch(() => {})]);
      catalog.now = c.now;
      catalog.events = c.events || [];
      this.loading = false;
      refresh(this);
    } catch (e) {
      this.loading = false;
      refresh(this);
      if (current() === this) refuse(e);
    }
  },
};

for (const event of ['ppv.1.catalogChanged', 'ppv.1.ticketAdded'])
  rpc.on(event, () => { if (current() === guide) guide.enter(); });

// ---- event page ----

const closedStates = ['window-closed', 'not-yet-on-sale', 'blackout'];

function eventScreen(initial) {
  return {
    name: 'event',
    title: 'Event',
    ev: initial,
    view() {
      const ev = this.ev;
      const owned = ev.state === 'owned';
      const delivered = deliveredAhead(ev);
      return [
        h('h2', { id: 'event-title' }, ev.title),
        facts([
          ['Starts', dateTime(ev.startsAt)],
          ['Ends', dateTime(ev.endsAt)],
          ['Price', h('span', { id: 'event-price' }, money(ev.price, ev.currency))],
          ev.payee ? ['Sold by', ev.payee] : null,
          ['Purchase window', `${dateTime(ev.saleFrom)} – ${dateTime(ev.saleUntil)}`],
          ['State', h('span', { class: 'badge', 'data-state': shownState(ev), id: 'event-state' }, windowText(ev))],
          ev.previewSeconds ? ['Free preview', `${ev.previewSeconds} s`] : null,
          terms(ev) ? ['Ticket', h('span', { id: 'event-terms' }, terms(ev))] : null,
        ].filter(Boolean)),
        delivered ? h('p', { id: 'event-note' }, 'The ticket is already in your box. Without a line to the operator ' +
          'it is bought on credit and settled later through your phone.') : null,
        h('div', { class: 'buttons' },
          owned ? button('Watch', 'watch', () => watch(ev)) : [
            // ppv itself buys a dormant ticket on credit when the box has no line.
            button(delivered ? 'Buy to watch' : 'Buy – approve on phone', 'buy-phone', () => buy(ev, 'phone')),
            button('Buy with one-time password', 'buy-otp', () => buy(ev, 'otp')),
          ],
          button('Back', 'back', back)),
      ];
    },
    async enter() {
      try {
        const [ev] = await Promise.all([rpc.call('ppv.1.event', { eventId: this.ev.eventId }), loadDormant().catch(() => {})]);
        this.ev = ev;
        refresh(this);
      } catch (e) { /* keep the guide's copy */ }
    },
  };
}

function buy(ev, method) {
  if (closedStates.includes(ev.state)) { say(refusals[ev.state], { reason: ev.state }); return; }
  open(pinScreen(ev, method));
}

async function watch(ev) {
  try {
    // ppv checks the wallet and answers the player's parameters; the UI starts the player.
    const w = await rpc.call('ppv.1.watch', { eventId: ev.eventId });
    if (!w.playing && w.play) await rpc.call('descrambler.1.play', w.play);
    nowPlaying = ev;
    jump(playingScreen);
  } catch (e) {
    refuse(e);
  }
}

// ---- digit entry (PIN, OTP) ----

function digitsView(count, entered, masked) {
  return h('div', { class: 'digits', id: 'digits', 'data-count': String(entered.length) },
    Array.from({ length: count }, (_, i) => h('span', { class: `digit${i === entered.length ? ' next' : ''}` },
      i < entered.length ? (masked ? '•' : entered[i]) : '')));
}

// Shared key handling: digits fill, BACK erases (or leaves when empty), full -> submit.
function digitKeys(screen, count, submit) {
  return (k) => {
    if (screen.busy) return true;
    if (/^[0-9]$/.test(k)) {
      if (screen.entered.length < count) screen.entered += k;
      render();
      if (screen.entered.length === count) submit();
      return true;
    }
    if (k === 'back' && screen.entered.length) {
      screen.entered = screen.entered.slice(0, -1);
      render();
      return true;
    }
    return false;
  };
}

function pinScreen(ev, method) {
  const s = {
    name: 'pin',
    title: 'Purchase PIN',
    entered: '',
    busy: false,
    view() {
      return [
        h('h2', {}, ev.title),
        h('p', {}, `Price ${money(ev.price, ev.currency)}. `, terms(ev) ? `${terms(ev)} ` : '',
          method === 'otp' ? 'A one-time password will be sent to your phone.' : deliveredAhead(ev)
            ? 'Without a line it is bought on credit, otherwise you approve it on your phone.'
            : 'You will approve the purchase on your phone.'),
        h('p', {}, 'Enter your 4-digit purchase PIN:'),
        digitsView(4, this.entered, true),
        h('p', { class: 'muted' }, this.busy ? 'Ordering…' : 'BACK erases a digit.'),
      ];
    },
  };
  s.key = digitKeys(s, 4, async () => {
    s.busy = true;
    render();
    try {
      const order = await rpc.call('ppv.1.buy', { eventId: ev.eventId, pin: s.entered, method });
      replace(orderScreen(ev, order));
    } catch (e) {
      s.busy = false;
      s.entered = '';
      const reason = reasonOf(e);
      if (reason !== 'pin-wrong' && current() === s) back();
      else refresh(s);
      await refuse(e, ev);
    }
  });
  return s;
}

// ---- order: approve on the phone, OTP, outcome ----

const orderScreens = new Set();

function orderScreen(ev, order) {
  const s = {
    name: order.state === 'awaiting-otp' ? 'otp' : 'order',
    title: order.state === 'awaiting-otp' ? 'One-time password' : 'Approve on your phone',
    order,
    entered: '',
    busy: false,
    view() {
      const o = this.order;
      const final = orderEnds[o.state] !== undefined;
      const otp = o.state === 'awaiting-otp';
      return [
        h('h2', {}, ev.title),
        facts([
          ['Amount', money(o.amount, o.currency)],
          ['Payee', o.payee || ''],
          ['Payment', h('span', { id: 'order-method', 'data-method': o.method || '' }, methodText[o.method] || o.method || '')],
          // A purchase on credit has no transaction number: nothing goes to the phone now.
          o.method === 'credit' ? null :
            ['Transaction number', h('span', { id: 'transaction', class: 'big' }, o.transactionNumber || '')],
        ].filter(Boolean)),
        otp ? [h('p', {}, 'Type the one-time password your phone received:'), digitsView(6, this.entered, false)] :
          h('p', { class: 'muted' }, final ? '' : 'Check that your phone shows the same transaction number, then approve there.'),
        h('div', { id: 'order-state', class: 'status', 'data-state': o.state },
          (o.method === 'credit' && o.state === 'approved' ? creditApproved : orderEnds[o.state]) || orderSteps[o.state] || o.state),
        h('div', { class: 'buttons' },
          o.state === 'approved' ? button('Watch now', 'watch', () => watch({ ...ev, state: 'owned' })) : null,
          final ? button('Back to the guide', 'guide', () => jump(null)) : button('Cancel purchase', 'cancel', () => this.cancel())),
      ];
    },
    update(o) {
      this.order = o;
      this.name = o.state === 'awaiting-otp' ? 'otp' : 'order';
      this.title = o.state === 'awaiting-otp' ? 'One-time password' : 'Approve on your phone';
      this.focus = 0;
      refresh(this);
      if (o.state !== 'approved' && orderEnds[o.state] && current() === this)
        say(o.reason && refusals[o.reason] ? refusals[o.reason] : orderEnds[o.state], { reason: o.reason || o.state });
    },
    async cancel() {
      try { this.update(await rpc.call('ppv.1.cancel', { orderId: this.order.orderId })); } catch (e) { refuse(e); }
    },
    enter() { orderScreens.add(this); },
    leave() { orderScreens.delete(this); },
  };
  const digits = digitKeys(s, 6, async () => {
    s.busy = true;
    try {
      s.update(await rpc.call('ppv.1.enterOtp', { orderId: s.order.orderId, otp: s.entered }));
    } catch (e) {
      refuse(e);
    }
    s.busy = false;
    s.entered = '';
    refresh(s);
  });
  s.key = (k) => (s.order.state === 'awaiting-otp' ? digits(k) : false);
  return s;
}

rpc.on('ppv.1.orderChanged', (o) => {
  for (const s of orderScreens) if (s.order.orderId === o.orderId) s.update(o);
});

// After a reconnect the screen may have missed a change: ask again.
rpc.onState((online) => {
  $('connection').dataset.state = online ? 'online' : 'offline';
  if (!online) return;
  for (const s of orderScreens)
    rpc.call('ppv.1.order', { orderId: s.order.orderId }).then((o) => s.update(o), () => {});
});

// ---- what is playing ----

function playingScreen() {
  return {
    name: 'playing',
    title: 'What is playing',
    status: null,
    tickets: [],
    view() {
      const st = this.status;
      return [
        h('h2', { id: 'now-playing' }, nowPlaying ? nowPlaying.title : 'Nothing is playing'),
        st ? facts([['Player', h('span', { id: 'player-state' }, st.state || '')]]) : null,
        h('p', { class: 'muted' }, 'Your tickets:'),
        h('ul', { class: 'list' }, this.tickets.map((t) => h('li', {
          class: 'row ticket focusable', 'data-id': t.ticketId,
          ok: () => watch({ eventId: t.eventId, title: t.title }),
        }, h('span', { class: 'title' }, t.title || t.eventId),
        h('span', { class: 'badge', 'data-state': t.state }, t.state),
        t.viewsLeft !== undefined ? h('span', { class: 'views' }, t.viewsLeft === 1 ? '1 view left' : `${t.viewsLeft} views left`) : null,
        h('span', { class: 'muted' }, `${dateTime(t.notBefore)} – ${dateTime(t.playableUntil || t.notAfter)}`)))),
      ];
    },
    async enter() {
      const [status, tickets] = await Promise.allSettled([rpc.call('descrambler.1.status'), rpc.call('ppv.1.tickets')]);
      if (status.status === 'fulfilled') this.status = status.value;
      if (tickets.status === 'fulfilled') this.tickets = tickets.value.tickets || [];
      refresh(this);
    },
  };
}

rpc.on('descrambler.1.notice', () => { if (current().name === 'playing') current().enter(); });
rpc.on('ppv.1.ticketAdded', () => { if (current().name === 'playing') current().enter(); });

// ---- billing history ----

// How each order was paid (phone, otp, credit): ppv keeps it per order, billing does not.
// An order's method never changes, so each is asked for once.
const methodOfOrder = new Map();

async function methodOf(record) {
  if (record.deferred) return 'credit';  // billing marks purchases made on credit as deferred
  if (!record.orderId) return '';
  if (!methodOfOrder.has(record.orderId)) {
    try {
      methodOfOrder.set(record.orderId, (await rpc.call('ppv.1.order', { orderId: record.orderId })).method || '');
    } catch (e) {
      return '';  // an order ppv no longer knows: the row shows no method
    }
  }
  return methodOfOrder.get(record.orderId);
}

function historyScreen() {
  return {
    name: 'history',
    title: 'Purchase history',
    data: null,
    methods: [],
    view() {
      const d = this.data;
      if (!d) return [h('p', { class: 'muted' }, 'Loading…')];
      return [
        facts([
          ['Credit left', h('span', { id: 'credit' }, `${money(d.available, d.currency)} of ${money(d.limit, d.currency)}`)],
          ['Unsettled on credit', h('span', { id: 'outstanding' }, money(d.outstanding, d.currency))],
          ['Awaiting settlement', h('span', { id: 'unsettled' }, `${d.unsettledRecords} record${d.unsettledRecords === 1 ? '' : 's'}`)],
        ]),
        d.records.length ? h('ul', { class: 'list' }, d.records.map((r, i) => h('li', {
          class: 'row history focusable', 'data-id': String(r.sequence),
        }, h('span', { class: 'muted' }, `#${r.sequence}`), h('span', {}, dateTime(r.recordedAt)),
        h('span', {}, r.kind), h('span', { class: 'title' }, titleOf(r.eventId)),
        h('span', {}, money(r.amount, r.currency)),
        h('span', { class: 'method', 'data-method': this.methods[i] || '' }, methodText[this.methods[i]] || ''),
        h('span', { class: 'badge settlement', 'data-state': r.settled ? 'settled' : 'unsettled' }, settlementText(r)))))
          : h('p', { class: 'muted' }, 'No purchases yet.'),
      ];
    },
    async enter() {
      try {
        const d = await rpc.call('billing.1.history', { limit: 20 });
        this.methods = await Promise.all(d.records.map(methodOf));
        this.data = d;
        refresh(this);
      } catch (e) { if (current() === this) refuse(e); }
    },
  };
}

for (const event of ['billing.1.recordAdded', 'billing.1.settled'])
  rpc.on(event, () => { if (current().name === 'history') current().enter(); });

// ---- pairing a phone ----

function pairingScreen() {
  return {
    name: 'pairing',
    title: 'Pair your phone',
    phase: 'waiting',  // waiting | link | code | done
    prompt: null,
    result: '',
    view() {
      if (this.phase === 'link' || this.phase === 'code') {
        const p = this.prompt;
        const value = this.phase === 'link' ? p.passkey : p.code;
        return [
          h('p', {}, this.phase === 'link' ? 'Does your phone show this number?' : `Pairing with ${p.phoneName || 'your phone'}. Does it show this code?`),
          h('p', { id: 'pairing-code', class: 'big' }, value),
          h('div', { class: 'buttons' }, button('Yes, confirm', 'confirm', () => this.answer(true)),
            button('No, reject', 'reject', () => this.answer(false))),
        ];
      }
      return [
        h('p', { id: 'pairing-state', 'data-phase': this.phase }, this.phase === 'done' ? this.result :
          'Open the BoxOffice app on your phone and choose "Pair with TV".'),
        h('div', { class: 'buttons' }, button('Done', 'done', back)),
      ];
    },
    async answer(accept) {
      const p = this.prompt;
      try {
        if (this.phase === 'link') await rpc.call('bluetooth.1.confirmLink', { device: p.device, accept });
        else await rpc.call('bluetooth.1.confirmPairing', { phoneId: p.phoneId, accept });
        this.phase = 'waiting';
        if (!accept) { this.phase = 'done'; this.result = 'Pairing rejected.'; }
      } catch (e) { refuse(e); }
      refresh(this);
    },
    prompted(phase, p) { this.phase = phase; this.prompt = p; this.focus = 0; refresh(this); },
    finished(p) {
      if (this.phase === 'done') return;  // the viewer's own rejection says it already
      if (p.stage === 'app' || !p.ok) {
        this.phase = 'done';
        this.result = p.ok ? 'Your phone is paired.' : `Pairing failed: ${p.reason || 'unknown reason'}.`;
        refresh(this);
      }
    },
    enter() { rpc.call('bluetooth.1.startPairing').catch((e) => { if (current() === this) refuse(e); }); },
    leave() { rpc.call('bluetooth.1.stopPairing').catch(() => {}); },
  };
}

// Prompts from the phone show the pairing screen whatever is on screen.
function pairingOnTop() {
  if (current().name !== 'pairing') open(pairingScreen());
  return current();
}
rpc.on('bluetooth.1.linkConfirmation', (p) => pairingOnTop().prompted('link', p));
rpc.on('bluetooth.1.pairingCode', (p) => pairingOnTop().prompted('code', p));
rpc.on('bluetooth.1.pairingResult', (p) => { if (current().name === 'pairing') current().finished(p); });

// ---- start ----

function tick() {
  const d = new Date();
  $('clock').textContent = time(d.getTime() / 1000);
}
tick();
setInterval(tick, 10000);
stack = [guide];
render();
guide.enter();
