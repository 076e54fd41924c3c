// The event streams benchmarks rebuild: a crash-looping pod, decided by the real pod decider so
// every event is one the pod actor would journal (admission, starts, exits with back-off, restarts).
import { foldEvent, initialSnapshot, podKind, podStream, type AnyActorKind, type DomainEvent, type PodCommand } from '../actors/index.js';

const t0Ms = Date.UTC(2026, 10, 1);
const iso = (ms: number): string => new Date(ms).toISOString();

/** Decides `commands` in order against the pod's folded state; a rejection is a bug in the workload. */
function podEventsFor(commands: Iterable<PodCommand>, eventsMax: number): DomainEvent[] {
  let snapshot = initialSnapshot(podKind.machine);
  const events: DomainEvent[] = [];
  for (const command of commands) {
    const decision = podKind.decide(command, podKind.stateOf(snapshot));
    if (!decision.ok) throw new Error(`workload command ${command.type} refused: ${decision.error.kind}`);
    for (const event of decision.value) {
      if (events.length === eventsMax) return events;
      snapshot = foldEvent(podKind.machine, snapshot, event);
      events.push(event);
    }
  }
  return events;
}

function* crashLoop(): Generator<PodCommand> {
  const spec = { namespace: 'default', name: 'web', uid: 'bench-1', nodeName: 'edge-1', restartPolicy: 'Always' as const, containers: [{ name: 'app', command: ['/bin/false'] }] };
  let ms = t0Ms;
  yield { type: 'AdmitPod', data: { spec, at: iso(ms) } };
  yield { type: 'StartPod', data: { at: iso(ms) } };
  for (let run = 1; ; run++) {
    ms += 1000;
    yield { type: 'ReportContainerStarted', data: { container: 'app', runId: `r${run}`, at: iso(ms) } };
    ms += 1000;
    yield { type: 'ReportContainerExited', data: { container: 'app', runId: `r${run}`, exitCode: 1, at: iso(ms) } };
    ms += 300_000;
    yield { type: 'RestartContainer', data: { container: 'app', at: iso(ms) } };
  }
}

export function rehydrationWorkload(eventsCount = 10_000): { kind: AnyActorKind; stream: string; events: DomainEvent[] } {
  return { kind: podKind, stream: podStream('default', 'web', 'bench-1'), events: podEventsFor(crashLoop(), eventsCount) };
}
