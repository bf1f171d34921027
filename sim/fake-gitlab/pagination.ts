/**
 * GitLab's offset pagination headers (lib/api/helpers/pagination.rb, OffsetHeaderBuilder): `Link` with
 * absolute URLs that repeat every request parameter with keys sorted (Rails `to_query`), plus the `X-*`
 * headers. Endpoints paginated "without count" (project jobs) send neither totals nor `rel="last"`.
 */
export interface PageRequest {
  page: number;
  perPage: number;
}

/** `page` ≥ 1; `per_page` defaults to 20 and is clamped to 1..100, as GitLab does. */
export function pageRequest(params: URLSearchParams): PageRequest {
  const rawPage = Number(params.get('page') ?? '1');
  const rawPer = Number(params.get('per_page') ?? '20');
  const page = Number.isInteger(rawPage) && rawPage >= 1 ? rawPage : 1;
  const perPage = Number.isInteger(rawPer) && rawPer >= 1 ? Math.min(rawPer, 100) : 20;
  return { page, perPage };
}

/** The query of a page link: every original parameter, with `page`/`per_page` replaced, keys sorted. */
export function pageQuery(params: URLSearchParams, page: number, perPage: number): string {
  const pairs: [string, string][] = [];
  for (const [k, v] of params) if (k !== 'page' && k !== 'per_page') pairs.push([k, v]);
  pairs.push(['page', String(page)], ['per_page', String(perPage)]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

export interface PagedResult<T> {
  items: T[];
  headers: Record<string, string>;
}

/**
 * Cuts one page out of `all` and builds the headers. `baseUrl` is the absolute URL of the endpoint
 * (`http://127.0.0.1:PORT/api/v4/projects/1/pipelines`).
 */
export function paginate<T>(all: T[], params: URLSearchParams, baseUrl: string, withTotals: boolean): PagedResult<T> {
  const { page, perPage } = pageRequest(params);
  const start = (page - 1) * perPage;
  const items = all.slice(start, start + perPage);
  const hasNext = start + perPage < all.length;
  const totalPages = Math.max(1, Math.ceil(all.length / perPage));
  const link = (p: number) => `${baseUrl}?${pageQuery(params, p, perPage)}`;
  const links: string[] = [];
  if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
  if (hasNext) links.push(`<${link(page + 1)}>; rel="next"`);
  links.push(`<${link(1)}>; rel="first"`);
  if (withTotals) links.push(`<${link(totalPages)}>; rel="last"`);
  const headers: Record<string, string> = {
    Link: links.join(', '),
    'X-Page': String(page),
    'X-Per-Page': String(perPage),
    'X-Next-Page': hasNext ? String(page + 1) : '',
    'X-Prev-Page': page > 1 ? String(page - 1) : '',
  };
  if (withTotals) {
    headers['X-Total'] = String(all.length);
    headers['X-Total-Pages'] = String(totalPages);
  }
  return { items, headers };
}
