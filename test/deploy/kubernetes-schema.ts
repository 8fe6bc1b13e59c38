// The Kubernetes kinds the deployment files may use, checked against the kubernetes-models schemas.

import path from 'node:path';
import ts from 'typescript';

/** A rendered manifest: only the fields every object has are typed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [field: string]: unknown };
  [field: string]: unknown;
}

interface KindInfo {
  /** The kubernetes-models module exporting the model class `<kind>` and its interface `I<kind>`. */
  module: string;
  namespaced: boolean;
}

/** Every kind the files may use. Another kind is refused until it is added here with its model. */
const KINDS: Record<string, KindInfo> = {
  'v1/Namespace': { module: 'kubernetes-models/v1/Namespace', namespaced: false },
  'v1/ConfigMap': { module: 'kubernetes-models/v1/ConfigMap', namespaced: true },
  'v1/Secret': { module: 'kubernetes-models/v1/Secret', namespaced: true },
  'v1/Service': { module: 'kubernetes-models/v1/Service', namespaced: true },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1/Deployment', namespaced: true },
  'apps/v1/StatefulSet': { module: 'kubernetes-models/apps/v1/StatefulSet', namespaced: true },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    namespaced: true,
  },
  'policy/v1/PodDisruptionBudget': { module: 'kubernetes-models/policy/v1/PodDisruptionBudget', namespaced: true },
  'networking.k8s.io/v1/NetworkPolicy': {
    module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    namespaced: true,
  },
};

function nameOf(object: Pick<K8sObject, 'apiVersion' | 'kind'> & { metadata?: { name?: string } }): string {
  return `${object.apiVersion}/${object.kind} ${object.metadata?.name ?? '(no name)'}`;
}

/** The kind's entry in the table; throws for a kind the table does not know. */
export function kindInfo(object: Pick<K8sObject, 'apiVersion' | 'kind'>): KindInfo {
  const info = KINDS[`${object.apiVersion}/${object.kind}`];
  if (!info) {
    throw new Error(
      `${nameOf(object)}: unknown kind; add it with its kubernetes-models module to KINDS in test/deploy/kubernetes-schema.ts`,
    );
  }
  return info;
}

/** Runs the kubernetes-models validation (types, required fields, formats); throws on the first bad object. */
export function validateWithModel(object: K8sObject): void {
  const models = require(kindInfo(object).module) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = models[object.kind];
  try {
    new Model(object).validate();
  } catch (error) {
    throw new Error(`${nameOf(object)}: ${(error as Error).message}`);
  }
}

/**
 * Fields the Kubernetes API does not know (a typo, or a field indented under the wrong parent), which
 * `kubectl apply` refuses but the kubernetes-models validation lets through: each object is
 * type-checked as an object literal of its kind's interface, whose excess-property check finds them.
 * Returns one line per problem.
 */
export function unknownFields(objects: K8sObject[]): string[] {
  const file = path.join(__dirname, '__rendered_manifests__.ts');
  const lines = objects.map(
    (object, i) => `export const o${i}: import('${kindInfo(object).module}').I${object.kind} = ${JSON.stringify(object)};`,
  );
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, source, language) : getSourceFile(name, language, ...rest);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    if (diagnostic.file?.fileName !== file || diagnostic.start === undefined) return message;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${nameOf(objects[line])}: ${message}`;
  });
}
