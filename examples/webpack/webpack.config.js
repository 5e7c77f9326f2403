// The whole webpack setup of the app: b24pull needs nothing of its own here, as webpack 5 emits
// b24pull.wasm as an asset from the package's new URL('./b24pull.wasm', import.meta.url).
const HtmlWebpackPlugin = require('html-webpack-plugin');

module.exports = {
  entry: './src/index.js',
  output: { clean: true },
  plugins: [new HtmlWebpackPlugin({ template: './src/index.html' })],
  // b24jssdk alone is over webpack's 244 KiB hint, and the wasm (about 1.9 MB gzip) is not a script.
  performance: { hints: false },
};
