// k8s/ as `kubectl apply -k k8s/` renders it: valid objects in namespace kv that fit together.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config';
import {
  containerEnv,
  drainTimeoutSeconds,
  findObject,
  readDockerfileStages,
  renderK8s,
  rootPath,
  k8sBytes,
  redisBytes,
  withOwnSecrets,
  type Container,
} from './deployment-files';
import { unknownFields, validateWithModel, type K8sObject } from './kubernetes-schema';
import { readYamlDocuments, renderKustomization } from './kustomize';

type Labels = Record<string, string>;
interface Probe {
  httpGet?: { path: string; port: string | number };
  exec?: { command: string[] };
  periodSeconds?: number;
}
interface KvContainer extends Container {
  ports: { name?: string; containerPort: number }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: KvContainer[];
  securityContext?: Record<string, unknown>;
  terminationGracePeriodSeconds?: number;
  topologySpreadConstraints?: { topologyKey: string; labelSelector: { matchLabels: Labels } }[];
  affinity?: unknown;
  volumes?: { name: string; emptyDir?: unknown }[];
}
interface Workload {
  spec: {
    replicas: number;
    selector: { matchLabels: Labels };
    strategy?: { type: string; rollingUpdate?: { maxUnavailable: number | string; maxSurge: number | string } };
    serviceName?: string;
    template: { metadata: { labels: Labels; annotations?: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates?: { metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }[];
  };
}
interface Service {
  spec: { clusterIP?: string; type?: string; selector: Labels; ports: { name?: string; port: number; targetPort?: string | number }[] };
}

const objects = renderK8s();
const deployment = findObject<Workload>(objects, 'Deployment', 'kv');
const kvPod = deployment.spec.template;
const kv = kvPod.spec.containers[0];
const statefulSet = findObject<Workload>(objects, 'StatefulSet', 'redis');
const redisContainer = statefulSet.spec.template.spec.containers[0];
const podTemplates = objects.flatMap((o) => ((o as unknown as Workload).spec?.template ? [[o, (o as unknown as Workload).spec.template] as const] : []));

const selects = (selector: Labels, labels: Labels) => Object.entries(selector).every(([key, value]) => labels[key] === value);
/** The workloads whose pods a selector picks. */
const selected = (selector: Labels) => podTemplates.filter(([, template]) => selects(selector, template.metadata.labels)).map(([o]) => `${o.kind}/${o.metadata.name}`);
/** The container port a Service targetPort or a probe port names. */
const containerPort = (container: KvContainer, port: string | number) =>
  typeof port === 'number' ? port : container.ports.find((p) => p.name === port)?.containerPort;

describe('k8s/ rendered as kubectl apply -k renders it', () => {
  it('renders only kinds it knows, each valid against its kubernetes-models schema', () => {
    for (const object of objects) expect(() => validateWithModel(object)).not.toThrow();
    expect(objects.map((o) => o.kind).sort()).toEqual(
      ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Namespace', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Service', 'Service', 'StatefulSet'].sort(),
    );
  });

  it('sets no field the Kubernetes API does not know', () => {
    expect(unknownFields(objects)).toEqual([]);
  }, 30_000);

  it('creates namespace kv and puts every other object in it', () => {
    expect(findObject(objects, 'Namespace', 'kv')).toBeDefined();
    for (const object of objects.filter((o) => o.kind !== 'Namespace')) {
      expect(`${object.kind}/${object.metadata.name} in ${object.metadata.namespace}`).toBe(`${object.kind}/${object.metadata.name} in kv`);
    }
  });

  it('labels every object part-of kv', () => {
    for (const object of objects) expect(object.metadata.labels?.['app.kubernetes.io/part-of']).toBe('kv');
  });

  it('pulls the KV image named in kustomization.yaml', () => {
    expect(kv.image).toBe('registry.example.com/kv:0.1.0');
    expect(redisContainer.image).toBe('redis:7-alpine');
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  (kubectl.status === 0 ? it : it.skip)('renders the same objects as kubectl kustomize (run when kubectl is installed)', () => {
    const result = spawnSync('kubectl', ['kustomize', rootPath('k8s')], { encoding: 'utf8', timeout: 30_000 });
    if (result.status !== 0) throw new Error(`kubectl kustomize failed: ${result.stderr}`);
    const rendered = parseAllDocuments(result.stdout).map((d) => d.toJS() as K8sObject);
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const byKey = (list: K8sObject[]) => Object.fromEntries(list.map((o) => [key(o), o]));
    expect(byKey(objects)).toEqual(byKey(rendered));
  }, 30_000);
});

describe('the kustomize renderer of the tests', () => {
  function renderWith(kustomization: string): K8sObject[] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-kustomize-'));
    try {
      fs.writeFileSync(path.join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: "1"\n');
      fs.writeFileSync(path.join(dir, 'kustomization.yaml'), kustomization);
      return renderKustomization(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it('refuses a kustomization field it does not implement', () => {
    expect(() => renderWith('resources: [cm.yaml]\ncommonLabels:\n  a: b\n')).toThrow('field "commonLabels" is not implemented');
    expect(() => renderWith('resources: [cm.yaml]\npatches: []\n')).toThrow('field "patches" is not implemented');
    expect(() => renderWith('resources: [cm.yaml]\nlabels:\n  - pairs: {a: b}\n    includeSelectors: true\n')).toThrow('not implemented');
  });

  it('refuses a kind it cannot validate', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-kustomize-'));
    try {
      fs.writeFileSync(path.join(dir, 'job.yaml'), 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n');
      fs.writeFileSync(path.join(dir, 'kustomization.yaml'), 'namespace: kv\nresources: [job.yaml]\n');
      expect(() => renderKustomization(dir)).toThrow('unknown kind');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads YAML as kubectl does, so a bare yes is a boolean', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-kustomize-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.yaml'), 'args: [--appendonly, yes]\n');
      expect(readYamlDocuments(path.join(dir, 'a.yaml'))).toEqual([{ args: ['--appendonly', true] }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('applies namespace and labels', () => {
    const [configMap] = renderWith('namespace: other\nlabels:\n  - pairs: {a: b}\nresources: [cm.yaml]\n');
    expect(configMap.metadata).toEqual({ name: 'a', namespace: 'other', labels: { a: 'b' } });
  });
});

describe('Deployment kv', () => {
  // With the Secret's example values replaced, as secret.yaml says to do before the first apply.
  const env = withOwnSecrets(containerEnv(objects, kv));

  it('runs 3 replicas and replaces them one at a time without dropping below 3', () => {
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(selects(deployment.spec.selector.matchLabels, kvPod.metadata.labels)).toBe(true);
  });

  it('gets a configuration KV accepts, on Redis, once the Secret holds values of its own', () => {
    expect(() => loadConfig(env)).not.toThrow();
    expect(loadConfig(env).store.kind).toBe('redis');
  });

  it('gets a configuration KV refuses while the Secret holds its shipped example values', () => {
    expect(() => loadConfig(containerEnv(objects, kv))).toThrow(/KV_ADMIN_TOKEN[^]*KV_BOOTSTRAP_API_KEY/);
  });

  it('names http the container port that KV listens on', () => {
    const http = kv.ports.find((p) => p.name === 'http');
    expect(http?.containerPort).toBe(loadConfig(env).port);
  });

  it('names internal the container port of /metrics and /admin (KV_INTERNAL_PORT), apart from http', () => {
    const { port, internalPort } = loadConfig(env);
    expect(internalPort).toEqual(expect.any(Number));
    expect(internalPort).not.toBe(0);
    expect(internalPort).not.toBe(port);
    expect(kv.ports.find((p) => p.name === 'internal')?.containerPort).toBe(internalPort);
  });

  it('lets Prometheus scrape /metrics on the internal port through the pod annotations', () => {
    const annotations = kvPod.metadata.annotations ?? {};
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(annotations['prometheus.io/path']).toBe('/metrics');
    expect(Number(annotations['prometheus.io/port'])).toBe(loadConfig(env).internalPort);
  });

  it('checks readiness on /readyz and liveness on /healthz, on the http port', () => {
    expect(kv.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(kv.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    if (kv.startupProbe) expect(kv.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
  });

  it('leaves the endpoints in preStop, then gives KV its whole drain before the kill', () => {
    const preStop = kv.lifecycle?.preStop;
    const sleepCommand = preStop?.exec?.command;
    const sleepSeconds = preStop?.sleep?.seconds ?? (sleepCommand?.[0] === 'sleep' ? Number(sleepCommand[1]) : NaN);
    expect(sleepSeconds).toBeGreaterThanOrEqual(3);
    expect(kvPod.spec.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(sleepSeconds + drainTimeoutSeconds());
  });

  it('runs the image CMD, as the non-root user the image was built for', () => {
    expect(kv.command).toBeUndefined();
    expect(kv.args).toBeUndefined();
    const user = readDockerfileStages().at(-1)!.instructions.filter((i) => i.keyword === 'USER').at(-1)!.args;
    expect(['node', '1000']).toContain(user);
    expect(kvPod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(kv.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('gives the read-only container a writable /tmp', () => {
    const tmp = kv.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(kvPod.spec.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
  });

  it('requests CPU for the autoscaler and limits memory', () => {
    expect(kv.resources?.requests?.cpu).toBeDefined();
    expect(kv.resources?.requests?.memory).toBeDefined();
    expect(kv.resources?.limits?.memory).toBeDefined();
  });

  it('spreads its pods over nodes', () => {
    const byHost = kvPod.spec.topologySpreadConstraints?.find((c) => c.topologyKey === 'kubernetes.io/hostname');
    expect(byHost && selected(byHost.labelSelector.matchLabels)).toEqual(['Deployment/kv']);
  });
});

describe('Service, autoscaler and disruption budget of kv', () => {
  it('routes Service kv port 80 to the http port of the kv pods only', () => {
    const service = findObject<Service>(objects, 'Service', 'kv');
    expect(service.spec.type ?? 'ClusterIP').toBe('ClusterIP');
    expect(selected(service.spec.selector)).toEqual(['Deployment/kv']);
    expect(service.spec.ports).toHaveLength(1);
    expect(service.spec.ports[0]).toMatchObject({ port: 80, targetPort: 'http' });
    expect(containerPort(kv, service.spec.ports[0].targetPort!)).toBe(loadConfig(withOwnSecrets(containerEnv(objects, kv))).port);
  });

  it('publishes only the public port of the kv pods in every Service, never the internal one', () => {
    const { port, internalPort } = loadConfig(withOwnSecrets(containerEnv(objects, kv)));
    const kvServices = objects
      .filter((o) => o.kind === 'Service')
      .map((o) => o as unknown as Service & K8sObject)
      .filter((service) => selected(service.spec.selector).includes('Deployment/kv'));
    expect(kvServices.map((service) => service.metadata.name)).toEqual(['kv']);
    for (const service of kvServices) {
      const targets = service.spec.ports.map((p) => containerPort(kv, p.targetPort ?? p.port));
      expect(targets).toEqual([port]);
      expect(targets).not.toContain(internalPort);
    }
  });

  it('scales Deployment kv from 3 to 10 replicas on 70% CPU', () => {
    const hpa = findObject<{
      spec: {
        scaleTargetRef: unknown;
        minReplicas: number;
        maxReplicas: number;
        metrics: { type: string; resource: { name: string; target: unknown } }[];
      };
    }>(objects, 'HorizontalPodAutoscaler', 'kv');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'kv' });
    expect(hpa.spec.minReplicas).toBe(3);
    expect(hpa.spec.maxReplicas).toBe(10);
    expect(hpa.spec.minReplicas).toBeLessThanOrEqual(deployment.spec.replicas);
    expect(hpa.spec.metrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
    ]);
  });

  it('lets voluntary disruptions take only one kv pod at a time', () => {
    const pdb = findObject<{ spec: { selector: { matchLabels: Labels }; maxUnavailable?: number; minAvailable?: number } }>(
      objects,
      'PodDisruptionBudget',
      'kv',
    );
    expect(selected(pdb.spec.selector.matchLabels)).toEqual(['Deployment/kv']);
    expect(pdb.spec.maxUnavailable ?? deployment.spec.replicas - (pdb.spec.minAvailable ?? 0)).toBe(1);
  });
});

describe('Redis', () => {
  const redisArgs = redisContainer.args ?? [];
  const option = (name: string) => (redisArgs.includes(name) ? redisArgs[redisArgs.indexOf(name) + 1] : undefined);

  it('is what REDIS_URL names: Service redis on the port redis listens on', () => {
    const url = new URL(containerEnv(objects, kv).REDIS_URL);
    const [serviceName, namespace = 'kv'] = url.hostname.split('.');
    expect(namespace).toBe('kv');
    const service = findObject<Service>(objects, 'Service', serviceName);
    expect(selected(service.spec.selector)).toEqual(['StatefulSet/redis']);
    const port = service.spec.ports.find((p) => p.port === Number(url.port || 6379));
    expect(port).toBeDefined();
    // redis-server listens on 6379 unless --port says otherwise.
    expect(containerPort(redisContainer, port!.targetPort ?? port!.port)).toBe(Number(option('--port') ?? 6379));
    expect(statefulSet.spec.serviceName).toBe(serviceName);
  });

  it('runs one redis with the append-only file on a 1Gi volume claim mounted where redis writes', () => {
    expect(statefulSet.spec.replicas).toBe(1);
    expect(redisArgs[0]).toBe('redis-server');
    expect(option('--appendonly')).toBe('yes');
    const dir = option('--dir') ?? '/data';
    const mount = redisContainer.volumeMounts?.find((m) => m.mountPath === dir);
    const claim = statefulSet.spec.volumeClaimTemplates?.find((c) => c.metadata.name === mount?.name);
    expect(claim?.spec.resources.requests.storage).toBe('1Gi');
  });

  it('checks redis with redis-cli ping', () => {
    expect(redisContainer.readinessProbe?.exec?.command.join(' ')).toContain('redis-cli ping');
    expect(redisContainer.livenessProbe?.exec?.command.join(' ')).toContain('redis-cli ping');
  });

  it('runs as the redis image user, not root, with a read-only root filesystem', () => {
    expect(statefulSet.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, fsGroup: 999 });
    expect(redisContainer.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    expect(redisContainer.resources?.limits?.memory).toBeDefined();
  });

  it('keeps its data below the container memory limit with room to spare, and refuses writes when full', () => {
    const limit = k8sBytes(redisContainer.resources!.limits!.memory);
    const maxmemory = redisBytes(option('--maxmemory') ?? '0');
    // Room for what Redis does not count as data: fragmentation, client buffers, and the pages the
    // forked append-only-file rewrite copies, all under the same cgroup limit.
    expect(maxmemory).toBeGreaterThanOrEqual(0.5 * limit);
    expect(maxmemory).toBeLessThanOrEqual(0.75 * limit);
    // Full, Redis refuses writes (KV answers 503) rather than evict stored items or be OOM-killed.
    expect(option('--maxmemory-policy')).toBe('noeviction');
  });

  it('accepts connections from the kv pods only', () => {
    const policy = findObject<{
      spec: { podSelector: { matchLabels: Labels }; ingress: { from: { podSelector: { matchLabels: Labels } }[]; ports: { port: string | number }[] }[] };
    }>(objects, 'NetworkPolicy', 'redis');
    expect(selected(policy.spec.podSelector.matchLabels)).toEqual(['StatefulSet/redis']);
    expect(policy.spec.ingress).toHaveLength(1);
    expect(policy.spec.ingress[0].from.map((f) => selected(f.podSelector.matchLabels))).toEqual([['Deployment/kv']]);
    expect(policy.spec.ingress[0].ports.map((p) => containerPort(redisContainer, p.port))).toEqual([6379]);
  });
});

describe('Secret kv', () => {
  it('ships only placeholder values, to be replaced before use', () => {
    const secret = findObject<{ stringData: Record<string, string> }>(objects, 'Secret', 'kv');
    expect(Object.keys(secret.stringData).sort()).toEqual(['KV_ADMIN_TOKEN', 'KV_BOOTSTRAP_API_KEY']);
    for (const value of Object.values(secret.stringData)) expect(value).toMatch(/example/i);
    expect(fs.readFileSync(rootPath('k8s', 'secret.yaml'), 'utf8')).toMatch(/REPLACE BOTH BEFORE THE FIRST APPLY/);
  });
});
