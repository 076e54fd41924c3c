// `npm run bench`: every figure printed as a ratio against a raw baseline measured in the same run,
// and written as JSON to bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { appendFigures, replayFigure, type Figure } from './journal.bench.js';
import { rehydrationFigure } from './rehydration.bench.js';
import { rehydrationWorkload } from './workloads.js';
import { apiServerFigures } from './apiserver.bench.js';
import { streamFigureLines, streamFigures } from './stream.bench.js';
import { podFigureLines, podFigures } from './pods.bench.js';
import { deviceFigureLines, deviceFigures } from './devices.bench.js';
import { cloudScaleFigureLines, cloudScaleFigures, cloudScaleRuns, type CloudScaleFigure } from './cloud-scale.bench.js';

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function printFigure(f: Figure): void {
  const verdict = f.bar === undefined ? '' : f.ratio >= f.bar ? `  (bar ≥ ${f.bar}×: met)` : `  (bar ≥ ${f.bar}×: NOT MET)`;
  console.log(`${f.name}: ${fmt(f.value)} ${f.unit} vs raw ${fmt(f.baseline)} ${f.unit} = ${f.ratio.toFixed(2)}×${verdict}`);
  console.log(`  mode: ${f.mode}`);
}

const figures: Figure[] = [...(await appendFigures()), await replayFigure()];
figures.forEach(printFigure);
const workload = rehydrationWorkload();
const rehydration = await rehydrationFigure(workload.kind, workload.stream, workload.events);
console.log(
  `${rehydration.name}: ${rehydration.fullMs.toFixed(1)} ms from the journal (${fmt(rehydration.eventsPerSecond)} events/s), ` +
    `${rehydration.fromSnapshotMs.toFixed(1)} ms from a snapshot 100 events back`,
);

const apiServer = await apiServerFigures();
for (const f of apiServer) {
  const digits = f.unit === 'ms' ? 2 : 0;
  const show = (n: number): string => (digits === 0 ? fmt(n) : n.toFixed(digits));
  console.log(`${f.name}: ${show(f.value)} ${f.unit} vs raw ${show(f.baseline)} ${f.unit} = ${f.ratio.toFixed(2)}×`);
  console.log(`  mode: ${f.mode}`);
}

const stream = await streamFigures();
stream.forEach((f) => console.log(streamFigureLines(f)));

const pods = await podFigures();
pods.forEach((f) => console.log(podFigureLines(f)));

const devices = await deviceFigures();
devices.forEach((f) => console.log(deviceFigureLines(f)));

// The cloud at scale with N hollow edges, for each N (BENCH_CLOUD_SCALE_EDGES=20 for a quick run).
// A run that fails (a phase past its bound) is reported and fails `npm run bench`, after the other figures are written.
const cloudScale: CloudScaleFigure[] = [];
const cloudScaleFailures: { edges: number; error: string }[] = [];
const scale = cloudScaleRuns();
for (const edges of scale.edges) {
  try {
    const figures = await cloudScaleFigures({ ...scale.options, edges });
    figures.forEach((f) => console.log(cloudScaleFigureLines(f)));
    cloudScale.push(...figures);
  } catch (error) {
    console.log(`cloud-scale N=${edges}: FAILED: ${(error as Error).message}`);
    cloudScaleFailures.push({ edges, error: (error as Error).message });
  }
}

const results = { at: new Date().toISOString(), node: process.version, cpus: cpus().length, figures, rehydration, apiServer, stream, pods, devices, cloudScale, cloudScaleFailures };
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const file = `${dir}bench-${results.at.replace(/[:.]/g, '-')}.json`;
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(`${dir}latest.json`, `${JSON.stringify(results, null, 2)}\n`);
console.log(`results: ${file}`);
const failed = figures.filter((f) => f.bar !== undefined && f.ratio < f.bar);
if (failed.length > 0 || cloudScaleFailures.length > 0) process.exitCode = 1;
