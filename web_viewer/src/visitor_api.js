// The public API calls of the visitor page: destinations, kiosks, routes, queues and the emergency signal. Each
// answers {ok, status, body, retryAfter}: the page shows every refusal with its reason instead of throwing.
const TIMEOUT_MS = 10_000;

// ``timeoutMs`` null: wait as long as the server takes (the building model's first conversion takes a while).
export async function getJson(url, timeoutMs = TIMEOUT_MS) {
  const controller = new AbortController();
  const timer = timeoutMs ? setTimeout(() => controller.abort(), timeoutMs) : null;
  try {
    const response = await fetch(url, { cache: 'no-store', signal: controller.signal });
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    const retryAfter = Number(response.headers.get('retry-after')) || null;
    return { ok: response.ok, status: response.status, body, retryAfter };
  } catch (error) {
    return { ok: false, status: 0, body: { detail: String(error.message ?? error) }, retryAfter: 3 };
  } finally {
    clearTimeout(timer);
  }
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') search.set(key, String(value));
  }
  return search.toString();
}

// Retried while the navigation graph is being built (503 with Retry-After), up to ``attempts`` times.
async function patient(url, attempts = 20) {
  for (let i = 0; ; i += 1) {
    const answer = await getJson(url);
    if (answer.status !== 503 || i + 1 >= attempts) return answer;
    await new Promise((resolve) => { setTimeout(resolve, Math.min(answer.retryAfter ?? 3, 5) * 1000); });
  }
}

export const api = {
  destinations: (q, { limit = 20, kind = null, near = null } = {}) => patient(
    `/api/destinations?${query({ q, limit, kind, near })}`),
  kiosks: () => patient('/api/kiosks'),
  route: (from, to, mode, lang) => patient(`/api/route?${query({ from, to, mode, lang })}`),
  queues: () => getJson('/api/queues'),
  emergency: () => getJson('/api/emergency'),
};

// The reason of a refusal, for the visitor (FastAPI's detail may be a list of validation issues).
export function reasonOf(answer) {
  const detail = answer?.body?.detail;
  if (Array.isArray(detail)) return detail.map((issue) => issue.msg ?? String(issue)).join('; ');
  return detail ? String(detail) : `HTTP ${answer?.status ?? '?'}`;
}
