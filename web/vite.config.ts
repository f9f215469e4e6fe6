// Builds the dashboard (web/) into web/dist. Plain esbuild JSX for Preact: no plugins.
// The output must satisfy the server's CSP (no inline script or style), so the
// module-preload polyfill, which Vite would otherwise inline, is off.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  publicDir: 'public',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    target: 'es2022',
  },
});
