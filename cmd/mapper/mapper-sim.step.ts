// The simulated thermometer's rules, pure: how the reading moves toward the target, which target it
// adopts from what the edge says, and what it reports; the MQTT shell (mapper-sim.ts) only carries them out.

/** How far the reading moves toward the target in one interval. */
export const READING_STEP = 0.5;

/** Decimal places a reported value keeps, so float noise (18.1 + 0.5) never reaches the twin. */
export const REPORTED_DECIMALS_MAX = 3;

/** The desired setting the device follows: the edge's `expected` value as sent, and as a number. */
export interface Target {
  readonly raw: string;
  readonly value: number;
}

/** What the simulated device knows. */
export interface SimState {
  readonly reading: number;
  /** The adopted target; none until the edge names one. */
  readonly target: Target | undefined;
  /** The edge still shows another actual for the target, so the next report carries it again. */
  readonly targetReportDue: boolean;
  /** The last reading printed, so a steady reading is not printed every interval. */
  readonly lastPrinted: string | undefined;
  /** The last expected value refused as not a number, so it is printed once. */
  readonly lastIgnored: string | undefined;
}

/** Which properties the device reports and follows. */
export interface SimProperties {
  /** The reading, e.g. `temperature`. */
  readonly property: string;
  /** The desired setting it follows, e.g. `target-temperature`. */
  readonly targetProperty: string;
}

/** What one step asks of the shell: actual values to publish (none: publish nothing) and lines to print. */
export interface SimOutput {
  readonly state: SimState;
  readonly actuals: Readonly<Record<string, string>>;
  readonly out: readonly string[];
  readonly err: readonly string[];
}

/** A device that has heard nothing yet. */
export const initialSimState = (reading: number): SimState => ({ reading, target: undefined, targetReportDue: false, lastPrinted: undefined, lastIgnored: undefined });

/** The reading one interval later: `READING_STEP` closer to the target, never past it; unchanged without one. */
export function stepReading(reading: number, target: number | undefined, step: number = READING_STEP): number {
  if (target === undefined) return reading;
  const gap = target - reading;
  if (Math.abs(gap) <= step) return target;
  return reading + Math.sign(gap) * step;
}

/** A number as the twin carries it: a decimal string without float noise (`18.6`, not `18.600000000000001`). */
export function formatReading(value: number): string {
  const scale = 10 ** REPORTED_DECIMALS_MAX;
  return String(Math.round(value * scale) / scale);
}

/**
 * One interval: move the reading and, while linked to the broker, report it (with the target's
 * actual when the edge still lacks it). Unlinked, the device keeps changing but reports nothing.
 */
export function onTick(state: SimState, properties: SimProperties, linked: boolean): SimOutput {
  const reading = stepReading(state.reading, state.target?.value);
  if (!linked) return { state: { ...state, reading }, actuals: {}, out: [], err: [] };
  const reported = formatReading(reading);
  const actuals: Record<string, string> = { [properties.property]: reported };
  if (state.targetReportDue && state.target !== undefined) actuals[properties.targetProperty] = state.target.raw;
  const out = reported === state.lastPrinted ? [] : [`mapper: reported ${properties.property} = ${reported}`];
  return { state: { ...state, reading, targetReportDue: false, lastPrinted: reported }, actuals, out, err: [] };
}

/**
 * The edge names `expected` as the target's desired value, and the actual it holds for it (if it
 * said). A new target is adopted, and its actual reported at once unless the edge already has it,
 * so the edge's delta clears. The same target with another actual means the edge lacks our
 * report: the next interval's report carries it (never at once, so no report loop with the edge).
 */
export function onExpectedTarget(state: SimState, properties: SimProperties, expected: string, edgeActual: string | undefined): SimOutput {
  const unchanged = { state, actuals: {}, out: [], err: [] };
  const edgeLacksActual = edgeActual !== expected;
  if (state.target?.raw === expected) return { ...unchanged, state: { ...state, targetReportDue: state.targetReportDue || edgeLacksActual } };
  const value = expected.trim() === '' ? Number.NaN : Number(expected);
  if (!Number.isFinite(value)) {
    if (state.lastIgnored === expected) return unchanged;
    return { ...unchanged, state: { ...state, lastIgnored: expected }, err: [`mapper: ignored target ${properties.targetProperty} = ${JSON.stringify(expected)}: not a number`] };
  }
  return {
    state: { ...state, target: { raw: expected, value }, targetReportDue: false, lastIgnored: undefined },
    actuals: edgeLacksActual ? { [properties.targetProperty]: expected } : {},
    out: [`mapper: target ${properties.targetProperty} = ${expected}`],
    err: [],
  };
}
