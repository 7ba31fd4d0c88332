/**
 * What the manifests must agree with outside docker/kubernetes: the node contract and the
 * apps' configuration parsers.
 */
import { NODE_ROUTES, parseFollowerConfig, parseLeaderConfig, type Env } from '@kv/node-kit';

/**
 * The probe paths the node contract lists: /work/shared/API.md, "Client API" table and
 * "Probes" (`/livez`: the process serves; `/readyz`: ready for its role). Both apps route
 * them (NODE_ROUTES); manifests.spec.ts checks that they still do.
 */
export const PROBE_PATHS = ['/livez', '/readyz'] as const;

/** Whether the apps' route table serves `GET path` on every node. */
export const appServesProbe = (path: string): boolean => NODE_ROUTES.takes(path, 'GET');
export type ProbePath = (typeof PROBE_PATHS)[number];
/** Which probe uses which path. */
export const PROBE_PATH_OF = { livenessProbe: '/livez', startupProbe: '/livez', readinessProbe: '/readyz' } as const;

/** The apps listen here when PORT is unset (API.md, Configuration). */
export const DEFAULT_PORT = 8000;
/** A node finishes its in-flight requests within this long after SIGTERM (API.md, Processes). */
export const DRAIN_SECONDS = 10;
/** The image's non-root user (`USER node` in docker/Dockerfile): uid and gid 1000 in node images. */
export const IMAGE_UID = 1000;

export type Role = 'leader' | 'follower';

const PARSERS: Readonly<Record<Role, (env: Env) => unknown>> = { leader: parseLeaderConfig, follower: parseFollowerConfig };

/** The environment variables a role's configuration parser reads (libs/node-kit/src/config.ts). */
export function variablesRead(role: Role): Set<string> {
  const read = new Set<string>();
  const recording = new Proxy<Env>(
    {},
    {
      get(_target, name) {
        if (typeof name === 'string') read.add(name);
        return undefined;
      },
    },
  );
  PARSERS[role](recording);
  return read;
}

/** Why a role refuses this environment at start, or null when it accepts it. */
export function configurationProblem(role: Role, env: Env): string | null {
  try {
    PARSERS[role](env);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** The Secret the README tells users to create: `kubectl create secret generic NAME ... --from-literal=KEY=...`. */
export function readmeSecret(readme: string): { name: string; key: string } | null {
  const found = /kubectl\s+create\s+secret\s+generic\s+([a-z0-9-]+)\b[^\n]*?--from-literal=([A-Za-z_][A-Za-z0-9_]*)=/.exec(readme);
  return found ? { name: found[1], key: found[2] } : null;
}
