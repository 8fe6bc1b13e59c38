// An nginx configuration read into its tree of directives, for the tests of the load balancer.

export interface Directive {
  name: string;
  /** Arguments with quotes removed: `""` is the empty string. */
  args: string[];
  /** The directives of its `{ … }` block, if it has one. */
  block?: Directive[];
  line: number;
}

type Token = { text: string; quoted: boolean; line: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') line++;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '{' || c === '}' || c === ';') {
      tokens.push({ text: c, quoted: false, line });
      i++;
    } else if (c === '"' || c === "'") {
      let value = '';
      const start = line;
      for (i++; i < text.length && text[i] !== c; i++) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        if (text[i] === '\n') line++;
        value += text[i];
      }
      if (i >= text.length) throw new Error(`nginx.conf line ${start}: unterminated string`);
      i++;
      tokens.push({ text: value, quoted: true, line: start });
    } else {
      let value = '';
      while (i < text.length && !/[\s;{}]/.test(text[i])) value += text[i++];
      tokens.push({ text: value, quoted: false, line });
    }
  }
  return tokens;
}

/** Parses the whole file; throws on an unbalanced brace or a directive without its `;`. */
export function parseNginxConf(text: string): Directive[] {
  const tokens = tokenize(text);
  let position = 0;
  const parseBlock = (nested: boolean): Directive[] => {
    const directives: Directive[] = [];
    while (position < tokens.length) {
      const first = tokens[position];
      if (first.text === '}' && !first.quoted) {
        if (!nested) throw new Error(`nginx.conf line ${first.line}: unexpected }`);
        position++;
        return directives;
      }
      const directive: Directive = { name: first.text, args: [], line: first.line };
      position++;
      for (;;) {
        const token = tokens[position++];
        if (!token) throw new Error(`nginx.conf line ${first.line}: ${first.text} is not terminated`);
        if (!token.quoted && token.text === ';') break;
        if (!token.quoted && token.text === '{') {
          directive.block = parseBlock(true);
          break;
        }
        if (!token.quoted && token.text === '}') throw new Error(`nginx.conf line ${token.line}: missing ;`);
        directive.args.push(token.text);
      }
      directives.push(directive);
    }
    if (nested) throw new Error('nginx.conf: missing }');
    return directives;
  };
  return parseBlock(false);
}

/** Every directive with that name, at any depth. */
export function findAll(directives: Directive[], name: string): Directive[] {
  return directives.flatMap((d) => [...(d.name === name ? [d] : []), ...findAll(d.block ?? [], name)]);
}

/** The one directive with that name among `directives` (not nested); throws if there are none or several. */
export function only(directives: Directive[], name: string): Directive {
  const found = directives.filter((d) => d.name === name);
  if (found.length !== 1) throw new Error(`expected one ${name}, found ${found.length}`);
  return found[0];
}

/** nginx sizes (`3m`, `512k`, `1g`, bytes) in bytes. */
export function sizeBytes(text: string): number {
  const match = /^(\d+)([kKmMgG]?)$/.exec(text);
  if (!match) throw new Error(`not an nginx size: ${text}`);
  const factor = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(match[1]) * factor;
}

/** nginx times (`4s`, `1m`, `500ms`, a bare number is seconds) in seconds. */
export function timeSeconds(text: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d)?/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new Error(`not an nginx time: ${text}`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit ?? 's'], 0);
}

/** An argument as nginx reads it back: quoted when it is empty or holds a space, quote, `;`, `{`, `}` or `#`. */
function quote(text: string): string {
  return text === '' || /[\s"';{}#\\]/.test(text) ? `"${text.replace(/["\\]/g, '\\$&')}"` : text;
}

/** Writes a directive tree back as an nginx configuration (comments are not kept). */
export function serializeNginxConf(directives: Directive[], indent = ''): string {
  return directives
    .map((d) => {
      const head = [d.name, ...d.args].map(quote).join(' ');
      return d.block ? `${indent}${head} {\n${serializeNginxConf(d.block, `${indent}  `)}${indent}}\n` : `${indent}${head};\n`;
    })
    .join('');
}
