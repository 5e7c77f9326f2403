// An app page inside a Bitrix24 portal, without a bundler: B24Js (b24jssdk's UMD build) gives the
// portal session, B24Pull (b24pull.js, which finds b24pull.wasm next to itself) follows the app's
// real-time events (pull.application.event.add) and shows them.
(() => {
  const statusEl = document.querySelector('#status');
  const errorEl = document.querySelector('#error');
  const eventsEl = document.querySelector('#events');

  async function main() {
    const $b24 = await B24Js.initializeB24Frame();
    const pull = await B24Pull.createPullClient({ rest: $b24 });
    pull.subscribe({ type: 'status', callback: ({ status }) => { statusEl.textContent = status; } });
    pull.subscribe({
      moduleId: 'application',
      callback: ({ command, params }) => {
        const item = document.createElement('li');
        item.textContent = `${command} ${JSON.stringify(params)}`;
        eventsEl.append(item);
      },
    });
    await pull.start();
  }

  main().catch((err) => {
    statusEl.textContent = 'failed';
    errorEl.textContent = `${err.code || err.name}: ${err.description || err.message}`;
  });
})();
