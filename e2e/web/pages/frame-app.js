// A tiny Bitrix24 app frontend for portal_frame_test.go: it runs inside the stand-in's portal page
// (/portal/app), initialises the official b24jssdk B24Frame, calls pull.application.config.get through
// it and reports every step to its own origin, POST /frame-app/report, whose answer says what to do
// next ("again": one more call, "done": stop). ?build=umd loads the SDK's UMD bundle instead of its ES
// modules. Nothing is logged: the reports go to the test only.

const params = new URLSearchParams(location.search);
const build = params.get('build') === 'umd' ? 'umd' : 'esm';
const status = document.getElementById('status');

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error('failed to load ' + src));
    document.head.append(s);
  });
}

async function loadSdk() {
  if (build === 'umd') {
    await loadScript('/node_modules/@bitrix24/b24jssdk/dist/umd/index.min.js');
    return globalThis.B24Js;
  }
  return import('/node_modules/@bitrix24/b24jssdk/dist/esm/index.mjs');
}

function describe(e) {
  if (!e) {
    return 'unknown error';
  }
  const code = e.code || e.name || 'Error';
  return code + ': ' + (e.description || e.message || String(e));
}

async function report(body) {
  const resp = await fetch('/frame-app/report', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    cache: 'no-store',
  });
  if (!resp.ok) {
    throw new Error('report answered HTTP ' + resp.status);
  }
  return (await resp.json()).next;
}

// config calls pull.application.config.get through the frame's v2 REST API and summarises the answer.
async function config($b24) {
  const res = await $b24.actions.v2.call.make({
    method: 'pull.application.config.get',
    params: { CACHE: 'N' },
  });
  if (!res.isSuccess) {
    return { error: res.getErrorMessages().join('; ') };
  }
  const cfg = res.getData().result;
  const channels = cfg.channels || {};
  return {
    version: cfg.server && cfg.server.version,
    channels: Object.keys(channels).sort(),
    channelIds: Object.values(channels).every((c) => typeof c.id === 'string' && c.id !== ''),
  };
}

// safely tells whether a command the SDK sends with a 900 ms fallback was really answered.
async function answered(promise) {
  const r = await promise;
  return !(r && typeof r === 'object' && r.isSafely === true);
}

async function main() {
  const step = { build, step: 'init', search: location.search, windowName: window.name };
  let $b24;
  try {
    const sdk = await loadSdk();
    step.sdkLoaded = typeof sdk.initializeB24Frame === 'function';
    $b24 = await sdk.initializeB24Frame();
    const auth = $b24.auth.getAuthData();
    Object.assign(step, {
      token: auth && auth.access_token,
      expiresIn: auth && auth.expires_in,
      domain: auth && auth.domain,
      memberId: auth && auth.member_id,
      appSid: $b24.getAppSid(),
      lang: $b24.getLang(),
      isAdmin: $b24.auth.isAdmin,
      placement: $b24.placement.placement,
      origin: $b24.getTargetOrigin(),
    });
    step.config = await config($b24);
  } catch (e) {
    step.error = describe(e);
  }
  status.textContent = step.error ? 'failed' : 'initialised';
  let next = await report(step);
  let n = 1;
  while (next === 'again' && $b24) {
    n++;
    const again = { build, step: 'call' + n };
    try {
      again.config = await config($b24);
      const auth = $b24.auth.getAuthData();
      again.token = auth && auth.access_token;
      again.titleAnswered = await answered($b24.parent.setTitle('b24pull frame app'));
      again.resizeAnswered = await answered($b24.parent.resizeWindow(640, 480));
    } catch (e) {
      again.error = describe(e);
    }
    next = await report(again);
  }
  status.textContent = 'done';
}

main().catch((e) => {
  status.textContent = 'failed: ' + describe(e);
});
