// JSON without loss: a parser that can keep big integers as BigInt or hand back a value's exact text, and a
// writer that takes BigInt and pre-written JSON text.

/**
 * JSON text to send as it is, digits and escapes included: `set(key, rawJson('{"n": 12345678901234567890}'))`.
 * The server checks it (400 `invalid_json` when it is not JSON) and stores it as compact JSON.
 */
export class RawJson {
  /** The JSON text. */
  readonly text: string;
  constructor(text: string) {
    if (typeof text !== 'string' || text.trim() === '') throw new TypeError('rawJson needs non-empty JSON text');
    this.text = text.trim();
  }
}

/** `new RawJson(text)`: JSON text to write as it is. */
export function rawJson(text: string): RawJson {
  return new RawJson(text);
}

/** A place in a JSON document: object members by name, array elements by index. */
export type JsonPath = readonly (string | number)[];

/** How parseJson reads numbers, and where it leaves values as text. */
export interface ParseOptions {
  /** Integers beyond ±(2^53 − 1) become BigInt instead of the nearest double. */
  bigint?: boolean;
  /** Where this answers true, the value is left as its JSON text (a string), unparsed. */
  raw?: (path: JsonPath) => boolean;
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

/** A recursive-descent JSON parser; used only when BigInt or raw text is asked for (JSON.parse otherwise). */
class Parser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly options: ParseOptions,
  ) {}

  parse(): unknown {
    const value = this.value([]);
    this.ws();
    if (this.pos !== this.text.length) this.fail('unexpected text after the JSON value');
    return value;
  }

  private fail(what: string): never {
    throw new SyntaxError(`JSON: ${what} at position ${this.pos}`);
  }

  private ws(): void {
    const text = this.text;
    let pos = this.pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
    this.pos = pos;
  }

  private value(path: (string | number)[]): unknown {
    this.ws();
    if (this.options.raw?.(path)) {
      const start = this.pos;
      this.skip();
      return this.text.slice(start, this.pos);
    }
    const c = this.text[this.pos];
    if (c === '{') return this.object(path);
    if (c === '[') return this.array(path);
    if (c === '"') return this.string();
    if (c === 't') return this.literal('true', true);
    if (c === 'f') return this.literal('false', false);
    if (c === 'n') return this.literal('null', null);
    return this.number();
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('unexpected token');
    this.pos += word.length;
    return value;
  }

  private number(): number | bigint {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) this.fail('unexpected token');
    this.pos += match[0].length;
    const n = Number(match[0]);
    if (this.options.bigint && match[1] === undefined && match[2] === undefined && !Number.isSafeInteger(n)) {
      return BigInt(match[0]);
    }
    return n;
  }

  /** The end of the string that starts at `pos` (its closing quote), and whether it has escapes. */
  private stringEnd(): { end: number; escaped: boolean } {
    const text = this.text;
    let escaped = false;
    for (let i = this.pos + 1; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22) return { end: i, escaped };
      if (c === 0x5c) {
        escaped = true;
        i++;
      }
    }
    return this.fail('unterminated string');
  }

  private string(): string {
    const { end, escaped } = this.stringEnd();
    const text = escaped ? (JSON.parse(this.text.slice(this.pos, end + 1)) as string) : this.text.slice(this.pos + 1, end);
    this.pos = end + 1;
    return text;
  }

  private object(path: (string | number)[]): Record<string, unknown> {
    const object: Record<string, unknown> = {};
    this.pos++;
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return object;
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail('expected a member name');
      const name = this.string();
      this.ws();
      if (this.text[this.pos] !== ':') this.fail("expected ':'");
      this.pos++;
      const value = this.value([...path, name]);
      // A member named __proto__ is data, as JSON.parse makes it.
      Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
      this.ws();
      const c = this.text[this.pos++];
      if (c === '}') return object;
      if (c !== ',') this.fail("expected ',' or '}'");
    }
  }

  private array(path: (string | number)[]): unknown[] {
    const array: unknown[] = [];
    this.pos++;
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return array;
    }
    for (;;) {
      array.push(this.value([...path, array.length]));
      this.ws();
      const c = this.text[this.pos++];
      if (c === ']') return array;
      if (c !== ',') this.fail("expected ',' or ']'");
    }
  }

  /** Moves past one value without building it (the server's JSON is well-formed). */
  private skip(): void {
    const text = this.text;
    const c = text[this.pos];
    if (c === '"') {
      this.pos = this.stringEnd().end + 1;
      return;
    }
    if (c === '{' || c === '[') {
      let depth = 0;
      for (;;) {
        const ch = text[this.pos];
        if (ch === undefined) this.fail('unterminated value');
        if (ch === '"') {
          this.pos = this.stringEnd().end + 1;
          continue;
        }
        if (ch === '{' || ch === '[') depth++;
        else if (ch === '}' || ch === ']') depth--;
        this.pos++;
        if (depth === 0) return;
      }
    }
    const start = this.pos;
    while (this.pos < text.length && !/[\s,\]}]/.test(text[this.pos])) this.pos++;
    if (this.pos === start) this.fail('unexpected token');
  }
}

/**
 * Parses JSON text. Without options it is JSON.parse; with `bigint` integers beyond ±(2^53 − 1)
 * come back as BigInt (others stay numbers; fractions and exponents are always numbers); with `raw`
 * the values at the paths it picks come back as their exact JSON text.
 */
export function parseJson(text: string, options: ParseOptions = {}): unknown {
  if (!options.bigint && !options.raw) return JSON.parse(text);
  return new Parser(text, options).parse();
}

/**
 * JSON.stringify, plus: a BigInt is written as its digits, a RawJson as its text. `undefined`,
 * functions and symbols are left out of objects and are `null` in arrays, as JSON.stringify does;
 * `toJSON` (a Date's, say) is honoured. Returns undefined for a value JSON has no text for.
 */
export function stringifyJson(value: unknown): string | undefined {
  let v = value;
  if (v instanceof RawJson) return v.text;
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    v = (v as { toJSON(): unknown }).toJSON();
  }
  switch (typeof v) {
    case 'bigint':
      return v.toString();
    case 'string':
    case 'number':
    case 'boolean':
      return JSON.stringify(v);
    case 'object':
      break;
    default:
      return undefined;
  }
  if (v === null) return 'null';
  if (v instanceof RawJson) return v.text;
  if (Array.isArray(v)) return `[${v.map((item) => stringifyJson(item) ?? 'null').join(',')}]`;
  const members: string[] = [];
  for (const [name, member] of Object.entries(v as Record<string, unknown>)) {
    const text = stringifyJson(member);
    if (text !== undefined) members.push(`${JSON.stringify(name)}:${text}`);
  }
  return `{${members.join(',')}}`;
}

/** stringifyJson for a value that must have a JSON text (a value to store): TypeError otherwise. */
export function valueJson(value: unknown): string {
  const text = stringifyJson(value);
  if (text === undefined) throw new TypeError(`a ${typeof value} has no JSON text; store null instead of undefined`);
  return text;
}
