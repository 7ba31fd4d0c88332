export { LocalCluster } from './local-cluster';
export type { LocalClusterOptions } from './local-cluster';
export { NodeProcess } from './node-process';
export type { NodeProcessOptions, Role } from './node-process';
export { freePort } from './free-port';
export { buildOutputs } from './build-outputs';
