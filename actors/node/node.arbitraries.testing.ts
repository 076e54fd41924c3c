// fast-check generators of node command sequences, valid and invalid mixed, with time moving
// forward inside the commands (the only nondeterminism a node sees).
import fc from 'fast-check';
import type { ConditionReport, NodeCommand } from './node.decider.js';
import { nodeConditionTypes } from './node.events.js';

const startMs = Date.UTC(2026, 10, 1);
const iso = (ms: number): string => new Date(ms).toISOString();

const conditionArbitrary: fc.Arbitrary<ConditionReport> = fc.record({
  type: fc.constantFrom(...nodeConditionTypes),
  status: fc.constantFrom('True' as const, 'False' as const, 'Unknown' as const),
  reason: fc.constantFrom('EdgeReady', 'KubeletNotReady', 'LowMemory'),
  message: fc.constantFrom('', 'ok', 'pressure'),
});

/** A command whose `at` is filled in once the sequence's clock is known. */
type Step = (atMs: number) => NodeCommand;

const common: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ name: fc.constantFrom('edge-1', 'edge-1', 'Edge_1'), lease: fc.option(fc.constantFrom(10, 40, 0), { nil: undefined }), conditions: fc.option(fc.array(conditionArbitrary, { maxLength: 2 }), { nil: undefined }) }).map(
    ({ name, lease, conditions }): Step =>
      (at) => ({
        type: 'RegisterNode',
        data: {
          name,
          capacity: { cpu: '4', memory: '8Gi', pods: '110' },
          allocatable: { cpu: '4', memory: '7Gi', pods: '110' },
          labels: { 'kubernetes.io/hostname': name },
          addresses: [{ type: 'InternalIP', address: '10.0.0.7' }],
          ...(lease === undefined ? {} : { leaseDurationSeconds: lease }),
          ...(conditions === undefined ? {} : { conditions }),
          at: iso(at),
        },
      }),
  ),
  fc.constant<Step>((at) => ({ type: 'ConfirmRegistration', data: { at: iso(at) } })),
  fc.array(conditionArbitrary, { maxLength: 3 }).map((conditions): Step => (at) => ({ type: 'ReportConditions', data: { conditions, at: iso(at) } })),
  fc.constant<Step>((at) => ({ type: 'RenewLease', data: { at: iso(at) } })),
  fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: null }).map(
    (ago): Step =>
      (at) => ({ type: 'ExpireLease', data: { at: iso(at), lastRenewedAt: ago === null ? null : iso(at - ago) } }),
  ),
  fc.constant<Step>((at) => ({ type: 'MarkOffline', data: { at: iso(at) } })),
  fc.constant<Step>((at) => ({ type: 'MarkOnline', data: { at: iso(at) } })),
);

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: common, weight: 20 },
  // Rarer: decommissioning ends most of what can follow, and a bad time is simply refused.
  { arbitrary: fc.constant<Step>((at) => ({ type: 'DecommissionNode', data: { at: iso(at) } })), weight: 1 },
  { arbitrary: fc.constant<Step>(() => ({ type: 'RenewLease', data: { at: 'not a time' } })), weight: 1 },
);

/** Random node command sequences; registration comes first four times in five so the rest bites. */
export const nodeCommandsArbitrary: fc.Arbitrary<NodeCommand[]> = fc
  .tuple(fc.integer({ min: 0, max: 4 }).map((n) => n > 0), fc.array(fc.tuple(stepArbitrary, fc.integer({ min: 0, max: 90_000 })), { maxLength: 30, size: 'medium' }))
  .map(([registerFirst, steps]) => {
    let at = startMs;
    const commands = steps.map(([step, gapMs]) => {
      at += gapMs;
      return step(at);
    });
    if (!registerFirst) return commands;
    const register: NodeCommand = {
      type: 'RegisterNode',
      data: { name: 'edge-1', capacity: { cpu: '2' }, allocatable: { cpu: '2' }, labels: {}, addresses: [], at: iso(startMs) },
    };
    return [register, { type: 'ConfirmRegistration', data: { at: iso(startMs) } }, ...commands];
  });
