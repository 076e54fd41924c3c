// An edge agent that starts one container and then waits to be SIGKILLed: the adoption spec kills
// it and checks that a new agent on the same data dir adopts the container it left behind.
import { openProcessRuntime } from './process.runtime.js';

const [dataDir, workDir, runId] = process.argv.slice(2);
if (dataDir === undefined || workDir === undefined || runId === undefined) throw new Error('usage: crash-agent DATA_DIR WORK_DIR RUN_ID');
const opened = openProcessRuntime({ dataDir, memoryEnforcement: 'rss' });
if (!opened.ok) throw new Error(opened.error.message);
const started = await opened.value.start({
  pod: { namespace: 'default', name: 'p', uid: 'uid-1' },
  container: 'app',
  runId,
  command: ['/bin/sh', '-c', 'echo before; while [ ! -e release ]; do sleep 0.05; done; echo after; exit 3'],
  args: [],
  env: [],
  workingDir: workDir,
  volumes: [],
  memoryBytesMax: null,
});
if (!started.ok) throw new Error(started.error.message);
process.stdout.write(`started ${started.value.pid}\n`);
setInterval(() => undefined, 60_000);
