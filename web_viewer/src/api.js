// JSON calls of the staff pages: the answer, or an error that carries the server's reason (detail) and code.

export class ApiError extends Error {
  constructor(status, detail, code = null, body = null) {
    super(detail);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

async function explain(response) {
  let body = null;
  try { body = await response.json(); } catch { /* not JSON: the status says it */ }
  const detail = typeof body?.detail === 'string' ? body.detail
    : Array.isArray(body?.detail) ? body.detail.map((d) => `${(d.loc ?? []).slice(1).join('.')}: ${d.msg}`).join('; ')
      : `HTTP ${response.status}`;
  return new ApiError(response.status, detail, body?.error ?? null, body);
}

export async function getJson(url) {
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw await explain(response);
  return response.json();
}

// POST a JSON body (undefined: none) or FormData.
export async function postJson(url, body = undefined) {
  const init = { method: 'POST' };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers = { 'Content-Type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  if (!response.ok) throw await explain(response);
  return response.json();
}
