// RFC 7396 JSON Merge Patch on JSON text, keeping every number and string token exactly as written.

/** A patch value that replaces as a whole (anything but an object): its compact source text. */
type Raw = { kind: 'raw'; text: string };
/** A patch object; keys are the decoded names, `key` keeps each name's source text. */
type Obj = { kind: 'object'; members: Map<string, { key: string; value: Node }> };
type Node = Raw | Obj;

const isWhitespace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

function fail(text: string, i: number): never {
  throw new Error(`applyMergePatch: invalid JSON at offset ${Math.min(i, text.length)}`);
}

/** Offset of the first non-whitespace character at or after `i`; sets `sawSpace` when it skips any. */
let sawSpace = false;
function ws(text: string, i: number): number {
  const start = i;
  while (isWhitespace(text.charCodeAt(i))) i++;
  if (i > start) sawSpace = true;
  return i;
}

/** End offset of the string token starting at `i` (a quote). */
function stringEnd(text: string, i: number): number {
  if (text.charCodeAt(i) !== 0x22) fail(text, i);
  let j = i + 1;
  while (true) {
    const c = text.charCodeAt(j);
    if (c === 0x22) return j + 1;
    if (c === 0x5c) {
      const e = text.charCodeAt(j + 1);
      if (e === 0x75) {
        for (let k = j + 2; k < j + 6; k++) if (!isHex(text.charCodeAt(k))) fail(text, k);
        j += 6;
      } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        j += 2;
      } else {
        fail(text, j);
      }
    } else if (c >= 0x20) {
      j++;
    } else {
      fail(text, j); // a control character, or the end of the text (NaN)
    }
  }
}

/** End offset of the number, true, false or null starting at `i`. */
function literalEnd(text: string, i: number): number {
  let j = i;
  const c = text.charCodeAt(j);
  if (c === 0x2d || isDigit(c)) {
    if (c === 0x2d) j++;
    if (text.charCodeAt(j) === 0x30) j++;
    else if (isDigit(text.charCodeAt(j))) while (isDigit(text.charCodeAt(j))) j++;
    else fail(text, j);
    if (text.charCodeAt(j) === 0x2e) {
      j++;
      if (!isDigit(text.charCodeAt(j))) fail(text, j);
      while (isDigit(text.charCodeAt(j))) j++;
    }
    const e = text.charCodeAt(j);
    if (e === 0x65 || e === 0x45) {
      j++;
      const sign = text.charCodeAt(j);
      if (sign === 0x2b || sign === 0x2d) j++;
      if (!isDigit(text.charCodeAt(j))) fail(text, j);
      while (isDigit(text.charCodeAt(j))) j++;
    }
    return j;
  }
  if (text.startsWith('true', j) || text.startsWith('null', j)) return j + 4;
  if (text.startsWith('false', j)) return j + 5;
  return fail(text, j);
}

/** From a member name at `i` (after whitespace), the offset of its value (after whitespace). */
function skipName(text: string, i: number): number {
  i = ws(text, stringEnd(text, i));
  if (text.charCodeAt(i) !== 0x3a) fail(text, i);
  return ws(text, i + 1);
}

/** Checks the one value starting at `i` (not whitespace) without recursion and returns its end offset. */
function skipValue(text: string, i: number): number {
  const closers: number[] = [];
  while (true) {
    // A value starts at i.
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      const close = c + 2; // { -> }, [ -> ]
      i = ws(text, i + 1);
      if (text.charCodeAt(i) === close) {
        i++;
      } else {
        closers.push(close);
        if (close === 0x7d) i = skipName(text, i);
        continue;
      }
    } else if (c === 0x22) {
      i = stringEnd(text, i);
    } else {
      i = literalEnd(text, i);
    }
    // A value ended at i: close containers, or go on to the next element.
    while (closers.length > 0) {
      i = ws(text, i);
      const d = text.charCodeAt(i);
      const close = closers[closers.length - 1];
      if (d === 0x2c) {
        i = ws(text, i + 1);
        if (close === 0x7d) i = skipName(text, i);
        break;
      }
      if (d !== close) fail(text, i);
      i++;
      closers.pop();
    }
    if (closers.length === 0) return i;
  }
}

/** JSON text without whitespace outside strings. */
function compact(text: string): string {
  let out = '';
  let runStart = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (isWhitespace(c)) {
      out += text.slice(runStart, i);
      runStart = i + 1;
    }
  }
  return out + text.slice(runStart);
}

/** The text of [start, end), compacted if whitespace was skipped since `sawSpace` was last cleared. */
function sliceCompact(text: string, start: number, end: number): string {
  const slice = text.slice(start, end);
  return sawSpace ? compact(slice) : slice;
}

/** Reads a member name at `i`: its decoded name, its source text, and the offset of its value. */
function readName(text: string, i: number): [string, string, number] {
  const end = stringEnd(text, i);
  const key = text.slice(i, end);
  const name = key.indexOf('\\') < 0 ? key.slice(1, -1) : (JSON.parse(key) as string);
  i = ws(text, end);
  if (text.charCodeAt(i) !== 0x3a) fail(text, i);
  return [name, key, ws(text, i + 1)];
}

/** Reads the patch value at `i` (not whitespace): objects member by member, anything else as compact text. */
function readPatch(text: string, i: number): [Node, number] {
  if (text.charCodeAt(i) !== 0x7b) {
    sawSpace = false;
    const end = skipValue(text, i);
    return [{ kind: 'raw', text: sliceCompact(text, i, end) }, end];
  }
  const members: Obj['members'] = new Map();
  i = ws(text, i + 1);
  if (text.charCodeAt(i) === 0x7d) return [{ kind: 'object', members }, i + 1];
  while (true) {
    const [name, key, valueStart] = readName(text, i);
    const [value, end] = readPatch(text, valueStart);
    members.set(name, { key, value }); // a repeated name: the last value wins, as in JSON.parse
    i = ws(text, end);
    const d = text.charCodeAt(i);
    if (d === 0x7d) return [{ kind: 'object', members }, i + 1];
    if (d !== 0x2c) fail(text, i);
    i = ws(text, i + 1);
  }
}

const isNull = (node: Node) => node.kind === 'raw' && node.text === 'null';

/** MergePatch({}, patch) as compact text: the patch without its null members, at every level. */
function withoutNulls(patch: Node): string {
  if (patch.kind === 'raw') return patch.text;
  const out: string[] = [];
  for (const { key, value } of patch.members.values()) if (!isNull(value)) out.push(key + ':' + withoutNulls(value));
  return '{' + out.join(',') + '}';
}

/** A target member the patch names; `value` is its merged text, or null when it is removed. */
type Touched = { key: string; value: string | null };

/**
 * MergePatch(target, patch) for the target object at `i` (a brace): returns the merged object as compact
 * text and the target's end offset. One pass over the target: runs of members the patch does not name
 * are copied as they are (compacted), and only objects the patch merges into are read member by member,
 * recursively (the caller bounds the depth). A name repeated in the target is one member as in JSON.parse:
 * the last value, at the first position; repeats of names the patch does not name are copied unchanged.
 */
function mergeObject(text: string, i: number, patch: Obj): [string, number] {
  const pieces: (string | Touched)[] = [];
  const touched = new Map<string, Touched>();
  i = ws(text, i + 1);
  if (text.charCodeAt(i) !== 0x7d) {
    let runStart = -1; // start of the current run of members the patch does not name
    let runEnd = -1;
    while (true) {
      const memberStart = i;
      if (runStart < 0) sawSpace = false;
      const [name, key, valueStart] = readName(text, i);
      const member = patch.members.get(name);
      if (member === undefined) {
        i = skipValue(text, valueStart);
        if (runStart < 0) runStart = memberStart;
        runEnd = i;
      } else {
        if (runStart >= 0) pieces.push(sliceCompact(text, runStart, runEnd));
        runStart = -1;
        let value: string | null;
        if (member.value.kind === 'object' && text.charCodeAt(valueStart) === 0x7b) {
          [value, i] = mergeObject(text, valueStart, member.value);
        } else {
          i = skipValue(text, valueStart);
          value = isNull(member.value) ? null : withoutNulls(member.value);
        }
        const first = touched.get(name);
        if (first) {
          first.value = value;
        } else {
          const slot = { key, value };
          touched.set(name, slot);
          pieces.push(slot);
        }
      }
      i = ws(text, i);
      const d = text.charCodeAt(i);
      if (d !== 0x2c && d !== 0x7d) fail(text, i);
      i++;
      if (d === 0x7d) break;
      i = ws(text, i);
    }
    if (runStart >= 0) pieces.push(sliceCompact(text, runStart, runEnd));
  } else {
    i++;
  }
  const out: string[] = [];
  for (const piece of pieces) {
    if (typeof piece === 'string') out.push(piece);
    else if (piece.value !== null) out.push(piece.key + ':' + piece.value);
  }
  for (const [name, { key, value }] of patch.members) {
    if (!touched.has(name) && !isNull(value)) out.push(key + ':' + withoutNulls(value));
  }
  return ['{' + out.join(',') + '}', i];
}

/** The end of the document whose value ended at `i`: only whitespace may follow. */
function end(text: string, i: number): void {
  i = ws(text, i);
  if (i < text.length) fail(text, i);
}

/**
 * RFC 7396: the patch merged into the target. Both are JSON text (the target is compact JSON as stored;
 * the patch is any valid JSON text, whitespace allowed). Returns compact JSON text.
 *
 * Every number and string keeps its source text (`12345678901234567890`, `1.50`, `1e400`, escapes);
 * nothing goes through JSON.parse except member names with escapes, to compare them. A patch that is not
 * an object is the result; a target that is not an object counts as `{}`. Members keep the target's order,
 * new ones follow in patch order; `__proto__` is an ordinary name. Of a name repeated in either text the
 * last value wins (at the first position); a target's repeats inside members the patch does not touch are
 * copied unchanged, which JSON.parse reads the same way.
 * One pass over each text (linear time); recursion follows object nesting, which the caller bounds
 * (65 levels). Throws an Error on invalid JSON.
 */
export function applyMergePatch(targetJson: string, patchJson: string): string {
  const start = ws(patchJson, 0);
  const [patch, patchEnd] = readPatch(patchJson, start);
  end(patchJson, patchEnd);
  if (patch.kind === 'raw') return patch.text;

  let i = ws(targetJson, 0);
  let merged: string;
  if (targetJson.charCodeAt(i) === 0x7b) {
    [merged, i] = mergeObject(targetJson, i, patch);
  } else {
    i = skipValue(targetJson, i);
    merged = withoutNulls(patch);
  }
  end(targetJson, i);
  return merged;
}
