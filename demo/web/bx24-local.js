// bx24-local.js: a small stand-in of the BX24 library (api.bitrix24.com/api/v1/) for pages served next
// to a local stand-in portal. It is a classic script that defines globalThis.BX24 with the part of the
// library an app uses to call REST:
//
//   BX24.init(cb)                            cb runs once the session is loaded
//   BX24.callMethod(method, params, cb)      POST <portal>/rest/<method>.json, auth=<token>&params
//   BX24.getAuth()                           {access_token, refresh_token, expires_in, domain, member_id}
//   BX24.refreshAuth(cb)                     asks the session endpoint for a fresh token, then cb(getAuth())
//   BX24.isAdmin()                           whether the session's user is a portal administrator
//   BX24.local                               {portal, user, admin, version, lifetime, users} once initialised
//
// The session (portal URL, access token, user id) comes from GET <session URL>, by default
// /demo/session; set data-session on the script tag, or globalThis.BX24_LOCAL = {session} before the
// script runs, to use another one.
//
// As the real library does, params are form-encoded in PHP bracket syntax (a[b][c]=…, so scalars arrive
// as strings), REST errors (HTTP 4xx/5xx with {error, error_description}) come back through the
// callback as result.error(), and an expired_token answer is refreshed and retried once. Where the real
// library throws on a transport failure or a non-JSON answer, this one calls back with the error codes
// BX.RestClient uses: ERROR_NETWORK (status 0) and ERROR_UNEXPECTED_ANSWER.
(function () {
  'use strict';

  const script = document.currentScript;
  const settings = Object.assign({ session: '/demo/session' }, globalThis.BX24_LOCAL || {});
  if (script && script.dataset && script.dataset.session) settings.session = script.dataset.session;

  let session = null; // {portal, token, user, admin, version, lifetime}
  let tokenTime = 0;
  let initWaiters = [];
  const queuedCalls = [];

  // ---- the result object of callMethod (BX24's ajaxResult) ----

  class AjaxError {
    constructor(status, error, description) {
      this.status = status;
      this.ex = { error, error_description: description };
    }
    getError() { return this.ex; }
    getStatus() { return this.status; }
    toString() { return `ERR: ${this.ex.error_description} (${this.status})`; }
  }

  class AjaxResult {
    constructor(answer, status, error) {
      this.answer = answer;
      this.status = status;
      this.err = error;
    }
    data() { return this.answer ? this.answer.result : undefined; }
    error() { return this.err; }
    error_description() { return this.err ? this.err.ex.error_description : ''; }
    time() { return this.answer ? this.answer.time : undefined; }
    total() { return this.answer && typeof this.answer.total === 'number' ? this.answer.total : 0; }
    more() { return !!(this.answer && this.answer.next); }
    next() { return false; }
  }

  // ---- form encoding (PHP bracket syntax, as BX24 sends it) ----

  function encodeParams(value, prefix, out) {
    if (value === undefined || typeof value === 'function') return;
    if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
      const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
      for (const [k, v] of entries) encodeParams(v, prefix === '' ? k : `${prefix}[${k}]`, out);
      return;
    }
    let text;
    if (value === null) text = '';
    else if (value instanceof Date) text = value.toISOString();
    else text = String(value);
    out.push(`${encodeURIComponent(prefix)}=${encodeURIComponent(text)}`);
  }

  function formBody(params, token) {
    const out = [`auth=${encodeURIComponent(token)}`];
    if (params && typeof params === 'object') encodeParams(params, '', out);
    return out.join('&');
  }

  // ---- the session ----

  async function fetchSession() {
    const res = await fetch(settings.session, { method: 'GET', cache: 'no-store', credentials: 'same-origin' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const s = await res.json();
    if (!s || typeof s.portal !== 'string' || typeof s.token !== 'string') throw new Error('not a session');
    return s;
  }

  function publicSession(s) {
    return Object.freeze({
      portal: s.portal, user: s.user, admin: !!s.admin, version: s.version, lifetime: s.lifetime,
      users: Array.isArray(s.users) ? Object.freeze(s.users.slice()) : undefined,
    });
  }

  function adopt(s) {
    session = s;
    tokenTime = Date.now();
    BX24.local = publicSession(s);
  }

  // ---- REST ----

  async function post(method, params) {
    const url = `${session.portal.replace(/\/+$/, '')}/rest/${encodeURIComponent(method)}.json`;
    let res;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: formBody(params, session.token),
        cache: 'no-store',
      });
    } catch (err) {
      return new AjaxResult(undefined, 0, new AjaxError(0, 'ERROR_NETWORK', `network error: ${err && err.message}`));
    }
    let answer;
    try {
      answer = await res.json();
    } catch (err) {
      return new AjaxResult(undefined, res.status,
        new AjaxError(res.status, 'ERROR_UNEXPECTED_ANSWER', 'the server answered something other than JSON'));
    }
    if (answer && typeof answer === 'object' && answer.error) {
      return new AjaxResult(answer, res.status,
        new AjaxError(res.status, String(answer.error), String(answer.error_description || answer.error)));
    }
    if (!res.ok) {
      return new AjaxResult(answer, res.status,
        new AjaxError(res.status, 'ERROR_UNEXPECTED_ANSWER', `HTTP ${res.status}`));
    }
    return new AjaxResult(answer, res.status, undefined);
  }

  async function call(method, params, callback) {
    let result = await post(method, params);
    const err = result.error();
    if (err && err.ex.error === 'expired_token') {
      const ok = await refresh();
      if (ok) result = await post(method, params);
    }
    if (typeof callback === 'function') setTimeout(callback, 0, result);
  }

  async function refresh() {
    try {
      adopt(await fetchSession());
      return true;
    } catch (err) {
      console.error(`bx24-local: failed to refresh the token: ${err && err.message}`);
      return false;
    }
  }

  // ---- the library object ----

  const BX24 = {
    local: null,

    init(callback) {
      if (typeof callback !== 'function') return;
      if (session) setTimeout(callback, 10);
      else initWaiters.push(callback);
    },

    callMethod(method, params, callback) {
      if (!session) {
        queuedCalls.push([method, params, callback]);
        return;
      }
      call(String(method), params, callback);
    },

    getAuth() {
      if (!session) return false;
      const host = new URL(session.portal, location.href).host;
      return {
        access_token: session.token,
        refresh_token: '',
        expires_in: Math.max(0, 3600 - Math.floor((Date.now() - tokenTime) / 1000)),
        domain: host,
        member_id: 'local',
      };
    },

    refreshAuth(callback) {
      refresh().then(() => {
        if (typeof callback === 'function') callback(BX24.getAuth());
      });
    },

    isAdmin() {
      return !!(session && session.admin);
    },
  };

  globalThis.BX24 = BX24;

  fetchSession().then(
    (s) => {
      adopt(s);
      const waiters = initWaiters;
      initWaiters = [];
      for (const cb of waiters) setTimeout(cb, 0);
      for (const [m, p, cb] of queuedCalls.splice(0)) call(String(m), p, cb);
    },
    (err) => console.error(`bx24-local: failed to load the session from ${settings.session}: ${err && err.message}`),
  );
})();
