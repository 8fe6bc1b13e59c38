// applyMergePatch follows RFC 7396 on JSON text: the RFC's examples, exact number and string text, order, and a reference model.

import fc from 'fast-check';
import { applyMergePatch } from '../../src/merge-patch';

/** RFC 7396 Appendix A: target, patch, result. */
const RFC_EXAMPLES: [string, string, string][] = [
  ['{"a":"b"}', '{"a":"c"}', '{"a":"c"}'],
  ['{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'],
  ['{"a":"b"}', '{"a":null}', '{}'],
  ['{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'],
  ['{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'],
  ['{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'],
  ['{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'],
  ['{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'],
  ['["a","b"]', '["c","d"]', '["c","d"]'],
  ['{"a":"b"}', '["c"]', '["c"]'],
  ['{"a":"foo"}', 'null', 'null'],
  ['{"a":"foo"}', '"bar"', '"bar"'],
  ['{"e":null}', '{"a":1}', '{"e":null,"a":1}'],
  ['[1,2]', '{"a":"b","c":null}', '{"a":"b"}'],
  ['{}', '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}'],
];

/** RFC 7396 section 2 on parsed values; `__proto__` is set as an own property. */
function referenceMergePatch(target: unknown, patch: unknown): unknown {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(patch)) return patch;
  const result: Record<string, unknown> = {};
  if (isObject(target)) for (const name of Object.keys(target)) define(result, name, target[name]);
  for (const name of Object.keys(patch)) {
    const value = patch[name];
    if (value === null) delete result[name];
    else define(result, name, referenceMergePatch(Object.prototype.hasOwnProperty.call(result, name) ? result[name] : undefined, value));
  }
  return result;
}

function define(object: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
}

describe('applyMergePatch', () => {
  it.each(RFC_EXAMPLES)('merges %s with %s into %s (RFC 7396 Appendix A)', (target, patch, result) => {
    expect(applyMergePatch(target, patch)).toBe(result);
  });

  it('removes a member when the patch sets it to null', () => {
    expect(applyMergePatch('{"a":1,"b":{"c":2}}', '{"b":null}')).toBe('{"a":1}');
  });

  it('removes nulls of a patch object applied to an absent or non-object member', () => {
    expect(applyMergePatch('{"a":1}', '{"a":{"b":null,"c":{"d":null}},"e":{"f":null}}')).toBe('{"a":{"c":{}},"e":{}}');
  });

  it('keeps nulls inside arrays of the patch', () => {
    expect(applyMergePatch('{}', '{"a":[null,{"b":null}]}')).toBe('{"a":[null,{"b":null}]}');
  });

  it('merges nested objects recursively and leaves untouched siblings as they are', () => {
    expect(applyMergePatch('{"a":{"b":{"c":1,"d":2},"e":[1,{"f":3}]},"g":true}', '{"a":{"b":{"d":5,"x":{"y":1}}}}')).toBe(
      '{"a":{"b":{"c":1,"d":5,"x":{"y":1}},"e":[1,{"f":3}]},"g":true}',
    );
  });

  describe('numbers', () => {
    const NUMBERS = ['12345678901234567890', '-0.000000000000000000001', '1E+2', '1.50', '1e400', '-0', '0.10'];

    it.each(NUMBERS)('keeps %s as written in the target', (n) => {
      expect(applyMergePatch(`{"a":${n},"b":[${n},{"c":${n}}],"d":{"e":${n}}}`, '{"d":{"f":1}}')).toBe(
        `{"a":${n},"b":[${n},{"c":${n}}],"d":{"e":${n},"f":1}}`,
      );
    });

    it.each(NUMBERS)('keeps %s as written in the patch', (n) => {
      expect(applyMergePatch('{"a":1,"d":{"e":2}}', `{"a":${n},"b":[${n}],"d":{"e":${n}},"x":{"y":${n}}}`)).toBe(
        `{"a":${n},"d":{"e":${n}},"b":[${n}],"x":{"y":${n}}}`,
      );
    });

    it('returns a number patch as written', () => {
      expect(applyMergePatch('{"a":1}', ' 12345678901234567890 ')).toBe('12345678901234567890');
    });
  });

  describe('__proto__', () => {
    it('keeps __proto__ in the target as an ordinary member', () => {
      expect(applyMergePatch('{"__proto__":{"polluted":1},"a":1}', '{"a":2}')).toBe('{"__proto__":{"polluted":1},"a":2}');
    });

    it('adds, merges and removes __proto__ from the patch like any other name', () => {
      expect(applyMergePatch('{"a":1}', '{"__proto__":{"x":1}}')).toBe('{"a":1,"__proto__":{"x":1}}');
      expect(applyMergePatch('{"__proto__":{"x":1}}', '{"__proto__":{"y":2}}')).toBe('{"__proto__":{"x":1,"y":2}}');
      expect(applyMergePatch('{"__proto__":{"x":1},"a":1}', '{"__proto__":null}')).toBe('{"a":1}');
      expect(({} as Record<string, unknown>).x).toBeUndefined();
    });
  });

  describe('member order', () => {
    it('keeps the target order when members are replaced or merged', () => {
      expect(applyMergePatch('{"c":1,"a":{"z":1,"y":2},"b":3}', '{"b":4,"a":{"y":5},"c":6}')).toBe('{"c":6,"a":{"z":1,"y":5},"b":4}');
    });

    it('appends new members in patch order', () => {
      expect(applyMergePatch('{"m":1}', '{"z":1,"b":2,"2":3,"a":4}')).toBe('{"m":1,"z":1,"b":2,"2":3,"a":4}');
    });

    it('keeps integer-like names where they are instead of moving them first', () => {
      expect(applyMergePatch('{"b":1,"10":2,"a":3}', '{"1":4}')).toBe('{"b":1,"10":2,"a":3,"1":4}');
    });

    it('appends a member that was removed and added back in a later patch', () => {
      const removed = applyMergePatch('{"a":1,"b":2}', '{"a":null}');
      expect(applyMergePatch(removed, '{"a":3}')).toBe('{"b":2,"a":3}');
    });
  });

  describe('duplicate names', () => {
    it('takes the last value of a repeated name in the target, at its first position', () => {
      expect(applyMergePatch('{"a":1,"b":2,"a":{"c":3}}', '{"a":{"d":4}}')).toBe('{"a":{"c":3,"d":4},"b":2}');
      expect(JSON.parse('{"a":1,"b":2,"a":3}')).toEqual({ a: 3, b: 2 });
    });

    it('takes the last value of a repeated name in the patch', () => {
      expect(applyMergePatch('{"a":{"x":1}}', '{"a":{"y":2},"a":null}')).toBe('{}');
      expect(applyMergePatch('{"a":{"x":1}}', '{"a":null,"a":{"y":2}}')).toBe('{"a":{"x":1,"y":2}}');
    });

    it('copies repeats of names the patch does not touch, which JSON.parse reads the same way', () => {
      const result = applyMergePatch('{"a":1,"b":2,"a":3,"c":{"d":1,"d":2}}', '{"b":4}');
      expect(result).toBe('{"a":1,"b":4,"a":3,"c":{"d":1,"d":2}}');
      expect(JSON.parse(result)).toEqual({ a: 3, b: 4, c: { d: 2 } });
    });

    it('treats names that differ only in escapes as the same name', () => {
      expect(applyMergePatch('{"a":1,"b":2}', '{"\\u0061":null,"\\u0062":3}')).toBe('{"b":3}');
    });
  });

  describe('text', () => {
    it('compacts whitespace in the patch', () => {
      expect(applyMergePatch('{"a":{"b":1}}', ' \n{ "a" : { "c" : [ 1 , { "d" : " x y " } ] } ,\t"e" : [ ] , "f" : { } }\r\n ')).toBe(
        '{"a":{"b":1,"c":[1,{"d":" x y "}]},"e":[],"f":{}}',
      );
      expect(applyMergePatch('{}', ' [ 1 , "a b" , { "c" : null } ] ')).toBe('[1,"a b",{"c":null}]');
    });

    it('round-trips strings with escapes as written', () => {
      const s = '"a\\"b\\\\u00e9\\u00e9\\n\\/😀"';
      const result = applyMergePatch(`{${s}:${s}}`, `{"x":${s},${s.replace('a', 'k')}:{${s}:[${s}]}}`);
      expect(result).toBe(`{${s}:${s},"x":${s},${s.replace('a', 'k')}:{${s}:[${s}]}}`);
      expect(JSON.parse(result)).toEqual({ 'a"b\\u00e9é\n/😀': 'a"b\\u00e9é\n/😀', x: 'a"b\\u00e9é\n/😀', 'k"b\\u00e9é\n/😀': { 'a"b\\u00e9é\n/😀': ['a"b\\u00e9é\n/😀'] } });
    });

    it('compacts whitespace in the target', () => {
      expect(applyMergePatch(' { "a" : [ 1 , 2 ] ,\n "b" : { "c" : " x " } , "d" : 1 } ', '{"b":{"e":2}}')).toBe('{"a":[1,2],"b":{"c":" x ","e":2},"d":1}');
    });

    it('treats a target that is not an object as {}', () => {
      expect(applyMergePatch('"text"', '{"a":1}')).toBe('{"a":1}');
      expect(applyMergePatch('null', '{"a":{"b":null}}')).toBe('{"a":{}}');
    });

    it('throws on invalid JSON', () => {
      for (const bad of ['', '{', '{"a":1,}', '{"a" 1}', '[1 2]', '01', '{"a":1} x', '"\\x"', 'tru']) {
        expect(() => applyMergePatch('{}', bad)).toThrow(Error);
        expect(() => applyMergePatch(bad, '{"a":1}')).toThrow(Error);
      }
    });
  });

  describe('size and depth', () => {
    // Its speed is the bench's "merge patch" workload, not a wall-clock bound here (one failed a
    // full run at 59 ms against 50 on a busy machine).
    it('merges a small patch into a 1 MiB target, keeping every other member as written', () => {
      const members: string[] = [];
      for (let i = 0, length = 0; length < 1 << 20; i++) {
        members.push(`"k${i}":{"n":${i}.50,"s":"v${i}","l":[1,2,{"x":null}]}`);
        length += members[i].length + 1;
      }
      const target = `{${members.join(',')}}`;
      const patch = '{"k5":{"n":1,"s":null},"new":12345678901234567890}';
      const expected = `${target.slice(0, -1).replace('"k5":{"n":5.50,"s":"v5",', '"k5":{"n":1,')},"new":12345678901234567890}`;
      expect(applyMergePatch(target, patch)).toBe(expected);
    });

    it('merges along a 65-level path and copies a 100,000-level array it does not enter', () => {
      const deepArray = '['.repeat(100_000) + ']'.repeat(100_000);
      const target = '{"a":'.repeat(65) + '1' + '}'.repeat(65);
      const patch = '{"a":'.repeat(64) + '{"a":null,"b":' + deepArray + '}' + '}'.repeat(64);
      const expected = '{"a":'.repeat(64) + '{"b":' + deepArray + '}' + '}'.repeat(64);
      expect(applyMergePatch(target, patch)).toBe(expected);
      expect(applyMergePatch(`{"x":${deepArray},"a":{"a":2}}`, '{"a":{"b":3}}')).toBe(`{"x":${deepArray},"a":{"a":2,"b":3}}`);
    });
  });

  describe('against a reference built on JSON.parse', () => {
    const check = (target: unknown, patch: unknown, indent: number) => {
      const targetText = JSON.stringify(target);
      const patchText = JSON.stringify(patch, null, indent);
      const result = applyMergePatch(targetText, patchText);
      expect(result).not.toMatch(/^\s|\s$/);
      expect(JSON.parse(result)).toEqual(JSON.parse(JSON.stringify(referenceMergePatch(JSON.parse(targetText), JSON.parse(patchText)))));
    };
    // Numbers that JSON.parse keeps exactly, so that both sides mean the same documents.
    const safe = (v: unknown): boolean =>
      typeof v === 'number' ? Number.isSafeInteger(v) || (Number.isFinite(v) && !Object.is(v, -0)) : typeof v !== 'object' || v === null || Object.values(v).every(safe);

    it('agrees on random JSON documents', () => {
      fc.assert(
        fc.property(fc.jsonValue().filter(safe), fc.jsonValue().filter(safe), fc.constantFrom(0, 1, 2), (target, patch, indent) => check(target, patch, indent)),
        { numRuns: 500 },
      );
    });

    it('agrees on random documents that share member names', () => {
      const { value } = fc.letrec((tie) => ({
        value: fc.oneof(
          { depthSize: 'small', withCrossShrink: true },
          fc.constantFrom(null, true, 0, -1.5, 'x', '__proto__'),
          fc.array(tie('value'), { maxLength: 3 }),
          fc.dictionary(fc.constantFrom('a', 'b', 'c', '1', '__proto__'), tie('value'), { maxKeys: 4 }),
        ),
      }));
      fc.assert(
        fc.property(value, value, fc.constantFrom(0, 2), (target, patch, indent) => check(target, patch, indent)),
        { numRuns: 500 },
      );
    });
  });
});
