// The stand-in's portal page script: it opens the application in the page's iframe and answers the
// commands the application's frame library (BX24, b24jssdk B24Frame) posts to its parent window, as a
// Bitrix24 portal page does. What a command answers (init data, fresh tokens) comes from the stand-in,
// POST /portal/app/command; this script only checks and relays the messages.
//
// A command arrives as the string "<command>[:<params>]:<callback>:<appSid>" (a command whose name holds
// a colon as an object {method, params, callback, appSid}). It is taken only from the app's own window
// and origin and with this page's APP_SID; the answer goes back to that origin as "<callback>:<JSON>".
// Nothing secret is logged: window.portalFrame holds counters only.
(() => {
  'use strict';

  const COMMAND_URL = '/portal/app/command';
  const COMMAND_TIMEOUT_MS = 10000;

  const frame = document.getElementById('portal-app');
  const sid = frame.dataset.sid;
  const src = frame.dataset.src;
  const appOrigin = new URL(src, location.href).origin;

  const state = {
    ready: false,
    appOrigin,
    received: 0, // commands taken
    answered: 0, // answers posted back
    rejected: 0, // messages from another origin, with another APP_SID, or unreadable
    failed: 0, // commands the stand-in did not answer
    commands: Object.create(null), // command name → count
  };
  window.portalFrame = state;

  // parse returns {command, params, callback, appSid} or null.
  function parse(data) {
    if (typeof data === 'string') {
      const parts = data.split(':');
      if (parts.length < 3 || parts[0] === '') {
        return null;
      }
      return {
        command: parts[0],
        params: parts.slice(1, -2).join(':'),
        callback: parts[parts.length - 2],
        appSid: parts[parts.length - 1],
      };
    }
    if (data !== null && typeof data === 'object' && typeof data.method === 'string' && data.method !== '') {
      return {
        command: data.method,
        params: data.params === undefined ? '' : data.params,
        callback: data.callback === undefined ? '' : String(data.callback),
        appSid: data.appSid === undefined ? '' : String(data.appSid),
      };
    }
    return null;
  }

  async function ask(msg) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), COMMAND_TIMEOUT_MS);
    try {
      const resp = await fetch(COMMAND_URL, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ sid, command: msg.command, params: msg.params }),
        cache: 'no-store',
        signal: ctrl.signal,
      });
      if (!resp.ok) {
        throw new Error('HTTP ' + resp.status);
      }
      const body = await resp.json();
      return body.answer === undefined ? null : body.answer;
    } finally {
      clearTimeout(timer);
    }
  }

  async function handle(msg) {
    let answer;
    try {
      answer = await ask(msg);
    } catch (e) {
      state.failed++;
      console.warn('portal: the stand-in did not answer ' + msg.command + ': ' + (e && e.message));
      return;
    }
    if (msg.callback === '' || !frame.contentWindow) {
      return;
    }
    frame.contentWindow.postMessage(msg.callback + ':' + JSON.stringify(answer), appOrigin);
    state.answered++;
  }

  window.addEventListener('message', (event) => {
    if (event.source !== frame.contentWindow) {
      return;
    }
    const msg = event.origin === appOrigin ? parse(event.data) : null;
    if (msg === null || msg.appSid !== sid) {
      state.rejected++;
      return;
    }
    state.received++;
    state.commands[msg.command] = (state.commands[msg.command] || 0) + 1;
    handle(msg);
  });

  frame.src = src;
  state.ready = true;
})();
