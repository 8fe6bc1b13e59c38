// The credentials of this tab: sessionStorage only (gone when the tab closes; never localStorage,
// cookies or the URL), and what this origin serves.

const API_KEY = 'kv-console.apiKey';
const ADMIN_TOKEN = 'kv-console.adminToken';

function read(name: string): string | null {
  try {
    return sessionStorage.getItem(name);
  } catch {
    return null;
  }
}

function write(name: string, value: string | null): void {
  try {
    if (value === null) sessionStorage.removeItem(name);
    else sessionStorage.setItem(name, value);
  } catch {
    // Storage refused (a private mode): the credential lives as long as the page.
  }
}

export const session = {
  apiKey: () => read(API_KEY),
  setApiKey: (key: string | null) => write(API_KEY, key),
  adminToken: () => read(ADMIN_TOKEN),
  setAdminToken: (token: string | null) => write(ADMIN_TOKEN, token),
};

/** What this origin serves, found by asking without credentials. */
export interface Surface {
  /** `/kv/*`: 401 without a key (404 on the internal port). */
  data: boolean;
  /** `/admin/*`: 401 without the token (404 on the public port, or when no admin token is configured). */
  admin: boolean;
}

/**
 * Asks `/kv/usage` and `/admin/accounts` without credentials: 404 means not served here, anything
 * else (401, or 429 from the failed-authentication throttle) means served.
 */
export async function probeSurface(): Promise<Surface> {
  const served = async (path: string) => {
    const res = await fetch(path, { credentials: 'omit', cache: 'no-store', headers: { Accept: 'application/json' } });
    await res.body?.cancel();
    return res.status !== 404;
  };
  const [data, admin] = await Promise.all([served('/kv/usage'), served('/admin/accounts')]);
  return { data, admin };
}
