// Results, decisions and assertions shared by every room: errors are values at boundaries,
// bugs throw (STYLE R5, R10, R12).

/** A value or a typed error; what every boundary returns instead of throwing. */
export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

/** What `decide` returns: the events to record, or why the command was refused. */
export type Decision<E, R> = Result<readonly E[], R>;

export const ok = <T>(value: T): { readonly ok: true; readonly value: T } => ({ ok: true, value });
export const err = <E>(error: E): { readonly ok: false; readonly error: E } => ({ ok: false, error });

/** Raised only for programmer errors: a broken invariant is a bug, never an input problem. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

/** Asserts what must hold; kept on in production (TigerStyle). */
export function invariant(condition: unknown, why: string): asserts condition {
  if (!condition) throw new InvariantViolation(why);
}

/** Makes a switch exhaustive: a new case is a compile error, an impossible value a loud bug. */
export const assertNever = (x: never): never => {
  throw new InvariantViolation(`unhandled: ${JSON.stringify(x)}`);
};
