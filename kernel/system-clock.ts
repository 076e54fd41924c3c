// The real clock and id source: the only place in the kernel that touches process time and randomness.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Clock, Ids } from './clock.js';

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  sleep: (ms) => sleepFor(ms).then(() => undefined),
};

export const randomIds: Ids = { next: () => randomUUID() };
