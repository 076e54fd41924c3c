// The kernel's door: result values, assertions, time and id ports shared by every room.
export { type Result, type Decision, ok, err, invariant, assertNever, InvariantViolation } from './result.js';
export { type Clock, type Ids, ManualClock, SequentialIds } from './clock.js';
export { systemClock, randomIds } from './system-clock.js';
export { type JsonValue, type JsonObject, isJsonObject } from './json.js';
