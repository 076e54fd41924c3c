// Position fencing decisions, pure. Method: given the position a stored status carries and the node's
// journal lineage, when a write with some position arrives, then it is written or skipped, so a stale
// writer (older seq, or a journal the node has moved past) never overwrites newer status.
import { describe, expect, it } from 'vitest';
import {
  JOURNAL_LINEAGE_ANNOTATION,
  JOURNAL_LINEAGE_MAX,
  STATUS_POSITION_CONDITION,
  fenceVerdict,
  journalLineageVerdict,
  lineageOf,
  parsePosition,
  recordJournal,
  storedPositionOf,
  withPosition,
  withoutPosition,
} from './status-writer.position.js';

const at = (journalId: string, seq: number) => ({ journalId, seq });

describe('the position in a status', () => {
  it('travels as a condition of its own type next to the reported ones, and reads back', () => {
    const status = withPosition({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }, at('j-1', 42));
    expect(status['conditions']).toEqual([
      { type: 'Ready', status: 'True' },
      { type: STATUS_POSITION_CONDITION, status: 'True', reason: 'EdgePosition', message: 'j-1/42' },
    ]);
    expect(storedPositionOf(status)).toEqual(at('j-1', 42));
    expect(withoutPosition(status)).toEqual({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] });
  });

  it('replaces a position condition the edge may have sent', () => {
    const status = withPosition({ conditions: [{ type: STATUS_POSITION_CONDITION, status: 'True', message: 'forged/999' }] }, at('j-1', 1));
    expect(storedPositionOf(status)).toEqual(at('j-1', 1));
    expect(status['conditions']).toHaveLength(1);
  });

  it('keeps the stored conditions when the report has none (a merge patch replaces the whole list)', () => {
    const stored = { conditions: [{ type: 'PodScheduled', status: 'True' }, { type: STATUS_POSITION_CONDITION, status: 'True', message: 'j-1/1' }] };
    expect(withPosition({ phase: 'Running' }, at('j-1', 2), stored)['conditions']).toEqual([
      { type: 'PodScheduled', status: 'True' },
      { type: STATUS_POSITION_CONDITION, status: 'True', reason: 'EdgePosition', message: 'j-1/2' },
    ]);
    expect(withPosition({ conditions: [] }, at('j-1', 2), stored)['conditions']).toHaveLength(1);
  });

  it('reads as none once another writer turned the condition Unknown (the node lifecycle does so to every condition)', () => {
    expect(storedPositionOf({ conditions: [{ type: STATUS_POSITION_CONDITION, status: 'Unknown', message: 'Kubelet stopped posting node status.' }] })).toBeUndefined();
  });

  it('parses journal ids with slashes by the last one, and refuses what is not a position', () => {
    expect(parsePosition('a/b/7')).toEqual(at('a/b', 7));
    for (const text of ['7', '/7', 'j/0', 'j/-1', 'j/1.5', 'j/x', undefined]) expect(parsePosition(text)).toBeUndefined();
  });
});

describe('fenceVerdict', () => {
  it('writes over no position, and over an older seq of the same journal', () => {
    expect(fenceVerdict(undefined, at('j', 1))).toEqual({ kind: 'write' });
    expect(fenceVerdict(at('j', 4), at('j', 5))).toEqual({ kind: 'write' });
  });

  it('skips a seq at or below the stored one (a replay, or a paused old owner)', () => {
    expect(fenceVerdict(at('j', 5), at('j', 5))).toMatchObject({ kind: 'skip' });
    expect(fenceVerdict(at('j', 9), at('j', 3))).toEqual({ kind: 'skip', why: 'stored position j/9 is not older than j/3' });
  });

  it('leaves another journal’s position to the lineage, whatever the seqs', () => {
    expect(fenceVerdict(at('old', 900), at('new', 2))).toEqual({ kind: 'askLineage' });
  });
});

describe('journalLineageVerdict', () => {
  it('lets the newest journal write over a retired one, though its seq is lower (an edge re-provisioned)', () => {
    expect(journalLineageVerdict(['new', 'old'], at('old', 900), at('new', 2))).toEqual({ kind: 'write' });
  });

  it('skips a retired journal writing over the newest one (a paused old owner)', () => {
    expect(journalLineageVerdict(['new', 'old'], at('new', 2), at('old', 901))).toMatchObject({ kind: 'skip' });
  });

  it('skips a journal the lineage no longer lists while it lists the stored one', () => {
    expect(journalLineageVerdict(['new', 'old'], at('new', 2), at('ancient', 5))).toMatchObject({ kind: 'skip' });
  });

  it('writes when the lineage knows neither journal (a Node re-created, or none yet)', () => {
    expect(journalLineageVerdict([], at('a', 5), at('b', 1))).toEqual({ kind: 'write' });
  });
});

describe('recordJournal', () => {
  it('puts a new journal first and keeps the older ones, bounded', () => {
    const long = Array.from({ length: JOURNAL_LINEAGE_MAX }, (_, i) => `j${i}`);
    const step = recordJournal(long, 'fresh');
    expect(step.kind).toBe('record');
    if (step.kind !== 'record') return;
    expect(step.lineage).toHaveLength(JOURNAL_LINEAGE_MAX);
    expect(step.lineage.slice(0, 2)).toEqual(['fresh', 'j0']);
    expect(lineageOf({ metadata: { annotations: { [JOURNAL_LINEAGE_ANNOTATION]: step.annotation } } })).toEqual(step.lineage);
  });

  it('changes nothing for the newest journal and refuses a retired one', () => {
    expect(recordJournal(['new', 'old'], 'new')).toEqual({ kind: 'current' });
    expect(recordJournal(['new', 'old'], 'old')).toEqual({ kind: 'retired' });
  });

  it('reads a lineage edited into something else as none', () => {
    expect(lineageOf({ metadata: { annotations: { [JOURNAL_LINEAGE_ANNOTATION]: 'not json' } } })).toEqual([]);
    expect(lineageOf({ metadata: {} })).toEqual([]);
  });
});
