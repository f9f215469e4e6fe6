// Module resolution hook for dist-to-src.mjs: <repo>/dist/x/y.js -> <repo>/src/x/y.ts.
const DIST = new URL('../../../dist/', import.meta.url).href;
const SRC = new URL('../../../src/', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith('.') && context.parentURL) {
    const url = new URL(specifier, context.parentURL).href;
    if (url.startsWith(DIST) && url.endsWith('.js')) {
      return nextResolve(`${SRC}${url.slice(DIST.length, -'.js'.length)}.ts`, context);
    }
  }
  return nextResolve(specifier, context);
}
