import { defineConfig } from 'vite';

// An app build of entry.js into one flat folder, as b24pull-bench -variant serves it: the bundled
// module bundle.mjs and the wasm Vite emitted beside it (base './' keeps the URL relative).
export default defineConfig({
  base: './',
  build: {
    assetsDir: '',
    emptyOutDir: true,
    rollupOptions: {
      input: 'entry.js',
      output: { entryFileNames: 'bundle.mjs' },
    },
  },
});
