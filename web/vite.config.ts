import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Run from the repository root (`npm run build:web`, `npm run dev:web`); paths below are
// relative to this folder so the config works from anywhere.
const root = decodeURIComponent(new URL('.', import.meta.url).pathname);

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
  },
  server: {
    proxy: {
      // `ws: true` carries the WebSocket upgrade for /api/v1/ws/user through the same proxy.
      '/api': { target: 'http://127.0.0.1:8080', ws: true },
    },
  },
});
