// compare.js: the "side by side" card of the demo. A switch runs the official client
// (B24PullClientManager of @bitrix24/b24jssdk, its self-contained browser build served by the demo)
// beside b24pull in the same page. The card sends its own events through
// pull.application.event.add to the app's shared channel, each carrying this page's run id, a
// sequence number and the time it was sent; both clients receive the same stream, and each gets its
// own counters: received, lost, duplicated and the latest delay.
//
// What counts:
//   sent        events the portal accepted (the REST call succeeded);
//   received    events of this page's run that reached the client's subscriber, once each;
//   duplicated  deliveries of an event the subscriber had already received;
//   lost        sent events not received although a later one was, or sent more than LOST_AFTER_MS
//               ago; an event that arrives after all leaves this count;
//   delay       receipt time minus send time of the latest event received (the same page clock).
//
// The official client gets the page's REST through an object of its own making (BX24Rest, over
// BX24.callMethod), no localStorage (skipStorageInit: its cache would keep the config, channel ids
// and signatures included), and a logger that prints only when the page's debug toggle is on, with
// channel ids, signatures and tokens masked.

export const COMPARE_COMMAND = 'compare_tick';

const BURST = 10;
const STREAM_MS = 500;
const LOST_AFTER_MS = 10000;
const RENDER_MS = 250;
const OFFICIAL_APP = 'b24pull_demo';
const CLIENTS = ['b24pull', 'official'];

const $ = (id) => document.getElementById(id);

// Tally counts what one client's subscriber received of this page's run, from the event after since
// on: a client switched on mid-run is judged on the events sent once it was online.
class Tally {
  constructor(since = 0) {
    this.since = since;
    this.seen = new Map(); // seq → deliveries
    this.duplicated = 0;
    this.delay = null;
    this.maxSeq = 0;
  }

  add(seq, delay) {
    if (seq <= this.since) return;
    const n = (this.seen.get(seq) || 0) + 1;
    this.seen.set(seq, n);
    if (n > 1) {
      this.duplicated++;
      return;
    }
    this.delay = delay;
    this.maxSeq = Math.max(this.maxSeq, seq);
  }

  get received() {
    return this.seen.size;
  }

  // lost counts the sent events this client has not received although a later one arrived, or that
  // were sent more than LOST_AFTER_MS ago.
  lost(sent, now) {
    let n = 0;
    for (const [seq, at] of sent) {
      if (seq > this.since && !this.seen.has(seq) && (seq < this.maxSeq || now - at > LOST_AFTER_MS)) n++;
    }
    return n;
  }
}

// BX24Rest is the REST object the official client is given: actions.v2.call.make over the page's
// BX24.callMethod (the local stand-in or the real library), answering in the shape the official
// client reads (getData().result) and failing with {status, ex: {error, error_description}}, which
// is what its 401/403 handling looks at.
class BX24Rest {
  constructor(bx) {
    this.bx = bx;
    this.actions = { v2: { call: { make: ({ method, params }) => this.call(method, params) } } };
  }

  call(method, params) {
    return new Promise((resolve, reject) => {
      this.bx.callMethod(method, params || {}, (result) => {
        const err = result.error();
        if (err) {
          reject({ status: err.status, ex: err.ex || { error: 'ERROR', error_description: String(err) } });
          return;
        }
        const answer = { result: result.data(), time: result.time() };
        resolve({ getData: () => answer, isSuccess: true });
      });
    });
  }

  callMethod(method, params) {
    return this.call(method, params);
  }
}

// redact masks what may identify a channel or a session in a log line of the official client.
function redact(text) {
  return String(text)
    .replace(/[0-9a-f]{16,}[0-9a-f:.]*/gi, '<id>')
    .replace(/([?&](?:CHANNEL_ID|token|auth|jwt|mid)=)[^&\s"']*/gi, '$1<redacted>')
    .replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, '<jwt>');
}

// officialLogger is the official client's LoggerInterface: every level returns a Promise; lines are
// printed redacted while debug() is true, dropped otherwise.
function officialLogger(debug) {
  const logger = {};
  for (const level of ['log', 'debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']) {
    logger[level] = (message) => {
      if (debug()) console.debug(`official ${level}: ${redact(message)}`);
      return Promise.resolve();
    };
  }
  return logger;
}

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = url;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`failed to load ${url}`));
    document.head.append(script);
  });
}

// setupCompare wires the card. env: {officialURL, officialMissing, callMethod(method, params),
// userId(), debug()}. It returns what app.js calls: attach(pull) when a b24pull client starts.
export function setupCompare(env) {
  const state = {
    run: Math.random().toString(36).slice(2, 10),
    seq: 0,
    sent: new Map(), // seq → send time, once the portal accepted it
    pending: new Set(), // seqs whose REST call is under way
    failed: 0,
    queued: 0,
    sending: false,
    stream: null,
    tallies: { b24pull: new Tally(), official: new Tally() },
    official: null,
    officialStatus: 'off',
    officialError: '',
  };

  const note = (text) => {
    $('official-note').textContent = text;
    $('official-note').hidden = text === '';
  };

  // receive counts an event of the stream for a client; events of other pages' runs are ignored.
  function receive(client, params) {
    if (!params || params.run !== state.run || !Number.isInteger(params.seq)) return;
    state.tallies[client].add(params.seq, Date.now() - Number(params.sent));
  }

  function render() {
    const now = Date.now();
    for (const client of CLIENTS) {
      const t = state.tallies[client];
      const on = client === 'b24pull' || state.official !== null;
      $(`cmp-${client}-received`).textContent = on ? String(t.received) : '—';
      $(`cmp-${client}-lost`).textContent = on ? String(t.lost(state.sent, now)) : '—';
      $(`cmp-${client}-duplicated`).textContent = on ? String(t.duplicated) : '—';
      $(`cmp-${client}-delay`).textContent = on && t.delay !== null ? `${Math.max(0, t.delay)} ms` : '—';
    }
    const official = $('cmp-official-status');
    official.textContent = state.officialStatus;
    official.dataset.status = state.officialStatus;
    official.title = state.officialError;
    const parts = [`Sent ${state.sent.size}`];
    if (state.pending.size + state.queued > 0) parts.push(`${state.pending.size + state.queued} on the way`);
    if (state.failed > 0) parts.push(`${state.failed} refused by the portal`);
    $('cmp-sent').textContent = parts.join(' · ');
  }

  // pump sends the queued events one at a time, so that their sequence is the order the portal
  // publishes them in.
  async function pump() {
    if (state.sending) return;
    state.sending = true;
    try {
      while (state.queued > 0) {
        state.queued--;
        const seq = ++state.seq;
        const sentAt = Date.now();
        const run = state.run;
        state.pending.add(seq);
        const params = { run, seq, sent: sentAt };
        let ok = false;
        try {
          const result = await env.callMethod('pull.application.event.add', {
            COMMAND: COMPARE_COMMAND, PARAMS: JSON.stringify(params),
          });
          ok = !result.error();
        } catch {
          ok = false;
        }
        state.pending.delete(seq);
        if (run !== state.run) continue; // reset meanwhile: the event belongs to the old run
        if (ok) state.sent.set(seq, sentAt);
        else state.failed++;
      }
    } finally {
      state.sending = false;
    }
  }

  function send(n) {
    state.queued += n;
    pump();
  }

  function reset() {
    state.run = Math.random().toString(36).slice(2, 10);
    state.seq = 0;
    state.sent.clear();
    state.failed = 0;
    state.tallies = { b24pull: new Tally(), official: new Tally(state.official ? 0 : Infinity) };
  }

  async function startOfficial() {
    const userId = env.userId();
    if (!userId) throw new Error('the official client needs the user id (the app needs the user scope)');
    if (!globalThis.B24Js) await loadScript(env.officialURL);
    const Manager = globalThis.B24Js && globalThis.B24Js.B24PullClientManager;
    if (typeof Manager !== 'function') throw new Error('the official client did not load');
    const pull = new Manager({
      b24: new BX24Rest(globalThis.BX24),
      restApplication: OFFICIAL_APP,
      userId,
      skipStorageInit: true,
    });
    pull.setLogger(officialLogger(env.debug));
    state.official = pull;
    // Nothing counts until the client is online; from then on, every event sent after that moment.
    state.tallies.official = new Tally(Infinity);
    state.officialStatus = 'connect';
    state.officialError = '';
    pull.subscribe({
      type: 'status',
      callback: ({ status }) => {
        if (state.official !== pull) return;
        state.officialStatus = status;
      },
    });
    pull.subscribe({
      moduleId: 'application',
      callback: (message) => {
        if (state.official === pull && message && message.command === COMPARE_COMMAND) receive('official', message.params);
      },
    });
    await pull.start();
    if (state.official !== pull) return;
    state.tallies.official = new Tally(state.seq);
    if (pull.isConnected()) state.officialStatus = 'online';
  }

  function stopOfficial() {
    const pull = state.official;
    state.official = null;
    state.officialStatus = 'off';
    if (!pull) return;
    if (typeof pull.destroy === 'function') pull.destroy();
    else pull.stop();
  }

  async function toggleOfficial(box) {
    box.disabled = true;
    try {
      if (box.checked) {
        note('');
        await startOfficial();
      } else {
        stopOfficial();
      }
    } catch (err) {
      const ex = err && err.ex;
      const text = ex ? `${ex.error}: ${ex.error_description}` : (err && err.message) || String(err);
      state.officialError = redact(text);
      note(`The official client did not start: ${redact(text)}`);
      if (state.official) state.officialStatus = 'offline';
      } finally {
      box.disabled = false;
    }
  }

  const box = $('official-toggle');
  if (!env.officialURL) {
    box.disabled = true;
    note(`Not available: ${env.officialMissing || 'the official client is not installed'}.`);
  } else {
    box.addEventListener('change', () => toggleOfficial(box));
  }
  $('cmp-burst').addEventListener('click', () => send(BURST));
  $('cmp-stream').addEventListener('change', (e) => {
    clearInterval(state.stream);
    state.stream = e.target.checked ? setInterval(() => send(1), STREAM_MS) : null;
  });
  $('cmp-reset').addEventListener('click', reset);
  setInterval(render, RENDER_MS);
  render();

  return {
    // attach subscribes a (new) b24pull client to the stream; it returns the unsubscribe function.
    attach(pull) {
      return pull.subscribe({
        moduleId: 'application',
        command: COMPARE_COMMAND,
        callback: (params) => receive('b24pull', params),
      });
    },
    // counters are the numbers the card shows, for the tests: per client and sent.
    counters() {
      const now = Date.now();
      const out = { sent: state.sent.size, failed: state.failed, busy: state.pending.size + state.queued };
      for (const client of CLIENTS) {
        const t = state.tallies[client];
        out[client] = { received: t.received, lost: t.lost(state.sent, now), duplicated: t.duplicated, delay: t.delay };
      }
      out.officialStatus = state.officialStatus;
      return out;
    },
  };
}
