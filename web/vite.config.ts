import tailwindcss from '@tailwindcss/vite'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vitest/config'

// The Go server (make run) that `npm run dev` forwards API calls to.
const apiServer = 'http://localhost:8000'

// First path segments of the API (docs/api.md). Page loads (Accept: text/html) stay with Vite,
// as the Go server does the same split, since /monitor is also a page of the app.
const apiPaths = ['/health', '/openapi.json', '/docs', '/metrics', '/train-parent', '/train-child',
  '/status', '/tasks', '/predict-parent', '/predict-child', '/predict-batch', '/analyze', '/monitor',
  '/models', '/tickers', '/system', '/outputs']

export default defineConfig({
  plugins: [react(), tailwindcss()],
  server: {
    proxy: Object.fromEntries(apiPaths.map((p) => [p, {
      target: apiServer,
      bypass: (req: { headers: { accept?: string }, url?: string }) =>
        req.headers.accept?.includes('text/html') ? req.url : undefined,
    }])),
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Served from the binary: no source maps, no inlined assets (the page's policy allows only its own files).
    sourcemap: false,
    assetsInlineLimit: 0,
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['src/testing/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
})
