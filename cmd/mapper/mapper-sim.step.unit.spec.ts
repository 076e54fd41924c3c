// Method: the simulation rules are pure, so each spec feeds a state and an input and reads the
// new state, the actual values to publish and the lines to print; nothing runs a timer or a socket.
import { describe, expect, it } from 'vitest';
import { READING_STEP, formatReading, initialSimState, onExpectedTarget, onTick, stepReading, type SimState } from './mapper-sim.step.js';

const properties = { property: 'temperature', targetProperty: 'target-temperature' };

/** Runs `ticks` linked intervals from `state`, returning every state along the way. */
const run = (state: SimState, ticks: number): SimState[] => {
  const states = [state];
  for (let i = 0; i < ticks; i += 1) states.push(onTick(states.at(-1)!, properties, true).state);
  return states;
};

describe('stepReading', () => {
  it.each([
    [18, 21, 18.5],
    [21, 18, 20.5],
    [-3, 4.25, -2.5],
  ])('when the reading is %d and the target %d, then one step moves it half a degree toward the target (%d)', (reading, target, next) => {
    expect(stepReading(reading, target)).toBe(next);
  });

  it.each([
    [20.8, 21],
    [21.2, 21],
    [20.5, 21],
    [18.1, 18],
  ])('when the reading %d is within a step of the target %d, then it lands on the target and never past it', (reading, target) => {
    expect(stepReading(reading, target)).toBe(target);
  });

  it('when the reading is at the target, then it holds there', () => {
    expect(stepReading(21, 21)).toBe(21);
    expect(stepReading(-7.3, -7.3)).toBe(-7.3);
  });

  it('when there is no target, then the reading holds', () => {
    expect(stepReading(18, undefined)).toBe(18);
  });

  it.each([
    [18, 21],
    [30, -5.3],
    [18.1, 25.77],
    [0, 0.2],
  ])('when stepping from %d toward %d, then every step shrinks the gap, none overshoots, and the target is reached and held', (start, target) => {
    let reading = start;
    const stepsNeeded = Math.ceil(Math.abs(target - start) / READING_STEP);
    for (let i = 0; i < stepsNeeded + 5; i += 1) {
      const next = stepReading(reading, target);
      expect(Math.abs(target - next)).toBeLessThanOrEqual(Math.abs(target - reading));
      expect(Math.sign(target - next) * Math.sign(target - start)).toBeGreaterThanOrEqual(0);
      reading = next;
    }
    expect(reading).toBe(target);
  });
});

describe('formatReading', () => {
  it('when float arithmetic leaves noise, then the reported value is a short decimal', () => {
    expect(formatReading(18.1 + 0.5)).toBe('18.6');
    expect(formatReading(18)).toBe('18');
    expect(formatReading(-0.5)).toBe('-0.5');
  });
});

describe('given a fresh device reading 18 with no target', () => {
  const fresh = initialSimState(18);

  it('when an interval passes, then it reports 18 and prints it once', () => {
    const first = onTick(fresh, properties, true);
    expect(first.actuals).toEqual({ temperature: '18' });
    expect(first.out).toEqual(['mapper: reported temperature = 18']);
    const second = onTick(first.state, properties, true);
    expect(second.actuals).toEqual({ temperature: '18' });
    expect(second.out).toEqual([]);
  });

  it('when an interval passes while unlinked, then nothing is reported or printed', () => {
    const tick = onTick(fresh, properties, false);
    expect(tick.actuals).toEqual({});
    expect(tick.out).toEqual([]);
  });

  it('when the edge names target 21 without an actual, then it adopts it, prints it and reports the actual at once', () => {
    const adopted = onExpectedTarget(fresh, properties, '21', undefined);
    expect(adopted.state.target).toEqual({ raw: '21', value: 21 });
    expect(adopted.actuals).toEqual({ 'target-temperature': '21' });
    expect(adopted.out).toEqual(['mapper: target target-temperature = 21']);
  });

  it('when the edge names target 21 and already holds 21 as actual, then it adopts it without reporting', () => {
    const adopted = onExpectedTarget(fresh, properties, '21', '21');
    expect(adopted.state.target?.value).toBe(21);
    expect(adopted.actuals).toEqual({});
  });

  it('when the edge names a target that is not a number, then it is ignored with one message, however often it comes', () => {
    const first = onExpectedTarget(fresh, properties, 'warm', undefined);
    expect(first.state.target).toBeUndefined();
    expect(first.actuals).toEqual({});
    expect(first.err).toEqual(['mapper: ignored target target-temperature = "warm": not a number']);
    expect(onExpectedTarget(first.state, properties, 'warm', undefined).err).toEqual([]);
    expect(onExpectedTarget(fresh, properties, '', undefined).state.target).toBeUndefined();
  });
});

describe('given a device that adopted target 21', () => {
  const adopted = onExpectedTarget(initialSimState(18), properties, '21', undefined).state;

  it('when intervals pass, then the reported readings climb by half a degree to 21 and stay there', () => {
    const readings = run(adopted, 9).slice(1).map((state) => state.reading);
    expect(readings).toEqual([18.5, 19, 19.5, 20, 20.5, 21, 21, 21, 21]);
  });

  it('when the same target comes again in a delta, then nothing is printed at once and the next report carries the target actual once', () => {
    const again = onExpectedTarget(adopted, properties, '21', '18');
    expect(again.actuals).toEqual({});
    expect(again.out).toEqual([]);
    const next = onTick(again.state, properties, true);
    expect(next.actuals).toEqual({ temperature: '18.5', 'target-temperature': '21' });
    expect(onTick(next.state, properties, true).actuals).toEqual({ temperature: '19' });
  });

  it('when the same target comes in a get result that already holds it as actual, then no extra report is due', () => {
    const again = onExpectedTarget(adopted, properties, '21', '21');
    expect(onTick(again.state, properties, true).actuals).toEqual({ temperature: '18.5' });
  });

  it('when a new target 19.25 arrives after reaching 21, then the reading turns and settles on 19.25', () => {
    const atTarget = run(adopted, 8).at(-1)!;
    const retargeted = onExpectedTarget(atTarget, properties, '19.25', '21');
    expect(retargeted.out).toEqual(['mapper: target target-temperature = 19.25']);
    expect(retargeted.actuals).toEqual({ 'target-temperature': '19.25' });
    expect(run(retargeted.state, 5).slice(1).map((state) => formatReading(state.reading))).toEqual(['20.5', '20', '19.5', '19.25', '19.25']);
  });
});
