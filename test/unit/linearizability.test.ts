// The linearizability checker on hand-written histories: ones that are linearizable (overlapping
// operations, unknown outcomes either way, a crash that takes a key back) and ones that are not.

import { checkHistory, type CheckResult, type Condition, type Operation, type Outcome } from '../helpers/linearizability';

type DeleteCondition = Exclude<Condition, { kind: 'ifNoneMatch' }>;
const none: DeleteCondition = { kind: 'none' };
const ifMatch = (version: string): DeleteCondition => ({ kind: 'ifMatch', version });
const ifNoneMatch: Condition = { kind: 'ifNoneMatch' };

const written = (version: string, created = false): Outcome => ({ kind: 'written', version, created });
const read = (value: string, version: string): Outcome => ({ kind: 'read', item: { value, version } });
const absent: Outcome = { kind: 'read', item: null };
const deleted: Outcome = { kind: 'deleted' };
const conflict = (currentVersion: string | null): Outcome => ({ kind: 'refused', status: 412, currentVersion });
const notFound: Outcome = { kind: 'refused', status: 404 };
const unknown: Outcome = { kind: 'unknown', status: 503 };

/** Operations on key "k" unless given; times are [call, return] in ms. */
function put(client: number, [call, ret]: [number, number], value: string, condition: Condition, outcome: Outcome, key = 'k'): Operation {
  return { client, key, input: { kind: 'put', value, condition }, call, return: ret, outcome };
}
function get(client: number, [call, ret]: [number, number], outcome: Outcome, key = 'k'): Operation {
  return { client, key, input: { kind: 'get' }, call, return: ret, outcome };
}
function del(client: number, [call, ret]: [number, number], condition: DeleteCondition, outcome: Outcome, key = 'k'): Operation {
  return { client, key, input: { kind: 'delete', condition }, call, return: ret, outcome };
}

function expectLinearizable(result: CheckResult): void {
  if (result.verdict === 'not linearizable') throw new Error(result.explanation);
  expect(result.verdict).toBe('linearizable');
}

function expectNotLinearizable(result: CheckResult): Extract<CheckResult, { verdict: 'not linearizable' }> {
  expect(result.verdict).toBe('not linearizable');
  return result as Extract<CheckResult, { verdict: 'not linearizable' }>;
}

describe('the linearizability checker on linearizable histories', () => {
  it('accepts a sequential history of put, read, compare-and-swap, delete and create-only', () => {
    expectLinearizable(
      checkHistory([
        get(1, [0, 1], absent),
        put(1, [2, 3], 'a', ifNoneMatch, written('1', true)),
        get(2, [4, 5], read('a', '1')),
        put(2, [6, 7], 'b', ifMatch('1'), written('2')),
        put(1, [8, 9], 'c', ifMatch('1'), conflict('2')),
        put(3, [10, 11], 'd', ifNoneMatch, conflict('2')),
        del(3, [12, 13], ifMatch('1'), conflict('2')),
        del(3, [14, 15], ifMatch('2'), deleted),
        del(1, [16, 17], none, notFound),
        del(2, [18, 19], ifMatch('2'), conflict(null)),
        put(2, [20, 21], 'e', ifMatch('2'), conflict(null)),
        put(1, [22, 23], 'f', none, written('3', true)),
        get(1, [24, 25], read('f', '3')),
      ]),
    );
  });

  it('accepts overlapping writes that reads see in an order other than their invocations', () => {
    // b is invoked after a but takes effect first; both reads overlap the writes.
    expectLinearizable(
      checkHistory([
        put(1, [0, 10], 'a', none, written('2', false)),
        put(2, [2, 8], 'b', none, written('1', true)),
        get(3, [3, 9], read('b', '1')),
        get(4, [5, 12], read('a', '2')),
        get(3, [13, 14], read('a', '2')),
      ]),
    );
  });

  it('accepts two reads overlapping a write that see it before and after, in either order of their invocations', () => {
    expectLinearizable(
      checkHistory([
        put(1, [0, 1], 'a', none, written('1', true)),
        put(2, [5, 20], 'b', none, written('2')),
        get(3, [6, 12], read('b', '2')),
        get(4, [7, 11], read('a', '1')),
      ]),
    );
  });

  it('accepts two compare-and-swaps on one version when one wins and the other gets 412 with the winner\'s version', () => {
    expectLinearizable(
      checkHistory([
        put(1, [0, 1], 'a', ifNoneMatch, written('1', true)),
        put(2, [2, 10], 'b', ifMatch('1'), conflict('3')),
        put(3, [3, 9], 'c', ifMatch('1'), written('3')),
        get(1, [11, 12], read('c', '3')),
      ]),
    );
  });

  it('accepts two concurrent create-only puts when one creates and the other gets 412', () => {
    expectLinearizable(
      checkHistory([
        put(1, [0, 10], 'a', ifNoneMatch, conflict('2')),
        put(2, [1, 9], 'b', ifNoneMatch, written('2', true)),
        get(1, [11, 12], read('b', '2')),
      ]),
    );
  });

  it('accepts an unknown write that took effect (a later read sees it)', () => {
    expectLinearizable(
      checkHistory([
        put(1, [0, 1], 'a', none, written('1', true)),
        put(2, [2, 3], 'b', ifMatch('1'), unknown),
        get(1, [10, 11], read('b', '2')),
      ]),
    );
  });

  it('accepts an unknown write that never took effect', () => {
    expectLinearizable(
      checkHistory([
        put(1, [0, 1], 'a', none, written('1', true)),
        put(2, [2, 3], 'b', none, unknown),
        get(1, [10, 11], read('a', '1')),
        put(1, [12, 13], 'c', ifMatch('1'), written('3')),
      ]),
    );
  });

  it('accepts an unknown write that took effect after its error came back', () => {
    expectLinearizable(
      checkHistory([
        put(1, [0, 1], 'a', none, written('1', true)),
        put(2, [2, 3], 'b', none, unknown),
        get(1, [4, 5], read('a', '1')),
        get(1, [6, 7], read('b', '2')),
      ]),
    );
  });

  it('accepts an unknown delete that explains a 404 and an unseen unknown write that explains a 412', () => {
    expectLinearizable(
      checkHistory([
        put(1, [0, 1], 'a', none, written('1', true)),
        del(2, [2, 3], none, unknown),
        get(1, [4, 5], absent),
        put(3, [6, 7], 'b', ifNoneMatch, unknown),
        // b's version was never read: "5" can only be it.
        put(1, [8, 9], 'c', ifNoneMatch, conflict('5')),
        del(1, [10, 11], ifMatch('1'), conflict('5')),
      ]),
    );
  });

  it('checks each key on its own and ignores failed reads and refusals that tell nothing', () => {
    expectLinearizable(
      checkHistory([
        put(1, [0, 5], 'a1', none, written('1', true), 'a'),
        put(2, [1, 4], 'b1', none, written('2', true), 'b'),
        get(3, [2, 3], { kind: 'unknown', status: 0 }, 'a'),
        put(3, [6, 7], 'a2', none, { kind: 'rejected', status: 429 }, 'a'),
        get(1, [8, 9], read('a1', '1'), 'a'),
        get(2, [8, 9], read('b1', '2'), 'b'),
      ]),
    );
  });

  it('accepts a key taken back to an earlier state at a crash, and counts the acknowledged writes discarded', () => {
    const history = [
      put(1, [0, 1], 'a', none, written('1', true)),
      put(1, [2, 3], 'b', none, written('2')),
      get(2, [20, 21], read('a', '1')),
    ];
    const result = checkHistory(history, { crashes: [{ start: 10, end: 12 }] });
    expectLinearizable(result);
    expect(result).toMatchObject({ lostAcknowledged: 1 });
    // Nothing lost when the crash needs no rollback.
    expect(checkHistory(history.slice(0, 2), { crashes: [{ start: 10, end: 12 }] })).toMatchObject({ verdict: 'linearizable', lostAcknowledged: 0 });
  });
});

describe('the linearizability checker on histories that are not linearizable', () => {
  it('rejects a stale read after an acknowledged write, and names the key and the operations', () => {
    const result = expectNotLinearizable(
      checkHistory([
        // Noise on another key, and reads before the fault.
        ...Array.from({ length: 20 }, (_, i) => put(5, [i * 10, i * 10 + 5], `o${i}`, none, written(`o${i}`, i === 0), 'other')),
        put(1, [0, 1], 'a', none, written('1', true)),
        get(2, [2, 3], read('a', '1')),
        get(3, [2, 4], read('a', '1')),
        put(2, [5, 6], 'b', none, written('2')),
        get(3, [7, 8], read('a', '1')),
        get(4, [9, 10], read('b', '2')),
      ]),
    );
    expect(result.key).toBe('k');
    expect(result.explanation).toContain('key "k"');
    // Shrunk to the write the read missed, the read, and the write it saw.
    expect(result.operations.map((op) => op.input.kind === 'put' ? `put ${op.input.value}` : `${op.input.kind} ${op.call}`).sort()).toEqual(['get 7', 'put a', 'put b']);
  });

  it('rejects a lost update: two compare-and-swaps on the same version both succeed', () => {
    expectNotLinearizable(
      checkHistory([
        put(1, [0, 1], 'a', none, written('1', true)),
        put(2, [2, 10], 'b', ifMatch('1'), written('2')),
        put(3, [3, 9], 'c', ifMatch('1'), written('3')),
      ]),
    );
  });

  it('rejects a read of a value never written to the key', () => {
    const result = expectNotLinearizable(
      checkHistory([put(1, [0, 1], 'a', none, written('1', true), 'a'), get(2, [2, 3], read('a', '1'), 'b')]),
    );
    expect(result.key).toBe('b');
    expect(result.reason).toContain('no put wrote');
  });

  it('rejects a read of a value written only after the read returned', () => {
    expectNotLinearizable(checkHistory([get(1, [0, 1], read('a', '1')), put(2, [2, 3], 'a', none, written('1', true))]));
  });

  it('rejects a read of a deleted value after the delete was acknowledged', () => {
    expectNotLinearizable(
      checkHistory([
        put(1, [0, 1], 'a', none, written('1', true)),
        del(2, [2, 3], none, deleted),
        get(1, [4, 5], read('a', '1')),
      ]),
    );
  });

  it('rejects a 404 after an acknowledged write (a lost write)', () => {
    expectNotLinearizable(checkHistory([put(1, [0, 1], 'a', none, written('1', true)), get(2, [2, 3], absent)]));
  });

  it('rejects two create-only puts that both create the key', () => {
    expectNotLinearizable(
      checkHistory([put(1, [0, 5], 'a', ifNoneMatch, written('1', true)), put(2, [1, 6], 'b', ifNoneMatch, written('2', true))]),
    );
  });

  it('rejects a put answered 201 (created) when it replaced a value', () => {
    expectNotLinearizable(checkHistory([put(1, [0, 1], 'a', none, written('1', true)), put(2, [2, 3], 'b', none, written('2', true))]));
  });

  it('rejects a delete answered 404 while the key holds a value', () => {
    expectNotLinearizable(checkHistory([put(1, [0, 1], 'a', none, written('1', true)), del(2, [2, 3], none, notFound)]));
  });

  it('rejects a 412 whose currentVersion is the version the condition named', () => {
    expectNotLinearizable(checkHistory([put(1, [0, 1], 'a', none, written('1', true)), put(2, [2, 3], 'b', ifMatch('1'), conflict('1'))]));
  });

  it('rejects a compare-and-swap that succeeds on a version the key no longer has', () => {
    expectNotLinearizable(
      checkHistory([
        put(1, [0, 1], 'a', none, written('1', true)),
        put(2, [2, 3], 'b', none, written('2')),
        del(3, [4, 5], ifMatch('1'), deleted),
      ]),
    );
  });

  it('rejects an unknown compare-and-swap seen applied after its version was overwritten', () => {
    expectNotLinearizable(
      checkHistory([
        put(1, [0, 1], 'a', none, written('1', true)),
        put(2, [2, 3], 'b', ifMatch('1'), unknown),
        put(1, [4, 5], 'c', none, written('3')),
        get(1, [6, 7], read('b', '2')),
      ]),
    );
  });

  it('rejects one written value seen with two versions', () => {
    const result = expectNotLinearizable(
      checkHistory([put(1, [0, 1], 'a', none, written('1', true)), get(2, [2, 3], read('a', '7'))]),
    );
    expect(result.reason).toContain('two versions');
  });

  it('rejects a key taken back without a crash, or back before an acknowledged write when no loss is allowed', () => {
    const history = [
      put(1, [0, 1], 'a', none, written('1', true)),
      put(1, [2, 3], 'b', none, written('2')),
      get(2, [20, 21], read('a', '1')),
    ];
    expectNotLinearizable(checkHistory(history));
    expectNotLinearizable(checkHistory(history, { crashes: [{ start: 10, end: 12 }], maxLostAcknowledged: 0 }));
    // A crash before the write cannot discard it.
    expectNotLinearizable(checkHistory(history, { crashes: [{ start: 1.5, end: 1.8 }] }));
    // Nor further back than maxRollback states.
    expectNotLinearizable(checkHistory(history, { crashes: [{ start: 10, end: 12 }], maxRollback: 0 }));
  });

  it('answers "timed out" instead of searching on when the history is too hard for its time', () => {
    // 24 concurrent acknowledged writes and a read of nothing: every order must be tried.
    const writes = Array.from({ length: 24 }, (_, i) => put(i, [0, 100], `w${i}`, none, written(`${i}`, i === 0)));
    const result = checkHistory([...writes, get(99, [200, 201], absent)], { timeoutMs: 200 });
    expect(result).toMatchObject({ verdict: 'timed out', key: 'k' });
  });
});
