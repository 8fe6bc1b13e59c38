// JSON text reformatted without parsing it, so numbers keep every digit (12345678901234567890 stays so).

/**
 * `text` (valid JSON, compact or not) indented by `indent` spaces per level, or compact when
 * `indent` is 0. Tokens are copied as they are: numbers keep their digits, strings their escapes,
 * objects their key order. Empty objects and arrays stay on one line (`{}`, `[]`).
 */
export function formatJsonText(text: string, indent = 2): string {
  let out = '';
  let depth = 0;
  let i = 0;
  const newline = (level: number) => (indent > 0 ? '\n' + ' '.repeat(level * indent) : '');
  while (i < text.length) {
    const char = text[i];
    if (char === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
      continue;
    }
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r') {
      i++;
      continue;
    }
    if (char === '{' || char === '[') {
      const close = char === '{' ? '}' : ']';
      const next = nextSignificant(text, i + 1);
      if (text[next] === close) {
        out += char + close;
        i = next + 1;
        continue;
      }
      depth++;
      out += char + newline(depth);
    } else if (char === '}' || char === ']') {
      depth--;
      out += newline(depth) + char;
    } else if (char === ',') {
      out += ',' + newline(depth);
    } else if (char === ':') {
      out += indent > 0 ? ': ' : ':';
    } else {
      out += char;
    }
    i++;
  }
  return out;
}

/** The index just past the string literal that starts at `start` (a `"`). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === '\\') i += 2;
    else if (text[i] === '"') return i + 1;
    else i++;
  }
  return text.length;
}

function nextSignificant(text: string, from: number): number {
  let i = from;
  while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  return i;
}
