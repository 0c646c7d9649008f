/** Defined at build time from package.json (build.mjs `define`, vitest.config.ts `define`). */
declare const __PILOT_VERSION__: string;
