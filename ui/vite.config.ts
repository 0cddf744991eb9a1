import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The dashboard: a static single-page app the server serves at /ui (src/server/dashboard-assets.ts).
 * Built by `npm run build:ui` into dist/ui. Everything it loads is in that folder (no CDN, no web
 * font): registries often run on closed networks.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    // The polyfill would be an inline script, which the page's Content-Security-Policy refuses.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    // Maps only when asked for (SWITCHBOARD_DASHBOARD_SOURCEMAPS=true, for debugging a build; `npx vite ui`
    // serves its own in development): they would hand the whole source to anyone who asks.
    sourcemap: process.env['SWITCHBOARD_DASHBOARD_SOURCEMAPS'] === 'true',
    reportCompressedSize: false,
  },
  server: {
    // `npx vite ui` for development against a running registry (npm start) on the default port.
    proxy: { '/graphql': { target: 'http://127.0.0.1:4000', ws: true } },
  },
});
