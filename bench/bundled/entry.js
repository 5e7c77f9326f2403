// What an app bundle holds of b24pull: its module, bundled, and the wasm emitted as an asset. Published
// as the classic script publishes it, so that the benchmark page loads both the same way.
import { createPullClient, version } from 'b24pull';

globalThis.B24Pull = Object.freeze({ createPullClient, version });
