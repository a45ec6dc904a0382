// How the API process is started so its resident memory levels off under serving load (bench/load predict; README
// "API memory"). Both settings act before any Keel code runs, so whoever starts the API applies them: dev/start.ts
// (npm start), the Dockerfile's CMD, docker-compose.yml's api service and bench/serve's server process.

/**
 * V8 runs a major GC once the old generation grew 50 % over what the previous one kept. V8's own factor goes up to
 * 4×: under load, objects that outlive a scavenge while in flight (request state, prediction-log rows waiting for
 * their batch) are promoted and die in the old generation, which then grew from ~60 MiB live to 160–330 MiB before a
 * major GC, and RSS followed it.
 */
export const API_NODE_FLAGS: readonly string[] = ['--heap-growing-percent=50'];

/**
 * glibc's malloc arenas, at most 2 (the default is 8 per core): four helper threads (most likely V8's GC workers)
 * otherwise got an arena each, 4 × 16 MiB resident after a minute of load. Read by glibc when the process starts, so
 * it is environment, not a flag; an operator's own MALLOC_ARENA_MAX is kept.
 */
export const API_MALLOC_ARENA_MAX = '2';

/** The environment the API process is started with: `env` plus the malloc setting above unless `env` sets its own. */
export function apiProcessEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX || API_MALLOC_ARENA_MAX };
}
