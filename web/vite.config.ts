// Builds the editor page into web/dist, which the service serves at "/".
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  // Relative asset URLs: the page works wherever the service mounts it.
  base: "./",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // No source maps in what the service ships: the page is small and readable in web/src.
    sourcemap: false,
  },
  server: {
    // `npx vite --config web/vite.config.ts` during development: proxy the API to a local service.
    proxy: Object.fromEntries(
      ["/auth", "/image-edit", "/uploads", "/files", "/healthz"].map((p) => [p, "http://127.0.0.1:8080"]),
    ),
  },
});
