// Vite build of the web UI. The server serves it under /ui/ (packages/server/src/http/ui-routes.ts)
// with a strict CSP (script-src 'self', style-src 'self'): the build must emit external files only,
// so the module preload polyfill (an inline script in some setups) is off and nothing is inlined.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  base: '/ui/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1500,
  },
});
