import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * Three pages, one design language: the partner dashboard (/dashboard), the live talk page
 * (/t/:code, rendered by the server around the `talk` bundle) and an ended talk's replay and a
 * series page (the `replay` bundle). Built into web/dist with a
 * manifest the server reads to find the hashed assets. Nothing is fetched from elsewhere at run time.
 */
export default defineConfig({
  root: here('.'),
  base: '/assets/',
  plugins: [preact()],
  build: {
    outDir: here('dist'),
    emptyOutDir: true,
    manifest: true,
    rollupOptions: {
      input: {
        dashboard: here('src/dashboard/main.tsx'),
        talk: here('src/talk/main.tsx'),
        replay: here('src/replay/main.tsx'),
      },
    },
  },
});
