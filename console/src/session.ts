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

/** What this origin serves. */
export interface Surface {
  /** `/kv/*`: the data API (not on the internal port). */
  data: boolean;
  /** `/admin/*`: the admin API (not on the public port, nor without an admin token). */
  admin: boolean;
}

/**
 * What this origin serves. The service says so in the page (`<meta name="kv-serves">`), which
 * costs nothing; a page served some other way asks `/kv/usage` and `/admin/accounts` without
 * credentials instead (404: not served; 401, or 429 from the failed-authentication throttle:
 * served), at the price of two failed authentications.
 */
export async function findSurface(): Promise<Surface> {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="kv-serves"]');
  if (meta?.content) {
    const words = meta.content.split(/\s+/);
    return { data: words.includes('data'), admin: words.includes('admin') };
  }
  const served = async (path: string) => {
    const res = await fetch(path, { credentials: 'omit', cache: 'no-store', headers: { Accept: 'application/json' } });
    await res.body?.cancel();
    return res.status !== 404;
  };
  const [data, admin] = await Promise.all([served('/kv/usage'), served('/admin/accounts')]);
  return { data, admin };
}
