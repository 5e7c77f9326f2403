// portal.js: calling the stand-in portal's REST from a page, in the two shapes the clients take.
//
//   portalRest(portal, auth)   a function (method, params) → Promise of the whole answer {result, …},
//                              as b24pull's `rest` option and the raw client take it
//   new FakeB24(portal, auth)  the smallest `b24` object the official PullClient accepts
//
// Both POST <portal>/rest/<method>.json with a JSON body carrying `auth`. A REST error rejects with
// {status, ex: {error, error_description}}, the shape of the SDK's own HTTP layer.

export function portalRest(portal, auth) {
  return async (method, params) => {
    let resp;
    try {
      resp = await fetch(`${portal}/rest/${method}.json`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...(params || {}), auth }),
      });
    } catch (err) {
      throw { status: 0, ex: { error: 'ERROR_NETWORK', error_description: String(err) } };
    }
    let body = null;
    try {
      body = await resp.json();
    } catch (err) {
      body = null;
    }
    if (!resp.ok || body === null || body.error) {
      const ex = body && body.error
        ? { error: body.error, error_description: body.error_description || '' }
        : { error: 'ERROR_UNEXPECTED_ANSWER', error_description: `HTTP ${resp.status}` };
      throw { status: resp.status, ex };
    }
    return body;
  };
}

// FakeB24 answers in the shape PullClient reads: a result object with getData() → the whole answer.
export class FakeB24 {
  // onCall, when given, is called with "rest" before each call and "restDone" after its answer.
  constructor(portal, auth, onCall) {
    const rest = portalRest(portal, auth);
    this.rest = !onCall ? rest : async (method, params) => {
      onCall('rest');
      const answer = await rest(method, params);
      onCall('restDone');
      return answer;
    };
    const make = ({ method, params }) => this.callMethod(method, params);
    this.actions = { v2: { call: { make } } };
  }

  async callMethod(method, params) {
    const body = await this.rest(method, params);
    return { getData: () => body, isSuccess: true };
  }
}
