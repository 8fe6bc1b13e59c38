// JSON as text: checked and re-indented without ever parsing numbers into JS numbers, so
// 12345678901234567890 keeps its digits.

/** null when `text` is one JSON value; else what is wrong with it. */
export function jsonProblem(text: string): string | null {
  if (text.trim() === '') return 'The value is empty: write a JSON value, e.g. "text", 42, {"a": 1} or null.';
  try {
    // Only to check the syntax: the value sent is `text` itself, never this parse.
    JSON.parse(text);
    return null;
  } catch (error) {
    return `The value is not valid JSON: ${(error as Error).message}`;
  }
}

/** Re-indents valid JSON text by two spaces; strings and numbers are copied as written. */
export function formatJson(text: string): string {
  let out = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  const newline = () => `\n${'  '.repeat(depth)}`;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    switch (c) {
      case '"':
        inString = true;
        out += c;
        break;
      case '{':
      case '[': {
        let j = i + 1;
        while (j < text.length && /\s/.test(text[j])) j++;
        if (text[j] === (c === '{' ? '}' : ']')) {
          out += c + text[j];
          i = j;
        } else {
          depth++;
          out += c + newline();
        }
        break;
      }
      case '}':
      case ']':
        depth--;
        out += newline() + c;
        break;
      case ',':
        out += `,${newline()}`;
        break;
      case ':':
        out += ': ';
        break;
      case ' ':
      case '\t':
      case '\n':
      case '\r':
        break;
      default:
        out += c;
    }
  }
  return out;
}
