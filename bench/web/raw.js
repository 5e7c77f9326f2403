// raw.js: the smallest client that can read the stand-in's stream — the limit the real clients are
// measured against. It loads the config once, opens a native WebSocket and decodes each frame with
// the least work the wire format allows: legacy text markers plus JSON.parse (version 3), a
// hand-written protobuf reader for ResponseBatch → OutgoingMessage.body plus JSON.parse (version 4),
// JSON.parse plus the mack:<mid> acknowledgement (version 5). Each message makes one callback with
// {command, params, extra}. No resume, no dedup, no reconnect, no status: not a usable client.

const TEXT_START = '#!NGINXNMS!#';
const TEXT_END = '#!NGINXNME!#';
const MARK = TEXT_START.length;

// connectionURL builds the websocket URL of docs/protocol.md §4 for a fresh connection.
function connectionURL(config) {
  const version = Number(config.server.version);
  const query = [];
  if (typeof config.jwt === 'string' && config.jwt !== '') {
    query.push(`token=${encodeURIComponent(config.jwt)}`);
  } else {
    const ids = [];
    if (config.channels.private) ids.push(config.channels.private.id);
    if (config.channels.shared) ids.push(config.channels.shared.id);
    query.push(`CHANNEL_ID=${encodeURIComponent(ids.join('/'))}`);
  }
  if (version >= 5) query.push('jsonRpc=true');
  else if (version === 4) query.push('binaryMode=true');
  if (config.server.mode === 'shared' && config.clientId) query.push(`clientId=${encodeURIComponent(config.clientId)}`);
  query.push('revision=19');
  return `${config.server.websocket}?${query.join('&')}`;
}

// ---- protobuf: ResponseBatch.responses(1) → Response.outgoingMessages(1) → messages(1) → body(2) ----

// The reader keeps its position in pos; varints above 2^32 only matter for fields it skips.
let pos = 0;

function varint(u8) {
  let v = 0;
  let mul = 1;
  for (;;) {
    const b = u8[pos++];
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
    mul *= 128;
  }
}

// skip moves pos past the payload of a field of wire type wt; false for a type it cannot skip.
function skip(u8, wt) {
  switch (wt) {
    case 0: varint(u8); return true;
    case 1: pos += 8; return true;
    case 2: pos += varint(u8); return true;
    case 5: pos += 4; return true;
    default: return false;
  }
}

// bodies calls onBody(start, end) for every OutgoingMessage body of the batch in u8[start:end] at
// depth 0 (ResponseBatch), 1 (Response), 2 (OutgoingMessagesResponse), 3 (OutgoingMessage).
function bodies(u8, start, end, depth, onBody) {
  pos = start;
  while (pos < end) {
    const key = varint(u8);
    const num = key >>> 3;
    const wt = key & 7;
    if (wt === 2) {
      const len = varint(u8);
      const s = pos;
      const e = s + len;
      if (e > end) return;
      if (depth === 3) {
        if (num === 2) onBody(s, e);
      } else if (num === 1) {
        bodies(u8, s, e, depth + 1, onBody);
      }
      pos = e;
    } else if (!skip(u8, wt)) {
      return;
    }
  }
}

export class RawClient {
  // rest is a function (method, params) → Promise of the whole answer; onMessage({command, params,
  // extra}) is called once per message.
  constructor({ rest, onMessage }) {
    this.rest = rest;
    this.onMessage = onMessage;
    this.ws = null;
    this.decoder = new TextDecoder();
  }

  // start loads the config and resolves once the websocket is open.
  async start() {
    const answer = await this.rest('pull.application.config.get', { CACHE: 'N' });
    const config = answer.result;
    const rpc = Number(config.server.version) >= 5;
    const ws = new WebSocket(connectionURL(config));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = rpc ? (ev) => this.rpcFrame(ev.data) : (ev) => this.frame(ev.data);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error('raw: websocket failed'));
    });
    ws.onerror = null;
  }

  frame(data) {
    if (typeof data === 'string') {
      this.textFrame(data);
      return;
    }
    const u8 = new Uint8Array(data);
    bodies(u8, 0, u8.length, 0, (s, e) => {
      const body = JSON.parse(this.decoder.decode(u8.subarray(s, e)));
      this.onMessage({ command: body.command, params: body.params, extra: body.extra });
    });
  }

  textFrame(s) {
    let i = s.indexOf(TEXT_START);
    while (i >= 0) {
      const j = s.indexOf(TEXT_END, i + MARK);
      if (j < 0) return;
      const body = JSON.parse(s.slice(i + MARK, j)).text;
      this.onMessage({ command: body.command, params: body.params, extra: body.extra });
      i = s.indexOf(TEXT_START, j + MARK);
    }
  }

  rpcFrame(s) {
    if (s === 'ping') {
      this.ws.send('pong');
      return;
    }
    const v = JSON.parse(s);
    if (Array.isArray(v)) {
      for (const req of v) this.rpcRequest(req);
    } else {
      this.rpcRequest(v);
    }
  }

  rpcRequest(req) {
    if (!req || req.method !== 'incoming.message') return;
    const p = req.params;
    this.ws.send(`mack:${p.mid}`);
    const body = p.body;
    this.onMessage({ command: body.command, params: body.params, extra: body.extra });
  }

  stop() {
    if (this.ws) {
      this.ws.onmessage = null;
      this.ws.close(1000, 'stop');
      this.ws = null;
    }
  }
}
