// Types taken from the generated description of the server's API
// (schema.gen.ts, made from openapi.json by scripts/gen-api.mjs). Everything
// the front-end reads or sends is named here from a path, so a server change
// that alters a shape fails `tsc`.
import type { paths } from "./schema.gen";

export type { paths };

type Ok<R> = R extends { 200: infer A } ? A : R extends { 201: infer B } ? B : R extends { 202: infer C } ? C : never;
type Json<C> = C extends { content: { "application/json": infer J } } ? J : never;

/** The JSON body of the success response of `M path`. */
export type ResponseOf<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: infer R }
  ? Json<Ok<R>>
  : never;

/** The JSON request body of `M path`. */
export type BodyOf<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  requestBody?: { content: { "application/json": infer B } };
}
  ? B
  : never;

/** An RFC 9457 problem, as every 4xx/5xx of the server is. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  request_id?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = "ApiError";
  }
}

/** Turns a failed response into an ApiError (problem+json when the server sent one). */
export async function errorOf(res: Response): Promise<ApiError> {
  let problem: Problem = { status: res.status, title: res.statusText };
  try {
    const body: unknown = await res.json();
    if (body && typeof body === "object") problem = { ...problem, ...(body as Problem) };
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(res.status, problem);
}
