// An app page inside a Bitrix24 portal: B24Frame gives the portal session, b24pull follows the
// app's real-time events (pull.application.event.add) and shows them.
import { initializeB24Frame } from '@bitrix24/b24jssdk';
import { createPullClient } from 'b24pull';

const statusEl = document.querySelector('#status');
const errorEl = document.querySelector('#error');
const eventsEl = document.querySelector('#events');

async function main() {
  const $b24 = await initializeB24Frame();
  const pull = await createPullClient({ rest: $b24 });
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
