// The per-account limits: their names, the configured defaults, an admin's overrides, and how they combine.

/** The limits an account is held to; the configuration sets the defaults, an admin may override each per account. */
export interface Limits {
  /** Live keys the account may hold. */
  maxKeys: number;
  /** Reads per one-second window. */
  readsPerSecond: number;
  /** Writes per one-second window. */
  writesPerSecond: number;
}

/** The limits an admin has set for one account; any other comes from the configuration. */
export type LimitOverrides = Partial<Limits>;

/** A change to an account's overrides: a number sets one, `null` clears it (the default applies again). */
export type LimitsPatch = { [K in keyof Limits]?: number | null };

// Written as an object so the compiler checks that every limit is named here, and nothing else.
const NAMED: Record<keyof Limits, true> = { maxKeys: true, readsPerSecond: true, writesPerSecond: true };

/** Every limit's name: what stores iterate to write, read and clear overrides. */
export const LIMIT_NAMES = Object.keys(NAMED) as readonly (keyof Limits)[];

/** The limits that apply to an account: its overrides over the configured defaults. */
export function effectiveLimits(defaults: Limits, overrides: LimitOverrides): Limits {
  return { ...defaults, ...overrides };
}
