// A JSON checker that never recurses and keeps the text of values: depth limits, lossless numbers.
// JSON.parse would turn 12345678901234567890 into 12345678901234567000 and a 200,000-level body into
// a deep object graph; this scanner reads the text once, stops at the depth limit, and reports where
// each top-level member's value starts and ends so it can be stored as sent.

export type JsonScan =
  | {
      ok: true;
      /** Top-level members as [start, end) offsets of their values; null when the text is not an object. */
      members: Map<string, [number, number]> | null;
      /** Top-level elements as [start, end) offsets; null when the text is not an array. */
      elements: [number, number][] | null;
    }
  | { ok: false; reason: 'syntax'; offset: number }
  | { ok: false; reason: 'depth'; offset: number };

const OBJECT = 1;
const ARRAY = 2;

const enum Expect {
  Value,
  ValueOrEnd,
  KeyOrEnd,
  Key,
  Colon,
  CommaOrEnd,
  Nothing,
}

const isWhitespace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/**
 * A run of string characters that need no look: anything but a quote, a backslash or a control
 * character. Sticky, so it matches exactly where it is set; V8 runs it as native code, which
 * skips a long string many times faster than a loop over charCodeAt.
 */
const PLAIN_IN_STRING = /[^"\\\u0000-\u001f]*/y;
/** Inside a string already checked: anything but a quote or a backslash. */
const PLAIN_IN_CHECKED_STRING = /[^"\\]*/y;

/** The offset after the run of `run` that starts at `i`. */
function skip(run: RegExp, text: string, i: number): number {
  run.lastIndex = i;
  run.test(text);
  return run.lastIndex;
}

/** End offset of the string starting at `i` (a quote), or -1 if it is not a valid JSON string. */
function scanString(text: string, i: number): number {
  const n = text.length;
  let j = i + 1;
  while (j < n) {
    j = skip(PLAIN_IN_STRING, text, j);
    if (j >= n) break;
    const c = text.charCodeAt(j);
    if (c === 0x22) return j + 1;
    if (c < 0x20) return -1;
    if (c === 0x5c) {
      const e = text.charCodeAt(j + 1);
      if (e === 0x75) {
        if (!(isHex(text.charCodeAt(j + 2)) && isHex(text.charCodeAt(j + 3)) && isHex(text.charCodeAt(j + 4)) && isHex(text.charCodeAt(j + 5)))) {
          return -1;
        }
        j += 6;
      } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        j += 2;
      } else {
        return -1;
      }
    } else {
      j++;
    }
  }
  return -1;
}

/** End offset of the number starting at `i`, or -1 if it is not a valid JSON number. */
function scanNumber(text: string, i: number): number {
  let j = i;
  if (text.charCodeAt(j) === 0x2d) j++;
  if (text.charCodeAt(j) === 0x30) {
    j++;
  } else if (isDigit(text.charCodeAt(j))) {
    while (isDigit(text.charCodeAt(j))) j++;
  } else {
    return -1;
  }
  if (text.charCodeAt(j) === 0x2e) {
    j++;
    if (!isDigit(text.charCodeAt(j))) return -1;
    while (isDigit(text.charCodeAt(j))) j++;
  }
  const e = text.charCodeAt(j);
  if (e === 0x65 || e === 0x45) {
    j++;
    const sign = text.charCodeAt(j);
    if (sign === 0x2b || sign === 0x2d) j++;
    if (!isDigit(text.charCodeAt(j))) return -1;
    while (isDigit(text.charCodeAt(j))) j++;
  }
  return j;
}

/**
 * Checks that `text` is one JSON value (RFC 8259) nested at most `maxDepth` containers deep,
 * and stops as soon as it is not. O(length), no recursion, so any input is safe to scan.
 */
export function scanJson(text: string, maxDepth: number): JsonScan {
  const n = text.length;
  const stack: number[] = [];
  let members: Map<string, [number, number]> | null = null;
  let elements: [number, number][] | null = null;
  let memberName = '';
  let memberStart = 0;
  let expect = Expect.Value as Expect;
  let i = 0;

  const valueDone = () => {
    if (stack.length === 1) {
      if (stack[0] === OBJECT) members!.set(memberName, [memberStart, i]);
      else elements!.push([memberStart, i]);
    }
    expect = stack.length === 0 ? Expect.Nothing : Expect.CommaOrEnd;
  };

  while (true) {
    while (i < n && isWhitespace(text.charCodeAt(i))) i++;
    if (i >= n) break;
    const c = text.charCodeAt(i);

    switch (expect) {
      case Expect.Value:
      case Expect.ValueOrEnd: {
        if (expect === Expect.ValueOrEnd && c === 0x5d) {
          stack.pop();
          i++;
          valueDone();
          break;
        }
        if (stack.length === 1) memberStart = i;
        if (c === 0x7b || c === 0x5b) {
          if (stack.length === maxDepth) return { ok: false, reason: 'depth', offset: i };
          if (stack.length === 0) {
            if (c === 0x7b) members = new Map();
            else elements = [];
          }
          stack.push(c === 0x7b ? OBJECT : ARRAY);
          expect = c === 0x7b ? Expect.KeyOrEnd : Expect.ValueOrEnd;
          i++;
          break;
        }
        let end: number;
        if (c === 0x22) end = scanString(text, i);
        else if (c === 0x2d || isDigit(c)) end = scanNumber(text, i);
        else if (text.startsWith('true', i)) end = i + 4;
        else if (text.startsWith('false', i)) end = i + 5;
        else if (text.startsWith('null', i)) end = i + 4;
        else end = -1;
        if (end < 0) return { ok: false, reason: 'syntax', offset: i };
        i = end;
        valueDone();
        break;
      }
      case Expect.KeyOrEnd:
      case Expect.Key: {
        if (expect === Expect.KeyOrEnd && c === 0x7d) {
          stack.pop();
          i++;
          valueDone();
          break;
        }
        if (c !== 0x22) return { ok: false, reason: 'syntax', offset: i };
        const end = scanString(text, i);
        if (end < 0) return { ok: false, reason: 'syntax', offset: i };
        if (stack.length === 1) memberName = JSON.parse(text.slice(i, end)) as string;
        i = end;
        expect = Expect.Colon;
        break;
      }
      case Expect.Colon:
        if (c !== 0x3a) return { ok: false, reason: 'syntax', offset: i };
        i++;
        expect = Expect.Value;
        break;
      case Expect.CommaOrEnd: {
        const top = stack[stack.length - 1];
        if (c === 0x2c) {
          i++;
          expect = top === OBJECT ? Expect.Key : Expect.Value;
        } else if ((c === 0x7d && top === OBJECT) || (c === 0x5d && top === ARRAY)) {
          stack.pop();
          i++;
          valueDone();
        } else {
          return { ok: false, reason: 'syntax', offset: i };
        }
        break;
      }
      case Expect.Nothing:
        return { ok: false, reason: 'syntax', offset: i };
    }
  }
  if (expect !== Expect.Nothing) return { ok: false, reason: 'syntax', offset: n };
  return { ok: true, members, elements };
}

/** The JSON text in [start, end) without insignificant whitespace; everything else exactly as sent. */
export function compactJson(text: string, start: number, end: number): string {
  let out = '';
  let runStart = start;
  let inString = false;
  for (let i = start; i < end; i++) {
    if (inString) i = skip(PLAIN_IN_CHECKED_STRING, text, i);
    if (i >= end) break;
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (isWhitespace(c)) {
      if (i > runStart) out += text.slice(runStart, i);
      runStart = i + 1;
    }
  }
  return runStart === start ? text.slice(start, end) : out + text.slice(runStart, end);
}
