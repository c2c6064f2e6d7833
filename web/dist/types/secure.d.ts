/**
 * checkBase refuses an API base URL that is not http: or https:, and,
 * from an https: page, one that is not https: (tokens would cross the
 * network in clear, and browsers block such mixed content anyway).
 */
export declare function checkBase(base: string, page?: string): URL;
