// app.js: the b24pull demo page. It starts a pull client over the page's BX24 session, shows its
// status, counters and channel expiry, logs every event it receives, sends events through
// pull.application.event.add and, against the local stand-in, injects faults.
//
// Message content is only ever written with textContent.

const $ = (id) => document.getElementById(id);

const mode = document.body.dataset.mode === 'portal' ? 'portal' : 'local';
const packageBase = (document.querySelector('script[data-package]') || {}).dataset?.package || '/b24pull/';
const query = new URLSearchParams(location.search);

const MAX_LOG_ROWS = 200;
const MAX_PARAMS_CHARS = 4000;
const INIT_TIMEOUT_MS = 15000;
const DEBUG_KEY = 'b24pull-demo-debug';

// Modules whose events the log shows: apps publish under "application" unless they set MODULE_ID.
const LOGGED_MODULES = ['application'];

const state = {
  pull: null,
  offs: [],
  userId: null,
  notes: [], // pending fault notes: {el, key, base, started, text}
};

// ---- small view helpers ---------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showBanner(text) {
  const banner = $('banner');
  banner.textContent = text;
  banner.hidden = text === '';
}

function clock(date) {
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function duration(seconds) {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

function errorText(err) {
  if (!err) return 'unknown error';
  const code = err.code ? `${err.code}: ` : '';
  return `${code}${err.description || err.message || String(err)}`;
}

// ---- the event log --------------------------------------------------------------------------------

function addLogRow(kind, module, command, detail) {
  const list = $('events');
  const row = el('li', `event event-${kind}`);
  row.dataset.command = command;
  const body = el('div', 'event-body');
  const head = el('div', 'event-head');
  head.append(el('span', 'event-module', module));
  head.append(el('span', 'event-command', command));
  body.append(head);
  if (detail !== '') body.append(el('code', 'event-params', detail));
  row.append(el('time', 'event-time', clock(new Date())), body);
  list.prepend(row);
  while (list.childElementCount > MAX_LOG_ROWS) list.lastElementChild.remove();
  $('log-empty').hidden = true;
}

function logMessage(message, info) {
  let params;
  try {
    params = JSON.stringify(message.params ?? {});
  } catch {
    params = '(unprintable params)';
  }
  if (params.length > MAX_PARAMS_CHARS) params = `${params.slice(0, MAX_PARAMS_CHARS)}…`;
  addLogRow('message', String(info.moduleId ?? ''), String(message.command ?? ''), params);
}

// ---- status, counters, expiry ---------------------------------------------------------------------

function setBadge(status) {
  const badge = $('badge');
  badge.dataset.status = status;
  badge.textContent = status;
}

function renderStats() {
  const pull = state.pull;
  if (!pull) return;
  let stats;
  let info;
  try {
    stats = pull.getStats();
    info = pull.getDebugInfo();
  } catch (err) {
    showBanner(`The client stopped working: ${errorText(err)}`);
    setBadge('offline');
    return;
  }
  setBadge(stats.status);
  const link = [stats.transport, stats.wire].filter(Boolean).join(' · ');
  $('link').textContent = link || '—';
  $('c-messages').textContent = stats.messages;
  $('c-renewals').textContent = stats.renewals;
  $('c-reconnects').textContent = stats.reconnects;
  $('c-duplicates').textContent = stats.duplicatesSkipped;
  $('c-garbage').textContent = stats.garbageFrames;
  $('c-configs').textContent = stats.configLoads;
  renderExpiry(info && info.config);
  renderTimers(info && info.timers);
  settleNotes(stats);
}

// renderTimers shows the pending reconnect or config reload (after a drop, config_expire or
// server_restart). getDebugInfo gives each timer's remaining time when the client last changed state,
// so the page counts down from there until the value changes.
const timerDeadlines = new Map();

function renderTimers(timers) {
  const shown = [];
  for (const name of ['reconnect', 'reload']) {
    const value = timers ? timers[name] : undefined;
    if (typeof value !== 'number') {
      timerDeadlines.delete(name);
      continue;
    }
    let t = timerDeadlines.get(name);
    if (!t || t.value !== value) {
      t = { value, deadline: Date.now() + value * 1000 };
      timerDeadlines.set(name, t);
    }
    shown.push(`${name} in ${duration((t.deadline - Date.now()) / 1000)}`);
  }
  $('scheduled').textContent = shown.length ? `Scheduled: ${shown.join(' · ')}` : '';
}

// renderExpiry counts down to the config's earliest expiry, on the server clock as the client sees it.
function renderExpiry(config) {
  const countdown = $('countdown');
  const detail = $('expiry-detail');
  if (!config || !Array.isArray(config.channels)) {
    countdown.textContent = '—';
    detail.textContent = '';
    return;
  }
  const shiftMs = (Number(config.timeShift) || 0) * 1000;
  const serverNow = Date.now() - shiftMs;
  let expiry = Date.parse(config.expiry || '');
  if (!Number.isFinite(expiry)) {
    const ends = config.channels.map((c) => Date.parse(c.end)).filter(Number.isFinite);
    expiry = ends.length ? Math.min(...ends) : NaN;
  }
  const left = (expiry - serverNow) / 1000;
  countdown.textContent = Number.isFinite(left) ? (left > 0 ? duration(left) : 'renewing…') : '—';
  countdown.dataset.soon = String(Number.isFinite(left) && left < 10);
  detail.textContent = config.channels
    .map((c) => `${c.name}: ${duration((Date.parse(c.end) - serverNow) / 1000)}`)
    .join(' · ');
}

// ---- the pull client ------------------------------------------------------------------------------

// LOCAL_TIMING shortens, against the local stand-in only, the random waits a real portal needs to
// spread its clients out (10–120 s after config_expire and server_restart, 6–35 s after close code
// 4010), so that the fault buttons show their effect within seconds.
const LOCAL_TIMING = { restartDelay: [1000, 3000], wrongChannelDelay: [1000, 3000] };

async function startClient(debug) {
  const { createPullClient } = await import(`${packageBase}b24pull.mjs`);
  const options = { rest: globalThis.BX24, debug };
  if (mode === 'local') options.timing = LOCAL_TIMING;
  const pull = await createPullClient(options);
  state.pull = pull;
  globalThis.b24pullDemo.pull = pull;
  state.offs.push(pull.subscribe({
    type: 'status',
    callback: ({ status }) => {
      setBadge(status);
      addLogRow('status', 'status', status, '');
    },
  }));
  for (const moduleId of LOGGED_MODULES) {
    state.offs.push(pull.subscribe({ moduleId, callback: logMessage }));
  }
  renderStats();
  await pull.start();
  showBanner('');
  renderStats();
}

async function stopClient() {
  const pull = state.pull;
  state.pull = null;
  for (const off of state.offs.splice(0)) off();
  if (pull) await pull.destroy();
}

async function restartClient(debug) {
  setBadge('connect');
  try {
    await stopClient();
    await startClient(debug);
  } catch (err) {
    showBanner(`b24pull did not start: ${errorText(err)}`);
    renderStats();
  }
}

// ---- sending events -------------------------------------------------------------------------------

function callMethod(method, params) {
  return new Promise((resolve) => globalThis.BX24.callMethod(method, params, resolve));
}

function setResult(text, ok) {
  const out = $('send-result');
  out.textContent = text;
  out.dataset.ok = String(ok);
}

async function sendEvent(event) {
  event.preventDefault();
  const command = $('command').value.trim();
  const source = $('params').value.trim();
  let params = {};
  if (source !== '') {
    try {
      params = JSON.parse(source);
    } catch (err) {
      setResult(`PARAMS is not valid JSON: ${err.message}`, false);
      return;
    }
  }
  // PARAMS goes as a JSON string, which the portal accepts and which keeps numbers and booleans typed
  // (form encoding would turn every scalar into a string).
  const call = { COMMAND: command, PARAMS: JSON.stringify(params) };
  const target = new FormData($('event-form')).get('target');
  if (target === 'me') call.USER_ID = String(state.userId);
  const button = $('send-button');
  button.disabled = true;
  setResult('sending…', true);
  try {
    const result = await callMethod('pull.application.event.add', call);
    const err = result.error();
    if (err) {
      const ex = err.ex || {};
      setResult(`${ex.error || 'ERROR'}: ${ex.error_description || ''} (HTTP ${err.status})`, false);
    } else {
      setResult(`sent ${command} at ${clock(new Date())}`, true);
    }
  } catch (err) {
    setResult(`the REST call failed: ${err.message}`, false);
  } finally {
    button.disabled = false;
  }
}

// learnUserId finds the current user: the local session knows it; in a portal it takes user.current,
// which needs the user scope, without which only the shared channel is offered.
async function learnUserId() {
  const bx = globalThis.BX24;
  if (bx.local) return Number(bx.local.user);
  const result = await callMethod('user.current', {});
  if (result.error()) return null;
  const id = Number((result.data() || {}).ID);
  return Number.isFinite(id) && id > 0 ? id : null;
}

// ---- faults (local mode) --------------------------------------------------------------------------

async function injectFault(button) {
  const name = button.dataset.fault;
  const q = button.dataset.query ? `?${button.dataset.query}` : '';
  const watch = button.dataset.watch;
  const base = state.pull ? state.pull.getStats()[watch] : undefined;
  button.disabled = true;
  try {
    const res = await fetch(`/standin/fault/${encodeURIComponent(name)}${q}`, { method: 'POST' });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      addNote(`${button.textContent}: ${body.error || `HTTP ${res.status}`}`, 'error');
      return;
    }
    const note = addNote(button.dataset.note || `${name} injected.`, 'pending');
    if (watch && base !== undefined) state.notes.push({ note, key: watch, base, started: Date.now() });
  } catch (err) {
    addNote(`${button.textContent}: ${err.message}`, 'error');
  } finally {
    button.disabled = false;
  }
}

function addNote(text, kind) {
  const list = $('fault-notes');
  const item = el('li', `note note-${kind}`);
  item.append(el('time', 'note-time', clock(new Date()).slice(0, 8)));
  item.append(el('span', 'note-text', text));
  list.prepend(item);
  while (list.childElementCount > 4) list.lastElementChild.remove();
  return item;
}

const watchLabels = {
  renewals: 'renewed', configLoads: 'config reloaded', connects: 'reconnected', reconnects: 'reconnected',
  garbageFrames: 'garbage frame counted', duplicatesSkipped: 'duplicate skipped',
};

// settleNotes marks a pending note done once the counter it watches moved.
function settleNotes(stats) {
  state.notes = state.notes.filter(({ note, key, base, started }) => {
    if (!(stats[key] > base)) return true;
    note.className = 'note note-done';
    note.lastElementChild.textContent += ` ✓ ${watchLabels[key] || key} after ${((Date.now() - started) / 1000).toFixed(1)} s`;
    return false;
  });
}

// ---- setup ----------------------------------------------------------------------------------------

function waitForBX24() {
  return new Promise((resolve, reject) => {
    const bx = globalThis.BX24;
    if (!bx || typeof bx.init !== 'function') {
      reject(new Error('the BX24 library did not load'));
      return;
    }
    const timer = setTimeout(() => reject(new Error('BX24.init did not complete: is the page opened by Bitrix24?')),
      INIT_TIMEOUT_MS);
    bx.init(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function describeMode() {
  if (mode === 'portal') {
    const domain = query.get('DOMAIN') || 'Bitrix24';
    $('subtitle').textContent = `Running in ${domain}`;
    $('footer-mode').textContent = `Portal mode: the real BX24 library and the portal's push server.`;
    return;
  }
  const s = globalThis.BX24.local || {};
  const lifetime = Number(s.lifetime) > 0 ? `, channels live ${duration(s.lifetime)}` : '';
  $('subtitle').textContent = `Local stand-in: push server v${s.version ?? '?'}${lifetime}`;
  $('footer-mode').textContent = `Local mode: a stand-in portal and push server at ${s.portal ?? location.origin}.`;
}

async function main() {
  globalThis.b24pullDemo = { pull: null, mode };
  if (mode === 'portal') {
    for (const node of document.querySelectorAll('[data-local-only]')) node.hidden = true;
  } else {
    for (const button of document.querySelectorAll('[data-fault]')) {
      button.addEventListener('click', () => injectFault(button));
    }
  }
  $('event-form').addEventListener('submit', sendEvent);
  $('clear-log').addEventListener('click', () => {
    $('events').replaceChildren();
    $('log-empty').hidden = false;
  });
  const debug = query.get('debug') === '1' || sessionStorage.getItem(DEBUG_KEY) === '1';
  $('debug').checked = debug;
  $('debug').addEventListener('change', (e) => {
    sessionStorage.setItem(DEBUG_KEY, e.target.checked ? '1' : '0');
    restartClient(e.target.checked);
  });
  setBadge('connect');

  try {
    await waitForBX24();
  } catch (err) {
    showBanner(err.message);
    setBadge('offline');
    return;
  }
  describeMode();
  learnUserId().then((id) => {
    state.userId = id;
    $('user-id').textContent = id === null ? 'unknown: needs the user scope' : String(id);
    $('target-me').disabled = id === null;
  });
  setInterval(renderStats, 1000);
  try {
    await startClient(debug);
  } catch (err) {
    showBanner(`b24pull did not start: ${errorText(err)}`);
    renderStats();
  }
}

main();
