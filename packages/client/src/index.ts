// @kv/client: a typed client of the KV JSON key/value API on fetch alone (Node >= 20, Deno, Bun, browsers, edge).

export { KvClient } from './kv-client';
export type {
  BatchGetOptions,
  CallOptions,
  CommitRequest,
  DeleteOptions,
  ExportOptions,
  GetOptions,
  ImportOptions,
  ImportSource,
  IncrementOptions,
  KvClientOptions,
  ListOptions,
  PatchOptions,
  ReadOptions,
  SetOptions,
  UpdateOptions,
  WatchOptions,
} from './kv-client';
export { KvAdmin } from './kv-admin';
export type { AccountDetails, AccountPage, CreateApiKeyRequest, KvAdminOptions, LimitsPatch } from './kv-admin';
export {
  KvError,
  KvForbiddenError,
  KvInternalError,
  KvInvalidJsonError,
  KvInvalidKeyError,
  KvInvalidRequestError,
  KvNetworkError,
  KvNotFoundError,
  KvPreconditionFailedError,
  KvQuotaExceededError,
  KvRateLimitedError,
  KvTypeMismatchError,
  KvUnauthorizedError,
  KvUnavailableError,
  KvUnsupportedMediaTypeError,
  KvValueTooLargeError,
  errorFromResponse,
} from './errors';
export type { KvErrorCode, KvErrorDetail, KvErrorInit, KvFailedCheck } from './errors';
export { RawJson, rawJson, parseJson, stringifyJson } from './json';
export type { JsonPath, ParseOptions } from './json';
export { itemPath } from './keys';
export type { FetchFunction, RetryOptions } from './transport';
export type * from './types';
