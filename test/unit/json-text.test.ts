// The JSON scanner agrees with JSON.parse on what is JSON, keeps value text, and bounds depth.

import { randomInt } from 'node:crypto';
import fc from 'fast-check';
import { compactJson, scanJson } from '../../src/http/json-text';

const VALID = [
  '0', '-0', '1.5e-7', '12345678901234567890', '1E+2', 'true', 'false', 'null', '""', '"a\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9"',
  '[]', '{}', '[1,[2,[3]]]', '{"a":{"b":[1,{"c":null}]}}', ' \n\t{ "a" : 1 , "b" : [ 1 , 2 ] } \r\n', '"😀"', '{"__proto__":1}',
];
const INVALID = [
  '', ' ', '01', '-', '1.', '.5', '1e', '+1', 'tru', 'nul', 'True', '"abc', '"\\x"', '"\\u12G4"', '"a\u0001b"', '[1,]',
  '{"a":1,}', '{a:1}', "{'a':1}", '[1 2]', '{"a" 1}', '1 2', '[', ']', '{"a":1}}', 'NaN', 'Infinity', '[1]x',
];

describe('scanJson', () => {
  it.each(VALID)('accepts %j like JSON.parse does', (text) => {
    expect(() => JSON.parse(text)).not.toThrow();
    expect(scanJson(text, 64).ok).toBe(true);
  });

  it.each(INVALID)('refuses %j like JSON.parse does', (text) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(scanJson(text, 64)).toMatchObject({ ok: false, reason: 'syntax' });
  });

  it('finds a quote, a backslash or a control character after a long run of plain characters', () => {
    const run = 'y'.repeat(70_000);
    expect(scanJson(`"${run}"`, 64).ok).toBe(true);
    expect(scanJson(`"${run}\\n${run}"`, 64).ok).toBe(true);
    expect(scanJson(`"${run}\u0001"`, 64)).toMatchObject({ ok: false, reason: 'syntax' });
    expect(scanJson(`"${run}\\x"`, 64)).toMatchObject({ ok: false, reason: 'syntax' });
    expect(scanJson(`"${run}`, 64)).toMatchObject({ ok: false, reason: 'syntax' });
  });

  it('agrees with JSON.parse on random mutations of valid JSON', () => {
    const alphabet = '{}[]",:0123456789-+.eEtrufalsn \\u';
    for (let round = 0; round < 5000; round++) {
      const base = VALID[randomInt(VALID.length)];
      const chars = [...base];
      const edits = 1 + randomInt(3);
      for (let e = 0; e < edits; e++) {
        const at = randomInt(chars.length + 1);
        const op = randomInt(3);
        const c = alphabet[randomInt(alphabet.length)];
        if (op === 0) chars.splice(at, 0, c);
        else if (op === 1) chars.splice(at, 1);
        else chars[at] = c;
      }
      const text = chars.join('');
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      const scan = scanJson(text, 64);
      if (scan.ok !== parses) throw new Error(`disagrees on ${JSON.stringify(text)}: JSON.parse ${parses}, scanJson ${scan.ok}`);
    }
  });

  it('reports the offsets of top-level members, the last of duplicates winning like JSON.parse', () => {
    const text = '{"value": {"n": 1} , "ttlSeconds":60,"value":[1, 2]}';
    const scan = scanJson(text, 64);
    expect(scan.ok).toBe(true);
    if (!scan.ok) return;
    const members = scan.members!;
    expect([...members.keys()]).toEqual(['value', 'ttlSeconds']);
    const [start, end] = members.get('value')!;
    expect(text.slice(start, end)).toBe('[1, 2]');
    expect(text.slice(...members.get('ttlSeconds')!)).toBe('60');
  });

  it('reports no members for a body that is not an object, and the spans of an array\'s elements', () => {
    const text = '[{"value":1}, 12345678901234567890 ,"x"]';
    const scan = scanJson(text, 64);
    expect(scan).toEqual({ ok: true, members: null, elements: [[1, 12], [14, 34], [36, 39]] });
    if (!scan.ok) throw new Error('not ok');
    expect(scan.elements!.map(([start, end]) => text.slice(start, end))).toStrictEqual(['{"value":1}', '12345678901234567890', '"x"']);
  });

  it('reports no elements for an object', () => {
    expect(scanJson('{"a":[1,2]}', 64)).toEqual({ ok: true, members: new Map([['a', [5, 10]]]), elements: null });
  });

  it('accepts exactly the depth limit and stops at the first level beyond it', () => {
    expect(scanJson('['.repeat(64) + ']'.repeat(64), 64).ok).toBe(true);
    expect(scanJson('['.repeat(65) + ']'.repeat(65), 64)).toEqual({ ok: false, reason: 'depth', offset: 64 });
  });

  it('rejects a 200,000-level body without recursing', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    expect(scanJson(deep, 65)).toEqual({ ok: false, reason: 'depth', offset: 65 });
  });
});

describe('compactJson', () => {
  it('removes whitespace outside strings and keeps everything else exactly', () => {
    const text = '{ "a" : [ 1 , 2.50 , "x y\\" z" ] ,\n\t"b" : 12345678901234567890 }';
    expect(compactJson(text, 0, text.length)).toBe('{"a":[1,2.50,"x y\\" z"],"b":12345678901234567890}');
  });

  it('returns compact text as it is', () => {
    const text = '{"a":"  spaced  ","b":[1,2]}';
    expect(compactJson(text, 0, text.length)).toBe(text);
  });

  it('gives JSON.stringify\'s text back from any indentation of any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 1, 2, '\t', ' \r\n'), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        expect(compactJson(text, 0, text.length)).toBe(JSON.stringify(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps long strings, escapes at their ends and whitespace inside them', () => {
    const long = 'x'.repeat(100_000);
    const value = { a: `${long}\\`, b: `"${long}`, c: ' " \n ' };
    const text = `{ "a" : ${JSON.stringify(value.a)} ,\n "b" : ${JSON.stringify(value.b)} , "c" : ${JSON.stringify(value.c)} }`;
    expect(compactJson(text, 0, text.length)).toBe(JSON.stringify(value));
    expect(scanJson(text, 64).ok).toBe(true);
  });

  it('compacts only the span asked for', () => {
    const text = '{"value": [ 1, 2 ] }';
    expect(compactJson(text, 10, 18)).toBe('[1,2]');
  });
});
