// A Dockerfile read into stages and instructions, for the tests of the image.

export interface Instruction {
  /** Upper case: FROM, RUN, COPY, … */
  keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  args: string;
  line: number;
}

export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Splits the file into stages at each FROM; comments, parser directives and blank lines are dropped. */
export function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i].trim();
    if (first === '' || first.startsWith('#')) continue;
    if (/<<-?\s*["']?\w+/.test(first)) throw new Error(`Dockerfile line ${i + 1}: heredocs are not supported by this reader`);
    const start = i;
    let joined = first;
    // A trailing backslash continues the instruction; comment lines inside it are skipped.
    while (joined.endsWith('\\') && i + 1 < lines.length) {
      joined = joined.slice(0, -1).trimEnd();
      i++;
      const next = lines[i].trim();
      if (next.startsWith('#')) {
        joined += ' \\';
        continue;
      }
      joined += ` ${next}`;
    }
    const match = /^(\S+)\s*(.*)$/s.exec(joined);
    if (!match) continue;
    instructions.push({ keyword: match[1].toUpperCase(), args: match[2].trim(), line: start + 1 });
  }

  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const { rest } = splitFlags(instruction.args);
      const [image, as, name] = rest.split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (instruction.keyword === 'ARG' && stages.length === 0) {
      continue;
    } else {
      if (stages.length === 0) throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} before FROM`);
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return stages;
}

/** The leading `--name=value` flags of an instruction and what follows them. */
export function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let match = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest); match; match = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest)) {
    flags[match[1]] = match[2] ?? 'true';
    rest = rest.slice(match[0].length);
  }
  return { flags, rest };
}

/** The JSON array of an exec-form instruction (CMD ["node", …]), or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((part) => typeof part === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The variables an ENV instruction sets: `ENV A=1 B="two words"` or the legacy `ENV A 1`. */
export function envOf(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const [name, ...value] = args.split(/\s+/);
    env[name] = value.join(' ');
    return env;
  }
  const pair = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)\s*/y;
  let index = 0;
  while (index < args.length) {
    pair.lastIndex = index;
    const match = pair.exec(args);
    if (!match) throw new Error(`cannot read ENV ${args}`);
    const raw = match[2];
    env[match[1]] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw.startsWith("'") ? raw.slice(1, -1) : raw;
    index = pair.lastIndex;
  }
  return env;
}

/** The environment the final stage sets (ENV instructions of that stage, in order). */
export function finalStageEnv(stages: Stage[]): Record<string, string> {
  const final = stages[stages.length - 1];
  return Object.assign({}, ...final.instructions.filter((i) => i.keyword === 'ENV').map((i) => envOf(i.args)));
}
