/** The simulator and the fake GitLab server that serves the state it writes (demo, tests, benchmarks). */
export { simulate, SIM_START, type SimulateOptions, type SimulateResult } from './simulate/index.js';
export { startFakeGitlab, loadStateDir, type FakeGitlab, type FakeGitlabOptions } from './fake-gitlab/index.js';
