// Launch checking and planning, pure. Method: table cases for Kubernetes' `$(VAR)` expansion (its
// upstream examples), every refusal `launchProblem` makes, and the environment `planLaunch`
// builds (default PATH, volume variables, the launch's env in order).
import { describe, expect, it } from 'vitest';
import { defaultPath, expandReferences, launchProblem, planLaunch, volumeEnvName } from './launch.plan.js';
import type { ContainerLaunch } from './runtime.port.js';

const base: ContainerLaunch = {
  pod: { namespace: 'default', name: 'p', uid: 'uid-1' },
  container: 'app',
  runId: 'r1',
  command: ['/bin/app'],
  args: [],
  env: [],
  workingDir: null,
  volumes: [],
  memoryBytesMax: null,
};

describe('expandReferences', () => {
  const vars = { VAR_A: 'A', VAR_B: 'B', EMPTY: '' };
  it.each([
    ['$(VAR_A)', 'A'],
    ['___$(VAR_B)___', '___B___'],
    ['$(VAR_A)-$(VAR_B)', 'A-B'],
    ['$(EMPTY)x', 'x'],
    ['$(UNKNOWN)', '$(UNKNOWN)'],
    ['$$(VAR_A)', '$(VAR_A)'],
    ['$$$$(VAR_A)', '$$(VAR_A)'],
    ['$$$(VAR_A)', '$A'],
    ['$(VAR_A', '$(VAR_A'],
    ['$VAR_A', '$VAR_A'],
    ['trailing $', 'trailing $'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(expandReferences(input, vars)).toBe(expected);
  });
});

describe('launchProblem', () => {
  it.each([
    ['no command', { command: [] }, 'no command'],
    ['an empty command[0]', { command: [''] }, 'must not be empty'],
    ['a pod uid with a slash', { pod: { ...base.pod, uid: 'a/b' } }, 'pod uid'],
    ['a pod uid starting with a dot', { pod: { ...base.pod, uid: '..' } }, 'pod uid'],
    ['a run id with a slash', { runId: '../x' }, 'run id'],
    ['a container name that is no DNS label', { container: 'App_1' }, 'container name'],
    ['a NUL in args', { args: ['a\0b'] }, 'NUL'],
    ['an env name with =', { env: [{ name: 'A=B', value: '' }] }, 'env var'],
    ['a relative workingDir', { workingDir: 'rel' }, 'absolute'],
    ['a zero memory limit', { memoryBytesMax: 0 }, 'memory limit'],
    ['a volume mounted twice', { volumes: [{ name: 'v', mountPath: '/a', source: { kind: 'emptyDir' } }, { name: 'v', mountPath: '/b', source: { kind: 'emptyDir' } }] }, 'twice'],
    ['a volume key with a slash', { volumes: [{ name: 'v', mountPath: '/a', source: { kind: 'configMap', files: [{ key: 'a/b', data: '' }] } }] }, 'not a valid file name'],
    ['a volume key ..', { volumes: [{ name: 'v', mountPath: '/a', source: { kind: 'secret', files: [{ key: '..', data: '' }] } }] }, 'not a valid file name'],
    ['a volume over 1 MiB', { volumes: [{ name: 'v', mountPath: '/a', source: { kind: 'configMap', files: [{ key: 'big', data: 'x'.repeat(1024 * 1024 + 1) }] } }] }, 'more than'],
  ] as const)('refuses %s', (_, overrides, fragment) => {
    expect(launchProblem({ ...base, ...overrides } as ContainerLaunch)).toContain(fragment);
  });

  it('accepts a well-formed launch', () => {
    expect(launchProblem(base)).toBeUndefined();
  });
});

describe('planLaunch', () => {
  it('builds PATH, volume variables, then the env in order with references expanded, and expands argv', () => {
    const launch: ContainerLaunch = {
      ...base,
      command: ['/bin/app', '--config=$(EDGEHIVE_VOLUME_APP_CONFIG)/app.yaml'],
      args: ['$(GREETING)', '$$(GREETING)'],
      env: [
        { name: 'NAME', value: 'edge' },
        { name: 'GREETING', value: 'hello $(NAME)' },
        { name: 'NAME', value: 'later' },
      ],
      volumes: [{ name: 'app-config', mountPath: '/etc/app', source: { kind: 'configMap', files: [] } }],
    };
    const planned = planLaunch(launch, new Map([['app-config', '/data/pods/uid-1/volumes/app-config']]));
    expect(planned).toEqual({
      ok: true,
      value: {
        argv: ['/bin/app', '--config=/data/pods/uid-1/volumes/app-config/app.yaml', 'hello edge', '$(GREETING)'],
        env: { PATH: defaultPath, EDGEHIVE_VOLUME_APP_CONFIG: '/data/pods/uid-1/volumes/app-config', NAME: 'later', GREETING: 'hello edge' },
      },
    });
  });

  it('lets the launch set PATH, and refuses a bad launch as CreateContainerConfigError', () => {
    const planned = planLaunch({ ...base, env: [{ name: 'PATH', value: '/opt/bin' }] }, new Map());
    expect(planned.ok && planned.value.env['PATH']).toBe('/opt/bin');
    expect(planLaunch({ ...base, command: [] }, new Map())).toEqual({ ok: false, error: { reason: 'CreateContainerConfigError', message: expect.stringContaining('no command') } });
  });

  it('names volume variables in upper case with - as _', () => {
    expect(volumeEnvName('my-data-1')).toBe('EDGEHIVE_VOLUME_MY_DATA_1');
  });
});
