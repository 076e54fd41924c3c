// The up events a twin sends the cloud (shapes fixed in reports/edge-reports.ts): the whole twin
// after a change, and the device's state. Both are level-based, so repeating one changes nothing.
import type { JsonValue } from '../../kernel/index.js';
import type { TwinState } from '../../actors/index.js';
import type { UpEvent } from '../../transport/index.js';
import { DEVICE_STATE_REPORTED, TWIN_REPORTED } from '../reports/edge-reports.js';

type PresentTwin = Extract<TwinState, { readonly status: 'synced' | 'drifted' }>;

/**
 * `TwinReported.v1`: every property with its versions (a deleted one as null), for the cloud to
 * write into the Device's `status.twins[]`.
 */
export function twinReported(twin: PresentTwin, event_id: string, timestamp: number): UpEvent {
  const { namespace, name, uid } = twin.device;
  const properties = Object.fromEntries(Object.entries(twin.twin).map(([key, t]) => [key, t.metadata.type === 'deleted' ? null : t]));
  return { type: TWIN_REPORTED, data: { resource: `device/${namespace}/${name}/twin/edge_updated`, UID: uid, event_id, timestamp, twin: properties as JsonValue } };
}

/** `DeviceStateReported.v1`: the device's state and when it was last online (RFC 3339, or empty). */
export function deviceStateReported(twin: PresentTwin, event_id: string, timestamp: number): UpEvent {
  const { namespace, name, uid } = twin.device;
  return {
    type: DEVICE_STATE_REPORTED,
    data: { resource: `device/${namespace}/${name}/state/update`, UID: uid, event_id, timestamp, device: { name, state: twin.state, lastOnlineTime: twin.last_online } },
  };
}
