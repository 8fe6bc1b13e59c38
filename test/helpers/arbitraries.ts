// fast-check inputs for the API: JSON texts with odd numbers and unicode, item keys, and the run budget.

import fc from 'fast-check';

/**
 * Runs of a property: `KV_PROPERTY_RUNS` (default 50) times the property's weight (its cost relative
 * to one PUT and one GET), times 20 under `KV_SOAK=1`. `KV_PROPERTY_SEED` replays a reported seed.
 */
export function propertyRuns(weight = 1): number {
  const configured = Number(process.env.KV_PROPERTY_RUNS);
  const base = Number.isInteger(configured) && configured > 0 ? configured : 50;
  const soak = process.env.KV_SOAK === '1' ? 20 : 1;
  return Math.max(1, Math.ceil(base * weight * soak));
}

/**
 * A property's budget: its runs, the fast-check parameters (the seed from `KV_PROPERTY_SEED` when
 * set, so a failure can be replayed), and the Jest timeout. Runs stop at `timeLimitMs` (about three
 * times what they should take): a failure found by then is still shrunk and reported, and on a
 * machine too slow to finish the property passes with the inputs it did check, as its figures say.
 */
export function propertyBudget(weight: number, msPerRun: number) {
  const runs = propertyRuns(weight);
  const timeLimitMs = 20_000 + runs * msPerRun * 3;
  const seed = Number(process.env.KV_PROPERTY_SEED);
  const parameters = <T>(): fc.Parameters<T> => ({
    numRuns: runs,
    plugins: [fc.interruptAfterTimeLimit(timeLimitMs)],
    ...(Number.isInteger(seed) ? { seed } : {}),
  });
  return { runs, parameters, timeoutMs: timeLimitMs + 30_000 };
}

/** One line of figures per property, so CI logs show how much was generated. */
export function reportFigures(name: string, figures: Record<string, number | string>): void {
  const parts = Object.entries(figures).map(([k, v]) => `${k} ${v}`);
  console.info(`[properties] ${name}: ${parts.join(', ')}`);
}

/** True when `s` has no lone surrogate (it survives a UTF-8 round trip). */
export function isWellFormed(s: string): boolean {
  return Buffer.from(s, 'utf8').toString('utf8') === s;
}

/** A JSON text as sent (`spaced`, with insignificant whitespace) and as it must come back (`compact`). */
export interface JsonText {
  compact: string;
  spaced: string;
  /** Containers nested, 0 for a scalar. */
  depth: number;
}

/** Numbers whose text JSON.parse would change: big, tiny, negative zero, exponents, long fractions. */
export const ODD_NUMBERS = [
  '12345678901234567890',
  '-12345678901234567890',
  '9007199254740993',
  '1e400',
  '-1e400',
  '1e-400',
  '-0',
  '-0.0',
  '0.1e-7',
  '0e0',
  '1E+2',
  '1.0',
  '0.30000000000000004',
  '5e-324',
  '1.7976931348623157e308',
  '2.2250738585072014E-308',
  '123456789012345678901234567890.123456789012345678901234567890e-300',
  `1${'0'.repeat(300)}1`,
];

const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });

/** Any JSON number text (RFC 8259 grammar), biased to the odd ones. */
export const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...ODD_NUMBERS),
  fc
    .tuple(
      fc.constantFrom('', '-'),
      fc.oneof(fc.constant('0'), fc.tuple(fc.constantFrom(...'123456789'), digits(0, 40)).map(([a, b]) => a + b)),
      fc.option(digits(1, 30).map((d) => `.${d}`), { nil: '' }),
      fc.option(
        fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 4)).map((parts) => parts.join('')),
        { nil: '' },
      ),
    )
    .map((parts) => parts.join('')),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.bigInt().map((n) => n.toString()),
);

/** A raw (unescaped) string with astral characters, combining marks, and no lone surrogate. */
const unicodeString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 8 }),
);

/** Escapes as a client may write them; the text must come back as sent, escapes and all. */
const ESCAPES = ['\\n', '\\t', '\\"', '\\\\', '\\/', '\\b', '\\f', '\\r', '\\u00e9', '\\u0000', '\\uD83D\\uDE00', '\\ud800', '\\uFFFF'];

/** A JSON string text: either JSON.stringify of a unicode string, or raw characters mixed with escapes. */
export const stringText: fc.Arbitrary<string> = fc.oneof(
  unicodeString.map((s) => JSON.stringify(s)),
  fc
    .array(fc.oneof(fc.constantFrom(...ESCAPES), unicodeString.map((s) => JSON.stringify(s).slice(1, -1))), { maxLength: 5 })
    .map((parts) => `"${parts.join('')}"`),
);

/** Object keys that name things on Object.prototype, and arbitrary ones. */
const memberName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('"__proto__"', '"constructor"', '"prototype"', '"toString"', '"hasOwnProperty"', '"valueOf"', '"__defineGetter__"', '""', '"value"'),
  stringText,
);

const ws = fc.constantFrom('', '', '', ' ', '\n', '\t', '\r\n', '  ');

const scalar: fc.Arbitrary<JsonText> = fc
  .tuple(fc.oneof(fc.constantFrom('null', 'true', 'false'), numberText, stringText), ws, ws)
  .map(([text, before, after]) => ({ compact: text, spaced: before + text + after, depth: 0 }));

/** A JSON value text of moderate size with up to `maxDepth` containers. */
export function jsonText(maxDepth = 4): fc.Arbitrary<JsonText> {
  const { node } = fc.letrec<{ node: JsonText }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', maxDepth },
      scalar,
      fc.tuple(fc.array(tie('node'), { maxLength: 5 }), ws).map(([children, inside]) => ({
        compact: `[${children.map((c) => c.compact).join(',')}]`,
        spaced: `[${children.length === 0 ? inside : children.map((c) => c.spaced).join(',')}]`,
        depth: 1 + Math.max(0, ...children.map((c) => c.depth)),
      })),
      fc
        .tuple(
          fc.uniqueArray(fc.tuple(memberName, ws, ws, tie('node')), {
            maxLength: 5,
            selector: ([name]) => JSON.parse(name) as string,
          }),
          ws,
        )
        .map(([members, inside]) => ({
          compact: `{${members.map(([name, , , value]) => `${name}:${value.compact}`).join(',')}}`,
          spaced: `{${members.length === 0 ? inside : members.map(([name, a, b, value]) => `${a}${name}${b}:${value.spaced}`).join(',')}}`,
          depth: 1 + Math.max(0, ...members.map(([, , , value]) => value.depth)),
        })),
    ),
  }));
  return node;
}

/** Wraps `inner` in `layers` containers, alternating arrays and `{"__proto__": …}` objects as `kinds` says. */
export function wrapDeeper(inner: JsonText, layers: number, kinds: boolean[]): JsonText {
  let { compact, spaced } = inner;
  for (let i = 0; i < layers; i++) {
    if (kinds[i % kinds.length]) {
      compact = `[${compact}]`;
      spaced = `[ ${spaced}]`;
    } else {
      compact = `{"__proto__":${compact}}`;
      spaced = `{"__proto__" :${spaced}}`;
    }
  }
  return { compact, spaced, depth: inner.depth + layers };
}

/**
 * A JSON value text nested up to `maxDepth` containers: a random value, often wrapped in enough
 * extra containers to reach the limit exactly.
 */
export function deepJsonText(maxDepth: number): fc.Arbitrary<JsonText> {
  return fc
    .tuple(
      jsonText(4),
      fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(maxDepth) }, { weight: 1, arbitrary: fc.nat(maxDepth) }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    )
    .map(([inner, wanted, kinds]) => wrapDeeper(inner, Math.max(0, Math.min(wanted, maxDepth) - inner.depth), kinds));
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/** One piece of a key: URL-special characters, ASCII, BMP and astral characters. */
const keyPiece: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('/', ':', '%', '..', '.', '#', '?', ' ', '+', '&', '=', '~', '\\', '"', "'", '<', '>', '{', '}', '|', '^', '`', '[', ']', '@', '!', '$', ';', ',', '*', '(', ')', '%25', '%2F', '%zz', '//'),
  fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x80, max: 0xd7ff }).map((c) => String.fromCodePoint(c)),
  fc.integer({ min: 0xe000, max: 0xffff }).map((c) => String.fromCodePoint(c)),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
);

/**
 * A valid key: 1…`maxKeyBytes` bytes of UTF-8, no control characters; sometimes padded to exactly
 * `maxKeyBytes` bytes.
 */
export function itemKey(maxKeyBytes: number): fc.Arbitrary<string> {
  return fc
    .tuple(fc.array(keyPiece, { minLength: 1, maxLength: 40 }), fc.boolean())
    .map(([pieces, pad]) => {
      let key = '';
      for (const piece of pieces) {
        if (Buffer.byteLength(key + piece) > maxKeyBytes) break;
        key += piece;
      }
      if (key === '') key = 'k';
      return pad ? key + 'x'.repeat(maxKeyBytes - Buffer.byteLength(key)) : key;
    })
    .filter((key) => !CONTROL.test(key) && isWellFormed(key));
}

/**
 * The key as a path after `/kv/items/`: each `/`-separated segment percent-encoded, and the
 * dot-segments `.` and `..` written as `%2E` so no client or proxy folds them away.
 */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((segment) => (segment === '.' || segment === '..' ? segment.replace(/\./g, '%2E') : encodeURIComponent(segment)))
    .join('/');
}

/** Compares as the API orders keys: by the bytes of their UTF-8. */
export function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
