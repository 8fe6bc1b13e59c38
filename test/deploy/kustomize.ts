// Renders a kustomization the way `kubectl apply -k` does, for the features k8s/ uses; refuses the others.

import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { kindInfo, type K8sObject } from './kubernetes-schema';

/**
 * Every document of a YAML file. Read as YAML 1.1, as kubectl's decoder does: an unquoted `yes`
 * becomes `true` there (and then fails a string field), so it does here too.
 */
export function readYamlDocuments(file: string): unknown[] {
  const documents = parseAllDocuments(fs.readFileSync(file, 'utf8'), { version: '1.1', uniqueKeys: true });
  if (!Array.isArray(documents)) return [];
  return documents.flatMap((document, i) => {
    const problems = [...document.errors, ...document.warnings];
    if (problems.length > 0) throw new Error(`${file}, document ${i + 1}: ${problems.map((p) => p.message).join('; ')}`);
    const value: unknown = document.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}

interface LabelsEntry {
  pairs: Record<string, string>;
  includeSelectors?: boolean;
  includeTemplates?: boolean;
}

interface ImageEntry {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

/** The kustomization fields this renderer implements; any other field is refused. */
const FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'labels', 'resources', 'images']);

function fail(file: string, message: string): never {
  throw new Error(`${file}: ${message} (test/deploy/kustomize.ts implements only what k8s/ uses)`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMap(file: string, where: string, value: unknown): Record<string, string> {
  if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    fail(file, `${where} must map names to strings`);
  }
  return value as Record<string, string>;
}

function readKustomization(file: string) {
  const documents = readYamlDocuments(file);
  if (documents.length !== 1 || !isRecord(documents[0])) fail(file, 'must hold exactly one mapping');
  const k = documents[0];
  for (const field of Object.keys(k)) if (!FIELDS.has(field)) fail(file, `field "${field}" is not implemented`);
  if (k.apiVersion !== undefined && k.apiVersion !== 'kustomize.config.k8s.io/v1beta1') fail(file, 'unknown apiVersion');
  if (k.kind !== undefined && k.kind !== 'Kustomization') fail(file, 'kind must be Kustomization');
  if (k.namespace !== undefined && typeof k.namespace !== 'string') fail(file, 'namespace must be a string');

  const resources = k.resources ?? [];
  if (!Array.isArray(resources) || !resources.every((r) => typeof r === 'string')) fail(file, 'resources must be a list of files');

  const labels = (k.labels ?? []) as unknown;
  if (!Array.isArray(labels)) fail(file, 'labels must be a list');
  const labelEntries: LabelsEntry[] = labels.map((entry: unknown) => {
    if (!isRecord(entry)) fail(file, 'each labels entry must be a mapping');
    for (const field of Object.keys(entry)) {
      if (field !== 'pairs' && field !== 'includeSelectors' && field !== 'includeTemplates') {
        fail(file, `labels field "${field}" is not implemented`);
      }
    }
    // Selectors and pod templates are left alone: only metadata.labels is implemented.
    if (entry.includeSelectors === true || entry.includeTemplates === true) {
      fail(file, 'labels with includeSelectors or includeTemplates is not implemented');
    }
    return { pairs: stringMap(file, 'labels pairs', entry.pairs) };
  });

  const images = (k.images ?? []) as unknown;
  if (!Array.isArray(images)) fail(file, 'images must be a list');
  const imageEntries: ImageEntry[] = images.map((entry: unknown) => {
    if (!isRecord(entry)) fail(file, 'each images entry must be a mapping');
    for (const [field, value] of Object.entries(entry)) {
      if (!['name', 'newName', 'newTag', 'digest'].includes(field)) fail(file, `images field "${field}" is not implemented`);
      // An unquoted newTag such as 1.10 is a number, and not the tag it looks like.
      if (typeof value !== 'string') fail(file, `images ${field} must be a string (quote it)`);
    }
    if (typeof entry.name !== 'string') fail(file, 'each images entry needs a name');
    return entry as unknown as ImageEntry;
  });

  return { namespace: k.namespace as string | undefined, resources: resources as string[], labelEntries, imageEntries };
}

/** Splits `registry:5000/name:tag@sha256:…` into its name, tag and digest. */
function parseImage(image: string): { name: string; tag?: string; digest?: string } {
  const [rest, digest] = image.split('@', 2);
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) return { name: rest.slice(0, colon), tag: rest.slice(colon + 1), digest };
  return { name: rest, digest };
}

function setImages(node: unknown, images: ImageEntry[]): void {
  if (Array.isArray(node)) {
    for (const item of node) setImages(item, images);
    return;
  }
  if (!isRecord(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'containers' || key === 'initContainers') && Array.isArray(value)) {
      for (const container of value) {
        if (!isRecord(container) || typeof container.image !== 'string') continue;
        const image = parseImage(container.image);
        const entry = images.find((candidate) => candidate.name === image.name);
        if (!entry) continue;
        const name = entry.newName ?? image.name;
        if (entry.digest) container.image = `${name}@${entry.digest}`;
        else if (entry.newTag) container.image = `${name}:${entry.newTag}`;
        else container.image = `${name}${image.tag ? `:${image.tag}` : ''}${image.digest ? `@${image.digest}` : ''}`;
      }
    } else {
      setImages(value, images);
    }
  }
}

/**
 * The objects `kubectl apply -k <dir>` would send: every file of `resources` (multi-document YAML
 * split), with `namespace` set on namespaced objects (a Namespace object is renamed to it, as
 * kustomize does), `labels` pairs added to every object's metadata.labels, and `images` applied to
 * every container and init container. Throws on a kustomization field, resource or kind it does not
 * implement.
 */
export function renderKustomization(dir: string): K8sObject[] {
  const file = path.join(dir, 'kustomization.yaml');
  const { namespace, resources, labelEntries, imageEntries } = readKustomization(file);
  const objects: K8sObject[] = [];
  for (const resource of resources) {
    const resourcePath = path.resolve(dir, resource);
    if (!fs.existsSync(resourcePath) || !fs.statSync(resourcePath).isFile()) {
      fail(file, `resource "${resource}" is not a file (directories and remote bases are not implemented)`);
    }
    for (const document of readYamlDocuments(resourcePath)) {
      if (!isRecord(document) || typeof document.apiVersion !== 'string' || typeof document.kind !== 'string') {
        fail(resourcePath, 'every document must have apiVersion and kind');
      }
      if (!isRecord(document.metadata) || typeof document.metadata.name !== 'string') {
        fail(resourcePath, `${document.kind} without metadata.name`);
      }
      objects.push(document as K8sObject);
    }
  }
  const ids = objects.map((o) => `${o.apiVersion}/${o.kind} ${o.metadata.namespace ?? namespace ?? ''}/${o.metadata.name}`);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate) fail(file, `${duplicate} is declared twice`);

  for (const object of objects) {
    if (namespace !== undefined) {
      if (kindInfo(object).namespaced) object.metadata.namespace = namespace;
      else if (object.apiVersion === 'v1' && object.kind === 'Namespace') object.metadata.name = namespace;
    }
    for (const { pairs } of labelEntries) object.metadata.labels = { ...object.metadata.labels, ...pairs };
    if (imageEntries.length > 0) setImages(object, imageEntries);
  }
  return objects;
}
