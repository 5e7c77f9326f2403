import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// Only Vue's plugin: b24pull needs no configuration of its own.
export default defineConfig({ plugins: [vue()] });
