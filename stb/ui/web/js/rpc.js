// The one JSON-RPC 2.0 client of the TV UI: calls and events over a single
// WebSocket to boxofficed's /jsonrpc, reconnecting with backoff. Events are
// subscribed one by one on every (re)connect, so an absent plugin's events do
// not cost the others theirs.

export class RpcError extends Error {
  constructor(error) {
    super(error.message || 'error');
    this.code = error.code;
    this.data = error.data || {};
    this.keyword = this.data.error || '';
    this.reason = this.data.reason || '';
  }
}

export class Rpc {
  constructor(url, { timeoutMs = 10000, offlineWaitMs = 3000 } = {}) {
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.offlineWaitMs = offlineWaitMs;
    this.nextId = 1;
    this.pending = new Map();   // id -> {resolve, reject, text, sent, timer}
    this.waiting = [];          // requests sent once connected
    this.handlers = new Map();  // event -> [fn]
    this.stateHandlers = [];
    this.backoffMs = 250;
    this.socket = null;
    this.open = false;
    this.connect();
  }

  // Called with true/false on every change of the connection.
  onState(fn) { this.stateHandlers.push(fn); }

  on(event, fn) {
    if (!this.handlers.has(event)) {
      this.handlers.set(event, []);
      if (this.open) this.subscribe(event);
    }
    this.handlers.get(event).push(fn);
  }

  // While the box is away a call waits `offlineWaitMs` for the connection to come
  // back, then fails with keyword 'unavailable'; once sent it has `timeoutMs`.
  call(method, params = {}) {
    const id = this.nextId++;
    const text = JSON.stringify({ jsonrpc: '2.0', id, method, params });
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, text, sent: this.open, timer: 0 });
      this.arm(id, this.open ? this.timeoutMs : this.offlineWaitMs);
      if (this.open) this.socket.send(text); else this.waiting.push(text);
    });
  }

  arm(id, ms) {
    const p = this.pending.get(id);
    clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      this.pending.delete(id);
      this.waiting = this.waiting.filter((t) => t !== p.text);
      p.reject(new RpcError({ code: 0, message: 'no answer from the box', data: { error: 'unavailable' } }));
    }, ms);
  }

  subscribe(event) {
    this.call('host.1.subscribe', { events: [event] }).catch(() => {});
  }

  connect() {
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch (e) {
      this.retry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.open = true;
      this.backoffMs = 250;
      for (const event of this.handlers.keys()) this.subscribe(event);
      for (const text of this.waiting.splice(0)) socket.send(text);
      for (const [id, p] of this.pending) {
        if (!p.sent) this.arm(id, this.timeoutMs);
        p.sent = true;
      }
      this.stateHandlers.forEach((fn) => fn(true));
    };
    socket.onmessage = (m) => this.receive(m.data);
    socket.onclose = () => {
      const wasOpen = this.open;
      this.open = false;
      this.socket = null;
      // Calls already sent have no answer coming: fail them now rather than at the timeout.
      for (const [id, p] of this.pending) {
        if (!p.sent) continue;
        clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(new RpcError({ code: 0, message: 'connection to the box lost', data: { error: 'unavailable' } }));
      }
      if (wasOpen) this.stateHandlers.forEach((fn) => fn(false));
      this.retry();
    };
    socket.onerror = () => {};  // onclose follows
  }

  retry() {
    setTimeout(() => this.connect(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, 2000);
  }

  receive(text) {
    let message;
    try { message = JSON.parse(text); } catch (e) { return; }
    for (const m of Array.isArray(message) ? message : [message]) {
      if (m.id !== undefined && m.id !== null && this.pending.has(m.id)) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.error) p.reject(new RpcError(m.error)); else p.resolve(m.result);
      } else if (m.method) {
        for (const fn of this.handlers.get(m.method) || []) fn(m.params || {});
      }
    }
  }
}
