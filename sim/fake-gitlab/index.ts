/** The fake GitLab server used by the demo, the tests and the benchmarks. */
export { startFakeGitlab, type FakeGitlab, type FakeGitlabOptions, type FaultRule, type FaultType, type RequestLogEntry } from './server.js';
export { loadStateDir, indexState, type GitlabState, type Json } from './state.js';
export { syntheticState, type SyntheticOptions } from './synthetic.js';
