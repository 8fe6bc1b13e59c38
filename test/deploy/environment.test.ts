// The environment every deployment file gives KV: only variables KV reads, with values it accepts.

import { ENV_VARIABLES, loadConfig } from '../../src/config';
import { serviceEnvironment } from './compose';
import {
  composeApiEnv,
  composeWithExampleEnv,
  containerEnv,
  containerSetNames,
  findObject,
  imageEnv,
  renderK8s,
  withOwnSecrets,
  type Container,
} from './deployment-files';

const known = new Set<string>(ENV_VARIABLES);
const unknown = (names: string[]) => names.filter((name) => !known.has(name));

const objects = renderK8s();
const kvContainers = (): Container[] =>
  findObject<{ spec: { template: { spec: { containers: Container[] } } } }>(objects, 'Deployment', 'kv').spec.template.spec.containers;

describe('the environment of KV in the deployment files', () => {
  it('sets in the image only variables KV reads, besides NODE_ENV', () => {
    // NODE_ENV is read by Express and its dependencies, not by KV's config.
    expect(unknown(Object.keys(imageEnv()).filter((name) => name !== 'NODE_ENV'))).toEqual([]);
  });

  it('sets for the compose api only variables KV reads', () => {
    expect(unknown(Object.keys(serviceEnvironment(composeWithExampleEnv().services.api)))).toEqual([]);
  });

  it('sets in the ConfigMap, the Secret and the Deployment only variables KV reads', () => {
    const configMap = findObject<{ data: Record<string, string> }>(objects, 'ConfigMap', 'kv');
    const secret = findObject<{ stringData: Record<string, string> }>(objects, 'Secret', 'kv');
    expect(unknown(Object.keys(configMap.data))).toEqual([]);
    expect(unknown(Object.keys(secret.stringData))).toEqual([]);
    for (const container of kvContainers()) expect(unknown(containerSetNames(objects, container))).toEqual([]);
  });

  it('gives the compose api, with values of its own in .env, a configuration KV accepts', () => {
    const config = loadConfig(composeApiEnv());
    expect(config.store.kind).toBe('redis');
    expect(config.adminToken).toBeDefined();
    expect(config.bootstrapApiKey).toBeDefined();
  });

  it('gives the compose api, with .env.example copied unchanged, a configuration KV refuses', () => {
    expect(() => loadConfig(composeApiEnv(composeWithExampleEnv()))).toThrow(/KV_ADMIN_TOKEN[^]*KV_BOOTSTRAP_API_KEY/);
  });

  it('gives the Kubernetes pods, from the ConfigMap and a Secret of their own, a configuration KV accepts', () => {
    for (const container of kvContainers()) {
      const config = loadConfig(withOwnSecrets(containerEnv(objects, container)));
      expect(config.store.kind).toBe('redis');
      expect(config.adminToken).toBeDefined();
      expect(config.bootstrapApiKey).toBeDefined();
    }
  });

  it('lets the Secret override the ConfigMap, so a REDIS_URL with a password can live in the Secret', () => {
    const [container] = kvContainers();
    const sources = (container.envFrom ?? []).map((source) => (source.configMapRef ? 'ConfigMap' : source.secretRef ? 'Secret' : '?'));
    expect(sources).toEqual(['ConfigMap', 'Secret']);
  });
});
