// A linearizability checker for histories of KV's item API (Wing & Gong's search with Lowe's
// just-in-time linearization and a cache of (linearized set, state), as Porcupine does it): each key
// is a register holding a (value, version) or nothing, and keys are checked one by one (a history is
// linearizable when each key's sub-history is: P-compositionality).

/** The condition of a write, as the API takes it (header, body field or query parameter alike). */
export type Condition = { kind: 'none' } | { kind: 'ifMatch'; version: string } | { kind: 'ifNoneMatch' };

/** What a client asked. Every put writes a value no other put in the history writes. */
export type Input =
  | { kind: 'get' }
  | { kind: 'put'; value: string; condition: Condition }
  | { kind: 'delete'; condition: Exclude<Condition, { kind: 'ifNoneMatch' }> };

/**
 * What the client saw. `read`, `written` and `deleted` are successes (ok). `refused` is a definite
 * failure that changed nothing but tells something about the state (404, 412 with its
 * `currentVersion`, `null` when the key is absent, undefined when the answer did not say);
 * `rejected` changed nothing and tells nothing (400, 429, …). `unknown` (503, a connection error, a
 * client timeout: status 0) may have taken effect at any moment after its invocation, or never.
 */
export type Outcome =
  | { kind: 'read'; item: { value: string; version: string } | null }
  | { kind: 'written'; version: string; created: boolean }
  | { kind: 'deleted' }
  | { kind: 'refused'; status: 404 | 412; currentVersion?: string | null }
  | { kind: 'rejected'; status: number }
  | { kind: 'unknown'; status: number };

export interface Operation {
  client: number;
  key: string;
  input: Input;
  /** When the request was sent and when its answer (or the error) came back, in ms on one clock. */
  call: number;
  return: number;
  outcome: Outcome;
  /** How the request was sent (replica, form of the condition), shown in explanations. */
  via?: string;
}

/**
 * A Redis primary that died (SIGKILL) between `start` and `end`. Replication is asynchronous, so
 * the replica promoted in its place holds the state of each key as of some earlier moment: at a
 * crash the checker lets each key go back to one of the last `maxRollback` states it held, and
 * counts the acknowledged writes (puts and deletes) that this discards.
 */
export interface Crash {
  start: number;
  end: number;
}

export interface CheckOptions {
  crashes?: Crash[];
  /** How many states back a crash may take a key. Defaults to 16. */
  maxRollback?: number;
  /** Acknowledged writes a crash may discard, per key. Defaults to unlimited (within maxRollback). */
  maxLostAcknowledged?: number;
  /** The whole check gives up after this long and answers "timed out". Defaults to 10 000 ms. */
  timeoutMs?: number;
  /** Time spent shrinking a failing key's history to a small explanation. Defaults to 2 000 ms. */
  shrinkMs?: number;
}

export type CheckResult =
  | {
      verdict: 'linearizable';
      keys: number;
      operations: number;
      /** Acknowledged writes the linearization found discards at crashes (over all keys). */
      lostAcknowledged: number;
      elapsedMs: number;
    }
  | {
      verdict: 'not linearizable';
      key: string;
      reason: string;
      /** A small sub-history of that key that is not linearizable on its own. */
      operations: Operation[];
      /** The reason and those operations, one per line, for a test failure message. */
      explanation: string;
      elapsedMs: number;
    }
  | { verdict: 'timed out'; key: string; elapsedMs: number };

// ---------------------------------------------------------------------------------------------
// The model: one register per key. `w` is the index of the put whose value it holds (-1: absent),
// `v` that put's version (null while no answer has shown it), `by` the write that made the state.

interface Register {
  w: number;
  v: string | null;
  by: number;
}

interface State {
  reg: Register;
  /** The states before this one, newest last, kept while a crash may still come. */
  hist: Register[];
  lost: number;
  /** Crashes not yet linearized. */
  left: number;
}

interface KeyOp {
  op: Operation;
  index: number;
  crash: boolean;
  /** A put or delete that succeeded (acknowledged). */
  acked: boolean;
}

interface KeyContext {
  ops: KeyOp[];
  /** Value → the put (index) that wrote it. */
  writer: Map<string, number>;
  /** Put index → its version, when some answer showed it. */
  versionOf: Map<number, string>;
  /** Versions that no answer tied to a value (seen only as a 412's currentVersion). */
  orphans: Set<string>;
  tracksHistory: boolean;
  maxRollback: number;
  maxLost: number;
}

const ABSENT: Register = { w: -1, v: null, by: -1 };

function serialize(state: State, ctx: KeyContext): string {
  const reg = (r: Register) => (ctx.tracksHistory ? `${r.w},${r.v ?? '?'},${r.by}` : `${r.w},${r.v ?? '?'}`);
  if (!ctx.tracksHistory) return reg(state.reg);
  return `${reg(state.reg)}|${state.hist.map(reg).join(';')}|${state.lost}|${state.left}`;
}

/** The register seen to have version `current` (null: absent), binding an unknown version; or null. */
function observe(reg: Register, current: string | null | undefined, ctx: KeyContext): Register | null {
  if (current === undefined) return reg;
  if (current === null) return reg.w < 0 ? reg : null;
  if (reg.w < 0) return null;
  if (reg.v === current) return reg;
  if (reg.v === null && ctx.orphans.has(current)) return { ...reg, v: current };
  return null;
}

function holds(reg: Register, condition: Condition): boolean {
  if (condition.kind === 'none') return true;
  if (condition.kind === 'ifNoneMatch') return reg.w < 0;
  return reg.w >= 0 && reg.v === condition.version;
}

/** The register after a write by `k` that took effect. */
function applied(k: KeyOp, ctx: KeyContext): Register {
  if (k.op.input.kind === 'delete') return { w: -1, v: null, by: k.index };
  const outcome = k.op.outcome;
  const version = outcome.kind === 'written' ? outcome.version : (ctx.versionOf.get(k.index) ?? null);
  return { w: k.index, v: version, by: k.index };
}

/** The registers `reg` can become by linearizing `k` (none: `k` cannot happen here). */
function stepRegister(reg: Register, k: KeyOp, ctx: KeyContext): { reg: Register; wrote: boolean }[] {
  const { input, outcome } = k.op;
  const same = (r: Register | null) => (r ? [{ reg: r, wrote: false }] : []);
  if (input.kind === 'get') {
    if (outcome.kind !== 'read') return [];
    if (outcome.item === null) return same(reg.w < 0 ? reg : null);
    if (reg.w !== ctx.writer.get(outcome.item.value)) return [];
    return same(reg.v === outcome.item.version ? reg : reg.v === null ? { ...reg, v: outcome.item.version } : null);
  }
  const condition = input.condition;
  switch (outcome.kind) {
    case 'written':
      if (input.kind !== 'put' || outcome.created !== reg.w < 0 || !holds(reg, condition)) return [];
      return [{ reg: applied(k, ctx), wrote: true }];
    case 'deleted':
      if (reg.w < 0 || !holds(reg, condition)) return [];
      return [{ reg: applied(k, ctx), wrote: true }];
    case 'refused':
      if (outcome.status === 404) return same(input.kind === 'delete' && reg.w < 0 ? reg : null);
      if (condition.kind === 'ifMatch') return same(holds(reg, condition) ? null : observe(reg, outcome.currentVersion, ctx));
      if (condition.kind === 'ifNoneMatch') return same(reg.w >= 0 ? observe(reg, outcome.currentVersion, ctx) : null);
      return [];
    case 'unknown': {
      // Not (yet) applied, or applied here if its condition holds; "later" is another linearization.
      const options = [{ reg, wrote: false }];
      if (holds(reg, condition) && (input.kind === 'put' || reg.w >= 0)) options.push({ reg: applied(k, ctx), wrote: true });
      return options;
    }
    default:
      return [];
  }
}

function stepState(state: State, k: KeyOp, ctx: KeyContext): State[] {
  if (k.crash) {
    const left = state.left - 1;
    const keepHistory = (hist: Register[]) => (left > 0 ? hist : []);
    const next: State[] = [{ reg: state.reg, hist: keepHistory(state.hist), lost: state.lost, left }];
    let lost = state.lost;
    const discarded = [...state.hist, state.reg];
    for (let j = state.hist.length - 1; j >= 0; j--) {
      const gone = discarded[j + 1];
      if (gone.by >= 0 && ctx.ops[gone.by].acked) lost++;
      if (lost > ctx.maxLost) break;
      next.push({ reg: state.hist[j], hist: keepHistory(state.hist.slice(0, j)), lost, left });
    }
    return next;
  }
  return stepRegister(state.reg, k, ctx).map(({ reg, wrote }) => {
    if (!wrote || state.left === 0) return { ...state, reg };
    const hist = [...state.hist, state.reg];
    if (hist.length > ctx.maxRollback) hist.shift();
    return { ...state, reg, hist };
  });
}

function step(states: Map<string, State>, k: KeyOp, ctx: KeyContext): Map<string, State> {
  const next = new Map<string, State>();
  for (const state of states.values()) {
    for (const candidate of stepState(state, k, ctx)) next.set(serialize(candidate, ctx), candidate);
  }
  return next;
}

// ---------------------------------------------------------------------------------------------
// The search.

interface Node {
  op: number;
  /** A call's return node; null on return nodes. */
  match: Node | null;
  prev: Node | null;
  next: Node | null;
}

function linkedEntries(ops: KeyOp[]): Node {
  const entries: { time: number; isReturn: boolean; op: number }[] = [];
  ops.forEach((k, i) => {
    entries.push({ time: k.op.call, isReturn: false, op: i });
    entries.push({ time: k.op.outcome.kind === 'unknown' ? Infinity : k.op.return, isReturn: true, op: i });
  });
  // Calls before returns at the same instant: such operations count as concurrent. (Unknown
  // outcomes return at Infinity, where subtraction would give NaN.)
  entries.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : Number(a.isReturn) - Number(b.isReturn)));
  const head: Node = { op: -1, match: null, prev: null, next: null };
  const calls: Node[] = [];
  const returns = new Map<number, Node>();
  let last = head;
  for (const entry of entries) {
    const node: Node = { op: entry.op, match: null, prev: last, next: null };
    if (entry.isReturn) returns.set(entry.op, node);
    else calls.push(node);
    last.next = node;
    last = node;
  }
  for (const call of calls) call.match = returns.get(call.op)!;
  return head;
}

function lift(entry: Node): void {
  entry.prev!.next = entry.next;
  if (entry.next) entry.next.prev = entry.prev;
  const match = entry.match!;
  match.prev!.next = match.next;
  if (match.next) match.next.prev = match.prev;
}

function unlift(entry: Node): void {
  const match = entry.match!;
  match.prev!.next = match;
  if (match.next) match.next.prev = match;
  entry.prev!.next = entry;
  if (entry.next) entry.next.prev = entry;
}

type SearchResult =
  | { kind: 'ok'; states: Map<string, State> }
  | { kind: 'fail'; deepest: number[] }
  | { kind: 'timeout' };

const MAX_CACHE = 1_000_000;

function search(ctx: KeyContext, deadline: number): SearchResult {
  const head = linkedEntries(ctx.ops);
  const words = new Uint32Array(Math.ceil(ctx.ops.length / 32) || 1);
  const cache = new Set<string>();
  const calls: { entry: Node; states: Map<string, State> }[] = [];
  const initial: State = { reg: ABSENT, hist: [], lost: 0, left: ctx.ops.filter((k) => k.crash).length };
  let states = new Map([[serialize(initial, ctx), initial]]);
  let deepest: number[] = [];
  let entry = head.next;
  let iterations = 0;
  while (head.next !== null && entry !== null) {
    if (++iterations % 1024 === 0 && (Date.now() > deadline || cache.size > MAX_CACHE)) return { kind: 'timeout' };
    if (entry.match !== null) {
      const next = step(states, ctx.ops[entry.op], ctx);
      if (next.size > 0) {
        words[entry.op >>> 5] |= 1 << (entry.op & 31);
        const key = `${words.join(',')}#${[...next.keys()].sort().join('/')}`;
        if (!cache.has(key)) {
          cache.add(key);
          calls.push({ entry, states });
          states = next;
          lift(entry);
          if (calls.length > deepest.length) deepest = calls.map((call) => call.entry.op);
          entry = head.next;
          continue;
        }
        words[entry.op >>> 5] &= ~(1 << (entry.op & 31));
      }
      entry = entry.next;
    } else {
      // An operation returned before any linearization of what is left could include it: go back.
      const top = calls.pop();
      if (!top) return { kind: 'fail', deepest };
      entry = top.entry;
      states = top.states;
      words[entry.op >>> 5] &= ~(1 << (entry.op & 31));
      unlift(entry);
      entry = entry.next;
    }
  }
  return { kind: 'ok', states };
}

// ---------------------------------------------------------------------------------------------
// Preparing a key's history, and explaining a failure.

type Prepared = { kind: 'ready'; ctx: KeyContext } | { kind: 'invalid'; reason: string; ops: Operation[] };

function prepare(ops: Operation[], crashes: Crash[], options: Required<Pick<CheckOptions, 'maxRollback' | 'maxLostAcknowledged'>>): Prepared {
  // Reads that failed, and refusals that say nothing, constrain nothing.
  const kept = ops.filter(
    (op) => op.outcome.kind !== 'rejected' && !(op.input.kind === 'get' && op.outcome.kind === 'unknown'),
  );
  const keyOps: KeyOp[] = kept.map((op, index) => ({
    op,
    index,
    crash: false,
    acked: op.outcome.kind === 'written' || op.outcome.kind === 'deleted',
  }));
  for (const crash of crashes) {
    const op: Operation = {
      client: -1,
      key: kept[0]?.key ?? '',
      input: { kind: 'get' },
      call: crash.start,
      return: crash.end,
      outcome: { kind: 'rejected', status: 0 },
    };
    keyOps.push({ op, index: keyOps.length, crash: true, acked: false });
  }
  const writer = new Map<string, number>();
  const versionOf = new Map<number, string>();
  for (const k of keyOps) {
    if (k.crash || k.op.input.kind !== 'put') continue;
    if (writer.has(k.op.input.value)) throw new Error(`two puts write ${JSON.stringify(k.op.input.value)}: values must be unique`);
    writer.set(k.op.input.value, k.index);
    if (k.op.outcome.kind === 'written') versionOf.set(k.index, k.op.outcome.version);
  }
  for (const k of keyOps) {
    const outcome = k.op.outcome;
    if (k.crash || outcome.kind !== 'read' || outcome.item === null) continue;
    const put = writer.get(outcome.item.value);
    if (put === undefined) return { kind: 'invalid', reason: 'a read returned a value that no put wrote to this key', ops: [k.op] };
    const known = versionOf.get(put);
    if (known !== undefined && known !== outcome.item.version) {
      return { kind: 'invalid', reason: 'one written value was seen with two versions', ops: [keyOps[put].op, k.op] };
    }
    versionOf.set(put, outcome.item.version);
  }
  const bound = new Set(versionOf.values());
  const orphans = new Set<string>();
  for (const k of keyOps) {
    const outcome = k.op.outcome;
    if (outcome.kind === 'refused' && typeof outcome.currentVersion === 'string' && !bound.has(outcome.currentVersion)) {
      orphans.add(outcome.currentVersion);
    }
  }
  return {
    kind: 'ready',
    ctx: {
      ops: keyOps,
      writer,
      versionOf,
      orphans,
      tracksHistory: crashes.length > 0,
      maxRollback: options.maxRollback,
      maxLost: options.maxLostAcknowledged,
    },
  };
}

/** For each operation, the puts its request or answer refers to (by value or version). */
function referencesOf(all: Operation[]): Map<Operation, Operation[]> {
  const putOf = new Map<string, Operation>();
  for (const op of all) if (op.input.kind === 'put') putOf.set(op.input.value, op);
  const putsOfVersion = new Map<string, Set<Operation>>();
  const tie = (version: string, value: string) => {
    const put = putOf.get(value);
    if (put) putsOfVersion.set(version, (putsOfVersion.get(version) ?? new Set()).add(put));
  };
  for (const op of all) {
    if (op.input.kind === 'put' && op.outcome.kind === 'written') tie(op.outcome.version, op.input.value);
    if (op.outcome.kind === 'read' && op.outcome.item) tie(op.outcome.item.version, op.outcome.item.value);
  }
  const refs = new Map<Operation, Operation[]>();
  for (const op of all) {
    const own: Operation[] = [];
    if (op.outcome.kind === 'read' && op.outcome.item) {
      const put = putOf.get(op.outcome.item.value);
      if (put) own.push(put);
    }
    if (op.input.kind !== 'get' && op.input.condition.kind === 'ifMatch') own.push(...(putsOfVersion.get(op.input.condition.version) ?? []));
    if (op.outcome.kind === 'refused' && op.outcome.currentVersion) own.push(...(putsOfVersion.get(op.outcome.currentVersion) ?? []));
    refs.set(op, own);
  }
  return refs;
}

/**
 * Removes chunks of operations while what is left stays not linearizable (a small ddmin), keeping
 * `stuck` (the answer no order explains). When the history without `stuck` is linearizable, what is
 * left must be too: otherwise removing operations can leave a different, artificial failure (a
 * replace answered 200 once the create before it is gone).
 */
function shrink(
  ops: Operation[],
  stuck: Operation | undefined,
  crashes: Crash[],
  options: Required<Pick<CheckOptions, 'maxRollback' | 'maxLostAcknowledged'>>,
  until: number,
): Operation[] {
  const verdict = (candidate: Operation[]): SearchResult['kind'] => {
    const prepared = prepare(candidate, crashes, options);
    if (prepared.kind === 'invalid') return 'fail';
    return search(prepared.ctx, Math.min(until, Date.now() + 500)).kind;
  };
  const essential = stuck !== undefined && verdict(ops.filter((op) => op !== stuck)) === 'ok';
  const fails = (candidate: Operation[]) =>
    verdict(candidate) === 'fail' && (!essential || verdict(candidate.filter((op) => op !== stuck)) === 'ok');
  // Never drop a put that a remaining operation refers to: the explanation would blame the missing put.
  const refs = referencesOf(ops);
  const closed = (candidate: Operation[]): boolean => {
    const present = new Set(candidate);
    return (stuck === undefined || present.has(stuck)) && candidate.every((op) => refs.get(op)!.every((ref) => present.has(ref)));
  };
  let current = ops;
  let chunk = Math.ceil(current.length / 2);
  while (chunk >= 1 && Date.now() < until) {
    let removed = false;
    for (let start = 0; start < current.length && Date.now() < until; ) {
      const candidate = [...current.slice(0, start), ...current.slice(start + chunk)];
      if (candidate.length > 0 && closed(candidate) && fails(candidate)) {
        current = candidate;
        removed = true;
      } else {
        start += chunk;
      }
    }
    if (!removed) {
      if (chunk === 1) break;
      chunk = Math.ceil(chunk / 2);
    }
  }
  return current;
}

function describeCondition(condition: Condition): string {
  if (condition.kind === 'ifMatch') return ` if-match "${condition.version}"`;
  if (condition.kind === 'ifNoneMatch') return ' if-none-match *';
  return '';
}

/** One operation on one line: `client 3: put "c3-17" if-match "45" → 412 current "47"  [12.0–15.3 ms]`. */
export function describeOperation(op: Operation, origin = 0): string {
  const input =
    op.input.kind === 'get'
      ? 'get'
      : op.input.kind === 'put'
        ? `put ${JSON.stringify(op.input.value)}${describeCondition(op.input.condition)}`
        : `delete${describeCondition(op.input.condition)}`;
  const outcome = op.outcome;
  let output: string;
  switch (outcome.kind) {
    case 'read':
      output = outcome.item ? `${JSON.stringify(outcome.item.value)} version "${outcome.item.version}"` : '404 absent';
      break;
    case 'written':
      output = `${outcome.created ? 201 : 200} version "${outcome.version}"`;
      break;
    case 'deleted':
      output = '204';
      break;
    case 'refused':
      output = `${outcome.status}${outcome.currentVersion === undefined ? '' : ` current ${JSON.stringify(outcome.currentVersion)}`}`;
      break;
    default:
      output = `${outcome.kind} (${outcome.status})`;
  }
  const end = outcome.kind === 'unknown' ? `${(op.return - origin).toFixed(1)}+` : (op.return - origin).toFixed(1);
  const via = op.via ? ` (${op.via})` : '';
  return `client ${op.client}: ${input} → ${output}  [${(op.call - origin).toFixed(1)}–${end} ms]${via}`;
}

function explain(key: string, reason: string, ops: Operation[], crashes: Crash[], origin: number): string {
  const lines = [`key ${JSON.stringify(key)}: ${reason}`];
  for (const crash of crashes) lines.push(`  (primary killed [${(crash.start - origin).toFixed(1)}–${(crash.end - origin).toFixed(1)} ms])`);
  for (const op of [...ops].sort((a, b) => a.call - b.call)) lines.push(`  ${describeOperation(op, origin)}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

/**
 * Checks that `history` is linearizable for the register model above, key by key. Answers
 * "timed out" rather than run past `timeoutMs`; on a failure, names the key and a small
 * sub-history that fails on its own (the first key that fails, in key order).
 */
export function checkHistory(history: Operation[], options: CheckOptions = {}): CheckResult {
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 10_000);
  const crashes = options.crashes ?? [];
  const settings = { maxRollback: options.maxRollback ?? 16, maxLostAcknowledged: options.maxLostAcknowledged ?? Infinity };
  const origin = history.reduce((min, op) => Math.min(min, op.call), Infinity);
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    const ops = byKey.get(op.key);
    if (ops) ops.push(op);
    else byKey.set(op.key, [op]);
  }
  let lostAcknowledged = 0;
  for (const key of [...byKey.keys()].sort()) {
    const ops = byKey.get(key)!;
    const prepared = prepare(ops, crashes, settings);
    if (prepared.kind === 'invalid') {
      return {
        verdict: 'not linearizable',
        key,
        reason: prepared.reason,
        operations: prepared.ops,
        explanation: explain(key, prepared.reason, prepared.ops, crashes, origin),
        elapsedMs: Date.now() - started,
      };
    }
    const result = search(prepared.ctx, deadline);
    if (result.kind === 'timeout') return { verdict: 'timed out', key, elapsedMs: Date.now() - started };
    if (result.kind === 'ok') {
      lostAcknowledged += Math.min(...[...result.states.values()].map((state) => state.lost));
      continue;
    }
    // The operation that could not be placed: the earliest-answered one outside the deepest
    // partial linearization.
    const placed = new Set(result.deepest);
    const stuck = prepared.ctx.ops
      .filter((k) => !k.crash && !placed.has(k.index) && k.op.outcome.kind !== 'unknown')
      .sort((a, b) => a.op.return - b.op.return)[0];
    const candidates = prepared.ctx.ops.filter((k) => !k.crash).map((k) => k.op);
    const small = shrink(candidates, stuck?.op, crashes, settings, Date.now() + (options.shrinkMs ?? 2000));
    const reason = stuck
      ? `no order of the operations explains this answer: ${describeOperation(stuck.op, origin)}`
      : 'no order of the operations explains the answers';
    return {
      verdict: 'not linearizable',
      key,
      reason,
      operations: small,
      explanation: explain(key, reason, small, crashes, origin),
      elapsedMs: Date.now() - started,
    };
  }
  return { verdict: 'linearizable', keys: byKey.size, operations: history.length, lostAcknowledged, elapsedMs: Date.now() - started };
}
