// app.js: the b24pull demo page. It starts a pull client over the page's BX24 session, shows its
// status, counters and channel expiry, logs every event it receives (server events from the portal
// and client messages from other pages apart), sends events through pull.application.event.add,
// publishes as a client (sendMessage, sendMessageToChannels), shows the users' presence (version 5),
// runs the official client beside it on a switch (compare.js) and, against the local stand-in,
// injects faults.
//
// Message content is only ever written with textContent. A public channel typed into the form is
// used for the call only: it is never logged nor shown anywhere else.

import { COMPARE_COMMAND, setupCompare } from './compare.js';

const $ = (id) => document.getElementById(id);

const mode = document.body.dataset.mode === 'portal' ? 'portal' : 'local';
const appScript = document.querySelector('script[data-package]');
const packageBase = appScript?.dataset.package || '/b24pull/';
// The official client's bundle for the side-by-side card (compare.js), or why it is missing.
const officialURL = appScript?.dataset.official || '';
const officialMissing = appScript?.dataset.officialMissing || '';
const query = new URLSearchParams(location.search);

const MAX_LOG_ROWS = 200;
const MAX_PARAMS_CHARS = 4000;
const INIT_TIMEOUT_MS = 15000;
const DEBUG_KEY = 'b24pull-demo-debug';

// Modules whose events the log shows: apps publish under "application" unless they set MODULE_ID.
const LOGGED_MODULES = ['application'];

// How often the presence panel asks for the last-seen times while the server answers them.
const PRESENCE_REFRESH_MS = 5000;
const MAX_RESULT_CHARS = 300;

const state = {
  pull: null,
  offs: [],
  compare: null, // the side-by-side card, once BX24 is ready
  userId: null,
  notes: [], // pending fault notes: {el, key, base, started, text}
  // Module ids whose client messages the log shows: LOGGED_MODULES and every module the form sent to.
  clientModules: new Set(LOGGED_MODULES),
  presence: {
    available: null, // true: version 5; false: an older server; null: not known yet
    lastSeen: null, // the last answer of getUsersLastSeen, {id: seconds}
    busy: false,
    follows: new Map(), // user id → the callback given to subscribeUserStatusChange
  },
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

// addLogRow adds a row to the top of the log. kind is message (a server event), client (a client
// message), presence or status; tag, when given, says where a message came from.
function addLogRow(kind, module, command, detail, tag) {
  const list = $('events');
  const row = el('li', `event event-${kind}`);
  row.dataset.command = command;
  const body = el('div', 'event-body');
  const head = el('div', 'event-head');
  if (tag) head.append(el('span', 'event-kind', tag));
  head.append(el('span', 'event-module', module));
  head.append(el('span', 'event-command', command));
  body.append(head);
  if (detail !== '') body.append(el('code', 'event-params', detail));
  row.append(el('time', 'event-time', clock(new Date())), body);
  list.prepend(row);
  while (list.childElementCount > MAX_LOG_ROWS) list.lastElementChild.remove();
  $('log-empty').hidden = true;
  return row;
}

function paramsText(params) {
  let text;
  try {
    text = JSON.stringify(params ?? {});
  } catch {
    text = '(unprintable params)';
  }
  return text.length > MAX_PARAMS_CHARS ? `${text.slice(0, MAX_PARAMS_CHARS)}…` : text;
}

// logMessage logs a server event (from the portal's backend: pull.application.event.add). The events
// of the side-by-side card are counted by the card (compare.js), not logged.
function logMessage(message, info) {
  if (message.command === COMPARE_COMMAND) return;
  addLogRow('message', String(info.moduleId ?? ''), String(message.command ?? ''), paramsText(message.params), 'server');
}

// logClientMessage logs a client message (published by a page with sendMessage*). The sender's id
// is a public channel id: it is not shown.
function logClientMessage(message, info) {
  addLogRow('client', String(info.moduleId ?? ''), String(message.command ?? ''), paramsText(message.params), 'client');
}

// watchClientModule subscribes the log to the client messages of moduleId, once.
function watchClientModule(moduleId, force) {
  const key = moduleId.toLowerCase();
  if (!force && state.clientModules.has(key)) return;
  state.clientModules.add(key);
  if (state.pull) state.offs.push(state.pull.subscribe({ type: 'client', moduleId: key, callback: logClientMessage }));
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
  const mini = $('cmp-b24pull-status');
  mini.textContent = stats.status;
  mini.dataset.status = stats.status;
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
  renderClientNote(pull, stats);
  renderPresenceAvailability(stats);
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
  for (const moduleId of state.clientModules) watchClientModule(moduleId, true);
  if (state.compare) state.offs.push(state.compare.attach(pull));
  renderStats();
  await pull.start();
  showBanner('');
  renderStats();
}

async function stopClient() {
  const pull = state.pull;
  state.pull = null;
  for (const off of state.offs.splice(0)) off();
  // Status subscriptions end with the client.
  state.presence.follows.clear();
  state.presence.available = null;
  renderPresenceRows();
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

// ---- sending as a client --------------------------------------------------------------------------

// idList reads comma- or space-separated ids as strings; the client checks them (and rejects what is
// not a user id with INVALID_ARGUMENT).
function idList(text) {
  return text.split(/[\s,;]+/).map((s) => s.trim()).filter((s) => s !== '');
}

function setClientResult(text, ok, code) {
  const out = $('client-result');
  out.textContent = text;
  out.dataset.ok = String(ok);
  out.dataset.code = code || '';
}

function showClientTarget() {
  const toChannel = new FormData($('client-form')).get('client-target') === 'channel';
  $('client-users-field').hidden = toChannel;
  $('client-channel-field').hidden = !toChannel;
}

async function sendAsClient(event) {
  event.preventDefault();
  const pull = state.pull;
  if (!pull) {
    setClientResult('the client is not running', false);
    return;
  }
  const moduleId = $('client-module').value.trim();
  const command = $('client-command').value.trim();
  const source = $('client-params').value.trim();
  let params = {};
  if (source !== '') {
    try {
      params = JSON.parse(source);
    } catch (err) {
      setClientResult(`Params is not valid JSON: ${err.message}`, false);
      return;
    }
  }
  const expiryText = $('client-expiry').value.trim();
  const expiry = expiryText === '' ? 0 : Number(expiryText);
  const toChannel = new FormData($('client-form')).get('client-target') === 'channel';
  // Messages sent to a module the log does not show yet (to this user, say) are logged from now on.
  if (moduleId !== '') watchClientModule(moduleId);
  const button = $('client-send');
  button.disabled = true;
  setClientResult('sending…', true);
  try {
    const answer = toChannel
      ? await pull.sendMessageToChannels([$('client-channel').value.trim()], moduleId, command, params, expiry)
      : await pull.sendMessage(idList($('client-users').value), moduleId, command, params, expiry);
    let text = answer === undefined ? 'acknowledged by the push server' : `the server answered ${JSON.stringify(answer)}`;
    if (text.length > MAX_RESULT_CHARS) text = `${text.slice(0, MAX_RESULT_CHARS)}…`;
    setClientResult(`sent ${command} at ${clock(new Date())}: ${text}`, true);
  } catch (err) {
    setClientResult(errorText(err), false, err && err.code);
  } finally {
    button.disabled = false;
  }
}

// renderClientNote says why client publishing cannot work with this server, when it cannot.
function renderClientNote(pull, stats) {
  const note = $('client-note');
  let text = '';
  if (stats.wire) {
    if (!pull.isPublishingSupported()) {
      text = 'Client publishing needs push server version 4 or later: sending is refused with PUBLISHING_UNAVAILABLE.';
    } else if (stats.wire !== 'json-rpc' && !pull.isPublishingEnabled()) {
      text = 'The portal disabled client publishing (publish_enabled is false).';
    } else if (stats.wire !== 'json-rpc' && stats.transport === 'long-polling') {
      text = 'Long polling cannot carry client messages: sending waits for the websocket to come back.';
    }
  }
  note.textContent = text;
  note.hidden = text === '';
}

// ---- presence (version 5) -------------------------------------------------------------------------

function presenceIds() {
  const ids = [];
  for (const s of idList($('presence-users').value)) {
    const n = Number(s);
    if (Number.isInteger(n) && n > 0 && !ids.includes(n)) ids.push(n);
  }
  return ids;
}

// renderPresenceAvailability follows the connection's wire format: presence calls need JSON-RPC.
function renderPresenceAvailability(stats) {
  const p = state.presence;
  const known = Boolean(stats.wire);
  const available = known ? stats.wire === 'json-rpc' : null;
  const changed = available !== p.available;
  p.available = available;
  $('presence-note').hidden = available !== false;
  $('presence-refresh').disabled = available !== true;
  if (changed) {
    if (available !== true) p.lastSeen = null;
    renderPresenceRows();
    if (available === true) refreshPresence();
  }
}

function lastSeenText(seconds) {
  if (seconds === undefined) return ['never seen', 'never'];
  if (seconds === 0) return ['online now', 'online'];
  return [`${duration(seconds)} ago`, 'seen'];
}

// renderPresenceRows draws a row per user of the ids field: last seen and the follow toggle.
function renderPresenceRows() {
  const p = state.presence;
  const rows = $('presence-rows');
  rows.replaceChildren();
  for (const id of presenceIds()) {
    const tr = el('tr');
    tr.dataset.user = String(id);
    tr.append(el('td', 'presence-user', id === state.userId ? `${id} (you)` : String(id)));
    const seen = el('td', 'presence-seen');
    if (p.available === true && p.lastSeen) {
      const value = p.lastSeen[id] ?? p.lastSeen[String(id)];
      const [text, kind] = lastSeenText(value);
      seen.textContent = text;
      seen.dataset.state = kind;
      if (value !== undefined) seen.dataset.seconds = String(value);
    } else {
      seen.textContent = '—';
      seen.dataset.state = 'unknown';
    }
    tr.append(seen);
    const follow = el('input');
    follow.type = 'checkbox';
    follow.className = 'presence-follow';
    follow.checked = p.follows.has(id);
    follow.disabled = p.available !== true;
    follow.setAttribute('aria-label', `follow the status of user ${id}`);
    follow.addEventListener('change', () => toggleFollow(id, follow));
    const cell = el('td');
    cell.append(follow);
    tr.append(cell);
    rows.append(tr);
  }
}

async function refreshPresence() {
  const p = state.presence;
  const pull = state.pull;
  const ids = presenceIds();
  if (!pull || p.available !== true || p.busy || ids.length === 0) {
    renderPresenceRows();
    return;
  }
  p.busy = true;
  try {
    p.lastSeen = await pull.getUsersLastSeen(ids);
    $('presence-updated').textContent = `Updated at ${clock(new Date()).slice(0, 8)}`;
  } catch (err) {
    $('presence-updated').textContent = `getUsersLastSeen failed: ${errorText(err)}`;
    if (err && err.code === 'JSON_RPC_REQUIRED') p.available = false;
  } finally {
    p.busy = false;
  }
  renderPresenceRows();
}

async function toggleFollow(id, box) {
  const p = state.presence;
  const pull = state.pull;
  if (!pull) return;
  box.disabled = true;
  try {
    if (box.checked) {
      const callback = ({ userId, isOnline }) => {
        const row = addLogRow('presence', 'presence', `user ${userId} ${isOnline ? 'online' : 'offline'}`, '');
        row.dataset.online = String(isOnline);
        refreshPresence();
      };
      await pull.subscribeUserStatusChange(id, callback);
      p.follows.set(id, callback);
    } else if (p.follows.has(id)) {
      const callback = p.follows.get(id);
      p.follows.delete(id);
      await pull.unsubscribeUserStatusChange(id, callback);
    }
  } catch (err) {
    box.checked = p.follows.has(id);
    $('presence-updated').textContent = `subscribeUserStatusChange failed: ${errorText(err)}`;
  } finally {
    box.disabled = p.available !== true;
  }
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

// renderOpenAs links the local page as each other demo user (/?user=N, a session of that user).
function renderOpenAs(users, me) {
  const box = $('open-as');
  box.replaceChildren();
  for (const id of users) {
    if (id === me) continue;
    const a = el('a', '', `user ${id}`);
    a.href = `/?user=${encodeURIComponent(id)}`;
    a.target = '_blank';
    a.rel = 'noopener';
    box.append(a);
  }
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
  $('client-form').addEventListener('submit', sendAsClient);
  for (const radio of document.querySelectorAll('input[name="client-target"]')) {
    radio.addEventListener('change', showClientTarget);
  }
  $('presence-refresh').addEventListener('click', refreshPresence);
  $('presence-users').addEventListener('change', refreshPresence);
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
  state.compare = setupCompare({
    officialURL,
    officialMissing,
    callMethod,
    userId: () => state.userId,
    debug: () => $('debug').checked,
  });
  globalThis.b24pullDemo.compare = state.compare;
  learnUserId().then((id) => {
    state.userId = id;
    $('user-id').textContent = id === null ? 'unknown: needs the user scope' : String(id);
    $('target-me').disabled = id === null;
    if (id !== null && $('client-users').value === '') $('client-users').value = String(id);
    const local = globalThis.BX24.local;
    const users = local && Array.isArray(local.users) ? local.users : (id === null ? [] : [id]);
    if ($('presence-users').value === '') $('presence-users').value = users.join(', ');
    renderOpenAs(users, id);
    refreshPresence();
  });
  setInterval(renderStats, 1000);
  setInterval(() => {
    if (state.presence.available === true && state.pull && state.pull.getStatus() === 'online') refreshPresence();
  }, PRESENCE_REFRESH_MS);
  try {
    await startClient(debug);
  } catch (err) {
    showBanner(`b24pull did not start: ${errorText(err)}`);
    renderStats();
  }
}

main();
